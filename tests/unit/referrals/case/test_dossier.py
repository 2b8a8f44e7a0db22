"""A person's dossier through the whole IOM lifecycle, one input at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.referrals.case import dossier
from services.referrals.case.dossier import Refused
from services.referrals.config import ReferralsSettings

RS = ReferralsSettings()
NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


def person(licence_end: date | None = date(2027, 6, 30), **extra) -> dict:
    return {"person_id": "P-1", "date_of_birth": date(1990, 5, 1), "sex": "MALE",
            "force": "Hampshire", "under_statutory_supervision": True,
            "licence_end_date": licence_end, "first_sanction_date": date(2008, 1, 1),
            "previous_sanctions": 12, "current_offence": "BURGLARY_DOMESTIC",
            "current_conviction_date": date(2026, 1, 10), **extra}


def referral(rid: str = "R-1", urgent: bool = False, at: datetime = NOW) -> dict:
    return {"referral_id": rid, "person_id": "P-1", "referring_agency": "Probation",
            "referrer": "PO Smith", "proposed_cohort": "FIXED",
            "reason": "prolific burglar, accommodation lost", "urgent": urgent,
            "index_offence": "BURGLARY_DOMESTIC", "submitted_at": at}


def decision(outcome: str = "ACCEPTED", rid: str = "R-1", at: datetime = NOW) -> dict:
    accepted = outcome == "ACCEPTED"
    return {"decision_id": f"D-{rid}-{outcome}", "referral_id": rid, "person_id": "P-1",
            "outcome": outcome, "cohort": "FIXED",
            "pathway": "CATCH_AND_CONTROL" if accepted else None,
            "lead_officer": "OM Jones" if accepted else None, "rationale": "panel agreed",
            "panel_date": at.date(), "decided_at": at}


def event(kind: str, at: datetime, **details: str) -> dict:
    return {"event_id": f"E-{kind}-{at.isoformat()}", "person_id": "P-1", "type": kind,
            "occurred_at": at, "source_agency": "Probation", "offence": None,
            "details": details}


def grade(rag: str, previous: str | None, revision: int, at: datetime = NOW) -> dict:
    return {"person_id": "P-1", "rag": rag, "previous_rag": previous, "changed": True,
            "static_score": 0.8, "static_band": "HIGH", "reasons": [f"{rag} because"],
            "revision": revision, "graded_at": at}


def registered(licence_end: date | None = date(2027, 6, 30)) -> dict:
    d = dossier.new("P-1")
    dossier.on_person(d, person(licence_end), NOW)
    dossier.on_referral(d, referral(), NOW, RS)
    dossier.on_decision(d, decision(), NOW, RS)
    return d


def test_an_urgent_referral_is_opened_and_raises_one_alert_for_an_out_of_cycle_decision():
    d = dossier.new("P-1")
    dossier.on_person(d, person(), NOW)
    out = dossier.on_referral(d, referral(urgent=True), NOW, RS)
    assert d["open_referral"] == "R-1" and d["case"]["state"] == "REFERRED"
    assert [a["kind"] for a in out.alerts] == ["URGENT_REFERRAL"]
    assert out.alerts[0]["force"] == "Hampshire"
    again = dossier.on_referral(d, referral(urgent=True), NOW, RS)  # redelivered
    assert again.alerts == [] and len(d["timeline"]) == 2  # the referral and the alert


def test_a_second_open_referral_is_refused_naming_the_open_one():
    d = dossier.new("P-1")
    dossier.on_referral(d, referral(), NOW, RS)
    with pytest.raises(Refused, match="R-1"):
        dossier.on_referral(d, referral("R-2"), NOW, RS)


def test_acceptance_registers_with_the_named_offender_manager_and_publishes_registered():
    d = dossier.new("P-1")
    dossier.on_person(d, person(), NOW)
    dossier.on_referral(d, referral(), NOW, RS)
    out = dossier.on_decision(d, decision(), NOW, RS)
    assert [c["change"] for c in out.cohort_changes] == ["REGISTERED"]
    assert out.cohort_changes[0]["lead_officer"] == "OM Jones"
    report = dossier.report(d, NOW, RS)
    assert report["state"] == "REGISTERED" and report["lead_officer"] == "OM Jones"
    assert report["licence_end"] == "2027-06-30" and report["registered_on"] == "2026-11-25"
    assert dossier.on_decision(d, decision(), NOW, RS).cohort_changes == []  # repeated


def test_a_deferred_referral_stays_open_and_a_rejected_one_closes_without_a_case():
    d = dossier.new("P-1")
    dossier.on_referral(d, referral(), NOW, RS)
    dossier.on_decision(d, decision("DEFERRED"), NOW, RS)
    assert d["open_referral"] == "R-1"
    dossier.on_decision(d, decision("REJECTED"), NOW + timedelta(days=30), RS)
    assert d["open_referral"] is None and d["case"] is None
    dossier.on_referral(d, referral("R-2"), NOW + timedelta(days=40), RS)  # may refer again
    assert d["open_referral"] == "R-2"


def test_a_decision_on_an_unknown_referral_is_refused():
    d = dossier.new("P-1")
    with pytest.raises(Refused, match="R-9"):
        dossier.on_decision(d, decision(rid="R-9"), NOW, RS)


def test_grades_hits_and_breaches_appear_on_the_timeline_once():
    d = registered()
    dossier.on_grade(d, grade("AMBER", None, 1), RS)
    dossier.on_grade(d, grade("RED", "AMBER", 2, NOW + timedelta(hours=1)), RS)
    dossier.on_grade(d, grade("AMBER", None, 1), RS)  # an old revision, late
    hit = {"hit_id": "h1", "status": "ACTIVE", "crime_ref": "44/1/26", "offence": "ROBBERY",
           "distance_m": 42.4, "detected_at": NOW + timedelta(hours=2)}
    dossier.on_hit(d, hit, RS)
    dossier.on_hit(d, {**hit, "distance_m": 10.0}, RS)  # revision 2: not news
    report = dossier.report(d, NOW + timedelta(hours=3), RS)
    assert report["grade"]["rag"] == "RED"
    kinds = [e["kind"] for e in report["timeline"]]
    assert kinds[:3] == ["HIT", "GRADE", "GRADE"]  # newest first
    assert kinds.count("HIT") == 1


def test_a_red_grade_makes_the_review_due_after_14_days_and_overdue_alerts_once():
    d = registered()
    dossier.on_grade(d, grade("RED", "AMBER", 1), RS)
    assert dossier.review_status(d, NOW.date(), RS)["due"] == "2026-12-09"
    later = NOW + timedelta(days=15)
    out = dossier.on_tick(d, later, RS)
    assert [a["kind"] for a in out.alerts] == ["REVIEW_OVERDUE"]
    assert dossier.on_tick(d, later + timedelta(hours=1), RS).alerts == []
    out = dossier.on_review(d, {"supervisor": "SPO Khan", "finding": "interventions match risk",
                                "reviewed_on": later.date().isoformat()}, later, RS)
    status = dossier.review_status(d, later.date(), RS)
    assert status == {"due": "2026-12-24", "overdue": False, "interval_days": 14}
    # published as a case record with the day it was due: a day late, without the finding
    [record] = out.records
    assert (record["kind"], record["due_on"], record["done_on"]) == (
        "SUPERVISOR_REVIEW", date(2026, 12, 9), later.date())
    assert "interventions" not in str(record)
    assert dossier.on_review(d, {"supervisor": "SPO Khan", "finding": "interventions match risk",
                                 "reviewed_on": later.date().isoformat()}, later,
                             RS).records == []  # the same review again: nothing new


def test_a_review_of_a_person_not_on_iom_or_dated_in_the_future_is_refused():
    d = dossier.new("P-1")
    with pytest.raises(Refused):
        dossier.on_review(d, {"supervisor": "S", "finding": "f"}, NOW, RS)
    d = registered()
    with pytest.raises(Refused, match="future"):
        dossier.on_review(d, {"supervisor": "S", "finding": "f", "reviewed_on": "2027-01-01"},
                          NOW, RS)


def test_transition_opens_eight_weeks_before_the_licence_end_and_licence_ended_deregisters():
    end = (NOW + timedelta(weeks=10)).date()
    d = registered(end)
    assert dossier.on_tick(d, NOW, RS).cohort_changes == []
    out = dossier.on_tick(d, NOW + timedelta(weeks=2, days=1), RS)
    assert [c["change"] for c in out.cohort_changes] == ["TRANSITION_STARTED"]
    assert [a["kind"] for a in out.alerts] == ["TRANSITION_OPENED"]
    out = dossier.on_event(d, event("LICENCE_ENDED", NOW + timedelta(weeks=10)),
                           NOW + timedelta(weeks=10), RS)
    assert [c["change"] for c in out.cohort_changes] == ["DEREGISTERED"]
    report = dossier.report(d, NOW + timedelta(weeks=10), RS)
    assert report["state"] == "DEREGISTERED"
    assert "licence period completed" in report["deregistration_rationale"]


def test_imprisoned_again_suspends_and_release_prompts_further_support_once():
    d = registered()
    dossier.on_event(d, event("RECALLED", NOW + timedelta(days=3)), NOW, RS)
    assert d["case"]["state"] == "SUSPENDED"
    release = event("RELEASED_ON_LICENCE", NOW + timedelta(days=60),
                    licence_end_date="2027-12-31")
    out = dossier.on_event(d, release, NOW + timedelta(days=60), RS)
    assert [a["kind"] for a in out.alerts] == ["FURTHER_SUPPORT"]
    assert d["case"]["licence_end"] == "2027-12-31"
    assert dossier.on_event(d, release, NOW + timedelta(days=60), RS).alerts == []
    dossier.on_referral(d, referral("R-2", at=NOW + timedelta(days=61)),
                        NOW + timedelta(days=61), RS)
    assert d["case"]["state"] == "REFERRED"


def test_the_assessment_uses_the_current_grade():
    d = dossier.new("P-1")
    dossier.on_person(d, person(), NOW)
    dossier.on_grade(d, grade("RED", None, 1), RS)
    advice = dossier.assessment(d, referral(), RS)
    assert advice is not None and advice.cohort == "FIXED"
    d2 = dossier.new("P-1")
    dossier.on_person(d2, person(under_statutory_supervision=False), NOW)
    advice = dossier.assessment(d2, {**referral(), "reason": "domestic abuse perpetrator"}, RS)
    assert advice is not None and advice.cohort == "FREE"


def young(born: date, order_end: date) -> dict:
    d = dossier.new("P-1")
    dossier.on_person(d, person(date_of_birth=born), NOW)
    sentenced = event("SENTENCED_COMMUNITY", datetime(2026, 1, 5, tzinfo=UTC),
                      order_type="YOUTH_REHABILITATION_ORDER",
                      order_end_date=order_end.isoformat(),
                      management_passed_to_probation="true")
    dossier.on_event(d, sentenced, NOW, RS)
    return d


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_a_leap_day_youth_is_a_candidate_from_17y6m_and_iom_takes_over_on_1_march():
    d = young(date(2008, 2, 29), date(2027, 12, 31))
    assert dossier.on_tick(d, at(date(2025, 8, 28)), RS).alerts == []  # a day too early
    out = dossier.on_tick(d, at(date(2025, 8, 29)), RS)
    assert [a["kind"] for a in out.alerts] == ["YOUTH_TRANSFER_CANDIDATE"]
    assert out.alerts[0]["details"]["takeover_on"] == "2026-03-01"  # a common year
    assert dossier.on_tick(d, at(date(2025, 9, 1)), RS).alerts == []  # once
    # Accepted onto IOM at the transfer panel: liaison from 17y9m, takeover at 18.
    dossier.on_referral(d, referral(at=at(date(2025, 10, 1))), at(date(2025, 10, 1)), RS)
    dossier.on_decision(d, decision(at=at(date(2025, 10, 6))), at(date(2025, 10, 6)), RS)
    dossier.on_tick(d, at(date(2025, 11, 28)), RS)
    assert "liaison" not in d["youth"]
    dossier.on_tick(d, at(date(2025, 11, 29)), RS)
    assert d["youth"]["liaison"] == "2025-11-29"
    assert dossier.on_tick(d, at(date(2026, 2, 28)), RS).cohort_changes == []
    out = dossier.on_tick(d, at(date(2026, 3, 1)), RS)
    assert [(c["change"], c["lead_officer"]) for c in out.cohort_changes] == [
        ("LEAD_OFFICER_CHANGED", "OM Jones")]
    assert dossier.on_tick(d, at(date(2026, 3, 2)), RS).cohort_changes == []


def test_a_youth_with_under_3_months_left_at_18_is_never_a_candidate():
    d = young(date(2008, 6, 15), date(2026, 9, 14))  # 18 on 2026-06-15: 2 months 30 days
    assert dossier.on_tick(d, at(date(2026, 1, 10)), RS).alerts == []


def test_an_unknown_youth_order_or_one_without_an_end_date_is_refused():
    d = dossier.new("P-1")
    with pytest.raises(ValueError, match="order_type"):
        dossier.on_event(d, event("SENTENCED_COMMUNITY", NOW, order_type="ASBO",
                                  order_end_date="2027-01-01"), NOW, RS)
    with pytest.raises(Refused, match="order_end_date"):
        dossier.on_event(d, event("SENTENCED_COMMUNITY", NOW,
                                  order_type="YOUTH_REHABILITATION_ORDER"), NOW, RS)
