"""Selection signals and victim safety kept in a person's dossier (issue 18 parts 2 and 6).
Pure: no I/O. The agent calls these beside dossier.py's handlers; what they keep lives under
the dossier's ``signals`` (neighbourhood crime convictions, the latest sentence) and
``zones`` (the person's exclusion zones, without their polygons) keys.

- A ``CONVICTED`` event for a neighbourhood crime joins the history "prolific" is counted
  from (case/selection.py); a sentencing event with ``details.sentence_months`` or
  ``details.sentence_days`` records the sentence and whether it is short (under 12 months).
- An ``ARRESTED`` event for someone not on IOM, and not already referred, whose advice with
  the arrest's offence is the FIXED cohort raises one ``ARREST_CANDIDATE`` alert to the
  force's IOM team (alert_id from the event_id: once per arrest). An arrest that does not
  (yet) qualify is looked at again when a grade or the person's record arrives within
  ARREST_RECHECK of it, since those come by other topics, in no fixed order.
- Zones reach referrals re-keyed by person (app.py: iom.exclusion-zones is keyed by zone
  id) with only what the dossier shows: id, kind, victim_safety, dates, version.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from services.referrals.case import dossier, selection
from services.referrals.case.dossier import Outputs, Refused
from services.referrals.case.panel import uk_local_date
from services.referrals.config import ReferralsSettings

ARREST_CANDIDATE: Final = "ARREST_CANDIDATE"
#: An arrest is looked at again when a grade or the person's record arrives this long after
#: it: the risk service grades the person on the arrest itself, and that grade (or the
#: person's facts) can reach referrals after the arrest does (another topic).
ARREST_RECHECK: Final = timedelta(days=7)
KEEP_ARRESTS: Final = 10
#: Zones kept per person, and how long an ended zone is still shown.
KEEP_ZONES: Final = 50
ENDED_ZONES_SHOWN: Final = timedelta(days=90)
ZONE_FIELDS: Final = ("zone_id", "kind", "victim_safety", "active_from", "active_to",
                      "version")


def _held(d: dict[str, Any]) -> dict[str, Any]:
    # Dossiers written before these signals existed have no key: added on first use.
    return d.setdefault("signals", {"convictions": [], "sentence": None})


def on_event(d: dict[str, Any], event: Mapping[str, Any], now: datetime, out: Outputs,
             settings: ReferralsSettings) -> None:
    """What an OffenderEvent says for selection. Bad details are refused naming the key
    (the agent dead-letters the event, and the dossier is not changed)."""
    kind = event["type"]
    details = event.get("details") or {}
    on = uk_local_date(event["occurred_at"])
    held = _held(d)
    if kind == selection.CONVICTED:
        entry = selection.conviction_entry(event["event_id"], on, event.get("offence"), details)
        if entry is not None:
            selection.keep_conviction(held.setdefault("convictions", []), entry)
    try:
        sentence = selection.sentence(kind, event["event_id"], on, details)
    except selection.SignalError as exc:
        raise Refused(str(exc)) from None
    if sentence is not None and selection.newer_sentence(held.get("sentence"), sentence):
        held["sentence"] = sentence
    if kind == selection.ARRESTED:
        arrest = {"event_id": event["event_id"],
                  "at": event["occurred_at"].astimezone(UTC).isoformat(),
                  "offence": event.get("offence")}
        if not _arrested(d, arrest, now, out, settings):
            pending = held.setdefault("arrests", [])
            if arrest not in pending:
                pending.append(arrest)
                pending.sort(key=lambda a: a["at"])
                del pending[:-KEEP_ARRESTS]


def recheck_arrests(d: dict[str, Any], now: datetime, out: Outputs,
                    settings: ReferralsSettings) -> None:
    """A grade or the person's record arrived: recent arrests that did not qualify are
    looked at again; one that qualifies or is older than ARREST_RECHECK is let go."""
    pending = (d.get("signals") or {}).get("arrests")
    if not pending:
        return
    pending[:] = [a for a in pending
                  if now - datetime.fromisoformat(a["at"]) <= ARREST_RECHECK
                  and not _arrested(d, a, now, out, settings)]


def _arrested(d: dict[str, Any], arrest: Mapping[str, Any], now: datetime, out: Outputs,
              settings: ReferralsSettings) -> bool:
    """Selection at arrest (seed 004): "at the point of arrest when the full extent of
    offending and reasons become known". True when the alert is raised (or was already)."""
    if d["person"] is None:
        return False  # no facts to assess yet
    case = d["case"] or {}
    advice = dossier.assessment(d, None, settings, datetime.fromisoformat(arrest["at"]),
                                offence=arrest["offence"])
    in_cohort = case.get("state") in dossier.OPEN_STATES
    if advice is None or not selection.arrest_candidate(
            in_cohort=in_cohort, referred=d["open_referral"] is not None,
            cohort=advice.cohort):
        return False
    offence = str(arrest["offence"] or "offence not given").replace("_", " ").lower()
    dossier.raise_alert(
        d, out, ARREST_CANDIDATE, arrest["event_id"],
        f"arrested ({offence}): not on IOM and meets the FIXED cohort criteria; consider "
        "selection onto IOM", now,
        {"event_id": arrest["event_id"], "arrested_at": arrest["at"],
         "offence": str(arrest["offence"] or ""), "reasons": "; ".join(advice.reasons)},
        settings)
    return True


