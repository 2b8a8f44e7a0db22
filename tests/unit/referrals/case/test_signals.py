"""Selection signals and victim safety in a person's dossier, one input at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.referrals.case import dossier, signals
from services.referrals.case.dossier import Outputs, Refused
from services.referrals.config import ReferralsSettings
from tests.unit.referrals.case.test_dossier import (
    NOW,
    RS,
    decision,
    grade,
    person,
    referral,
)


def event(kind: str, at: datetime, event_id: str | None = None, offence: str | None = None,
          **details: str) -> dict:
    return {"event_id": event_id or f"E-{kind}-{at.isoformat()}", "person_id": "P-1",
            "type": kind, "occurred_at": at, "source_agency": "Hampshire Constabulary",
            "offence": offence, "details": details}


def known(**facts) -> dict:
    d = dossier.new("P-1")
    dossier.on_person(d, person(**facts), NOW)
    return d


def feed(d: dict, *events: dict, now: datetime = NOW) -> Outputs:
    out = Outputs()
    for e in events:
        dossier.on_event(d, e, now, RS)
        signals.on_event(d, e, now, out, RS)
    return out


def convictions(*days: date, offence: str = "ROBBERY") -> list[dict]:
    return [event("CONVICTED", datetime(x.year, x.month, x.day, 11, tzinfo=UTC),
                   offence=offence) for x in days]


def test_prolific_from_convictions_on_the_stream_makes_the_advice_fixed() -> None:
    d = known(current_offence="VIOLENCE")
    dossier.on_grade(d, grade("RED", None, 1), RS)
    violent = {**referral(), "index_offence": "VIOLENCE", "reason": "violent"}
    assert dossier.assessment(d, violent, RS, NOW).cohort == "FLEX"
    feed(d, *convictions(date(2026, 1, 5), date(2026, 4, 5), date(2026, 9, 5)))
    advice = dossier.assessment(d, violent, RS, NOW)
    assert advice is not None and advice.cohort == "FIXED"
    assert any(r.startswith("prolific: 3 neighbourhood crime convictions from 2025-11-25 to "
                            "2026-11-25") for r in advice.reasons)
    # A year on, the oldest two are outside the window.
    later = NOW + timedelta(days=300)
    assert dossier.assessment(d, violent, RS, later).cohort == "FLEX"
    # Without a clock, as before this change: no history consulted.
    assert dossier.assessment(d, violent, RS).cohort == "FLEX"


def test_the_persons_priority_flags_take_precedence_over_the_referral_text() -> None:
    free = {"under_statutory_supervision": False}
    text = {**referral(), "reason": "domestic abuse perpetrator"}
    assert dossier.assessment(known(**free), text, RS, NOW).cohort == "FREE"  # as before
    flagged = known(priority_flags=["KNIFE_CRIME"], **free)
    assert dossier.assessment(flagged, text, RS, NOW).cohort is None  # flags say otherwise
    abuser = known(priority_flags=["DOMESTIC_ABUSE"], **free)
    advice = dossier.assessment(abuser, {**referral(), "reason": "burglar"}, RS, NOW)
    assert advice is not None and advice.cohort == "FREE"
    knife = ReferralsSettings(force_priorities={"Hampshire": ["knife crime"]})
    assert dossier.assessment(flagged, text, knife, NOW).cohort == "FREE"


def test_an_arrest_of_someone_not_on_iom_who_meets_fixed_alerts_once_per_arrest() -> None:
    d = known()
    dossier.on_grade(d, grade("RED", None, 1), RS)
    arrest = event("ARRESTED", NOW - timedelta(hours=2), "ARR-1", "BURGLARY_DOMESTIC")
    out = feed(d, arrest)
    assert [a["kind"] for a in out.alerts] == ["ARREST_CANDIDATE"]
    alert = out.alerts[0]
    assert alert["alert_id"] == dossier.alert_id("P-1", "ARREST_CANDIDATE", "ARR-1")
    assert alert["force"] == "Hampshire" and alert["details"]["event_id"] == "ARR-1"
    assert "FIXED" in alert["summary"] and "burglary domestic" in alert["summary"]
    assert feed(d, arrest).alerts == []  # the same arrest again
    again = feed(d, event("ARRESTED", NOW, "ARR-2", "ROBBERY"))
    assert [a["details"]["event_id"] for a in again.alerts] == ["ARR-2"]


def test_no_arrest_alert_on_iom_when_referred_or_not_fixed() -> None:
    arrest = event("ARRESTED", NOW, "ARR-1", "ROBBERY")
    on_iom = known()
    dossier.on_referral(on_iom, referral(), NOW, RS)
    assert feed(on_iom, arrest).alerts == []  # referred: the panel will see it
    dossier.on_decision(on_iom, decision(), NOW, RS)
    dossier.on_grade(on_iom, grade("RED", None, 1), RS)
    assert feed(on_iom, arrest).alerts == []  # registered
    low = known()
    dossier.on_grade(low, {**grade("GREEN", None, 1), "static_band": "LOW"}, RS)
    assert feed(low, arrest).alerts == []  # not high risk: not FIXED
    unknown = dossier.new("P-1")
    assert feed(unknown, arrest).alerts == []  # no person record yet


def test_a_short_sentence_is_recorded_and_a_bad_length_refused_naming_the_key() -> None:
    d = known()
    feed(d, event("SENTENCED_CUSTODY", NOW, "S-1", "ROBBERY", sentence_months="8"))
    view = signals.view(d, NOW, RS)
    assert view["sentence"] == {"event_id": "S-1", "type": "SENTENCED_CUSTODY",
                                "on": "2026-11-25", "length": "8 months", "short": True}
    with pytest.raises(Refused, match=r"details\.sentence_days"):
        feed(d, event("SENTENCED_COMMUNITY", NOW, "S-2", sentence_days="a year"))


def test_the_report_view_carries_the_flags_and_mappa() -> None:
    d = known(mappa_level="LEVEL_2", ppo=True, rosh_level="HIGH",
              priority_flags=["DOMESTIC_ABUSE"])
    view = signals.view(d, NOW, RS)
    assert (view["mappa_level"], view["mappa_managed"], view["ppo"], view["rosh_level"],
            view["priority_flags"]) == ("LEVEL_2", True, True, "HIGH", ["DOMESTIC_ABUSE"])
    assert view["prolific"]["prolific"] is False and view["prolific"]["months"] == 12
    assert signals.view(known(), NOW, RS)["mappa_managed"] is False


def zone(zone_id: str = "Z-1", version: int = 1, victim: bool = True,
         active_to: datetime | None = None) -> dict:
    return signals.zone_summary({
        "zone_id": zone_id, "person_id": "P-1", "kind": "EXCLUSION", "polygon": [[0, 0]],
        "active_from": NOW - timedelta(days=10), "active_to": active_to, "version": version,
        "victim_safety": victim})


def test_victim_safety_zones_are_shown_with_their_breaches_newest_version_kept() -> None:
    d = known()
    assert "polygon" not in zone()
    assert signals.on_zone(d, zone(victim=False), NOW)
    assert signals.victim_zones(d, NOW) == []
    assert signals.on_zone(d, zone(version=2), NOW)
    assert not signals.on_zone(d, zone(version=1, victim=False), NOW)  # older: ignored
    assert signals.on_zone(d, zone("Z-2", victim=False), NOW)
    breach = {"breach_id": "B-1", "zone_id": "Z-1", "person_id": "P-1", "device_id": "D",
              "kind": "ENTERED_EXCLUSION", "first_fix_at": NOW, "detected_at": NOW,
              "victim_safety": True}
    dossier.on_breach(d, breach, RS)
    signals.on_breach(d, breach)
    shown = signals.victim_zones(d, NOW)
    assert [(z["zone_id"], z["version"], z["active_now"], z["breaches"]) for z in shown] == [
        ("Z-1", 2, True, 1)]
    assert "(a victim safety zone)" in d["timeline"][-1]["summary"]


def test_a_breach_flag_marks_a_zone_not_seen_and_ended_zones_are_forgotten() -> None:
    d = known()
    signals.on_breach(d, {"zone_id": "Z-9", "victim_safety": True})
    assert [z["zone_id"] for z in signals.victim_zones(d, NOW)] == ["Z-9"]
    signals.on_zone(d, zone("Z-9", version=1), NOW)  # the zone itself, version 1 > 0
    assert signals.victim_zones(d, NOW)[0]["version"] == 1
    ended = zone("Z-3", active_to=NOW - timedelta(days=100))
    signals.on_zone(d, ended, NOW)
    assert "Z-3" not in d["zones"]
    for n in range(signals.KEEP_ZONES + 5):
        signals.on_zone(d, zone(f"Z-{n + 100}"), NOW)
    assert len(d["zones"]) == signals.KEEP_ZONES


def test_an_arrest_read_before_the_grade_is_looked_at_again_when_the_grade_arrives() -> None:
    d = known()
    arrest = event("ARRESTED", NOW - timedelta(hours=1), "ARR-1", "ROBBERY")
    assert feed(d, arrest).alerts == []  # no grade yet: not shown to be high risk
    out = Outputs()
    dossier.on_grade(d, grade("RED", None, 1), RS)
    signals.recheck_arrests(d, NOW, out, RS)
    assert [a["alert_id"] for a in out.alerts] == [
        dossier.alert_id("P-1", "ARREST_CANDIDATE", "ARR-1")]
    assert d["signals"]["arrests"] == []  # raised: let go
    again = Outputs()
    signals.recheck_arrests(d, NOW, again, RS)
    assert again.alerts == [] and feed(d, arrest).alerts == []  # once per arrest


def test_an_arrest_is_looked_at_again_only_within_seven_days() -> None:
    d = known()
    feed(d, event("ARRESTED", NOW - timedelta(days=8), "OLD", "ROBBERY"),
         event("ARRESTED", NOW - timedelta(days=6), "RECENT", "ROBBERY"))
    dossier.on_grade(d, grade("RED", None, 1), RS)
    out = Outputs()
    signals.recheck_arrests(d, NOW, out, RS)
    assert [a["details"]["event_id"] for a in out.alerts] == ["RECENT"]
    assert d["signals"]["arrests"] == []