# -- zones ----------------------------------------------------------------------------------------


def zone_summary(zone: Mapping[str, Any]) -> dict[str, Any]:
    """What referrals keeps of an ExclusionZone (no polygon: the dossier says there is a
    zone and whom it protects, the map is gps_stream's), as JSON for the internal topic."""
    def at(value: Any) -> str | None:
        return None if value is None else value.astimezone(UTC).isoformat()

    return {"person_id": zone["person_id"], "zone_id": zone["zone_id"],
            "kind": zone["kind"], "victim_safety": bool(zone.get("victim_safety")),
            "active_from": at(zone["active_from"]), "active_to": at(zone.get("active_to")),
            "version": zone["version"]}


def on_zone(d: dict[str, Any], zone: Mapping[str, Any], now: datetime) -> bool:
    """Keep the newest version of a zone; False for an older or repeated one."""
    zones = d.setdefault("zones", {})
    held = zones.get(zone["zone_id"])
    if held is not None and held["version"] >= zone["version"]:
        return False
    zones[zone["zone_id"]] = {k: zone.get(k) for k in ZONE_FIELDS}
    prune_zones(d, now)
    return True


def on_breach(d: dict[str, Any], breach: Mapping[str, Any]) -> None:
    """A breach of a victim's zone says so even when the zone itself was not seen here."""
    if breach.get("victim_safety"):
        zone = d.setdefault("zones", {}).setdefault(
            breach["zone_id"], {k: None for k in ZONE_FIELDS} | {
                "zone_id": breach["zone_id"], "version": 0})
        zone["victim_safety"] = True


def prune_zones(d: dict[str, Any], now: datetime) -> None:
    """Zones ended long ago are forgotten; at most KEEP_ZONES, the latest started kept."""
    zones = d.get("zones") or {}
    cutoff = now - ENDED_ZONES_SHOWN
    for zone_id, zone in list(zones.items()):
        if zone.get("active_to") and datetime.fromisoformat(zone["active_to"]) < cutoff:
            del zones[zone_id]
    if len(zones) > KEEP_ZONES:
        ordered = sorted(zones, key=lambda z: (zones[z].get("active_from") or "", z))
        for zone_id in ordered[:-KEEP_ZONES]:
            del zones[zone_id]


def victim_zones(d: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The person's victim-safety zones, with whether each applies now and its breaches."""
    breaches: dict[str, int] = {}
    for incident in d.get("incidents") or ():
        if incident["kind"] == "BREACH":
            breaches[incident["ref"]] = breaches.get(incident["ref"], 0) + 1
    shown = []
    for zone in (d.get("zones") or {}).values():
        if not zone.get("victim_safety"):
            continue
        start, end = zone.get("active_from"), zone.get("active_to")
        active = (start is None or datetime.fromisoformat(start) <= now) and (
            end is None or now <= datetime.fromisoformat(end))
        shown.append({**zone, "active_now": active, "breaches": breaches.get(zone["zone_id"], 0)})
    return sorted(shown, key=lambda z: z["zone_id"])


# -- the report -----------------------------------------------------------------------------------


def view(d: Mapping[str, Any], now: datetime, settings: ReferralsSettings) -> dict[str, Any]:
    """The selection signals and victim safety section of the management report."""
    person = d["person"] or {}
    held = d.get("signals") or {}
    found = selection.prolific(held.get("convictions") or (), uk_local_date(now),
                               settings.prolific().for_force(person.get("force")))
    return {
        **selection.flags(person),
        "mappa_managed": selection.mappa_managed(person),
        "prolific": {"prolific": found.prolific, "count": found.count,
                     "window_from": found.window_from.isoformat(),
                     "convictions_needed": found.rule.convictions,
                     "months": found.rule.months, "reason": found.reason},
        "sentence": held.get("sentence"),
        "victim_safety_zones": victim_zones(d, now),
    }
