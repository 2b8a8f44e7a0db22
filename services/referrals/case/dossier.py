"""A person's IOM dossier: everything referrals knows about them, and what each input
changes. Pure: no I/O. The agent keeps one dossier per person in a Faust table (JSON), feeds
it every record about the person and publishes what comes back.

The dossier is plain JSON (dates as ISO text) so the table's changelog is readable and a
restart rebuilds it exactly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from iomkit.offences import OFFENCE_CATEGORIES
from services.referrals.care.checks import day, iso
from services.referrals.case import lifecycle, selection, youth
from services.referrals.case.eligibility import Assessment, Candidate, assess
from services.referrals.case.intake import check_referral
from services.referrals.case.lifecycle import Case, CaseState
from services.referrals.case.panel import FINAL_OUTCOMES, uk_local_date
from services.referrals.config import ReferralsSettings

OPEN_STATES = ("REGISTERED", "TRANSITION", "SUSPENDED")
_DOMESTIC = re.compile(r"domestic\s+(abuse|violence)", re.IGNORECASE)


class Refused(ValueError):
    """An input the dossier will not take; the message says why (for the dead letter)."""


@dataclass
class Outputs:
    """What one input asks the service to publish."""

    cohort_changes: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # CaseRecords (iom.case.records)


def new(person_id: str) -> dict[str, Any]:
    return {"person_id": person_id, "person": None, "grade": None, "referrals": {},
            "open_referral": None, "decisions": [], "case": None, "reviews": [],
            "timeline": [], "alerts": [], "incidents": [], "grade_changes": [],
            "deregistration_rationale": None}


def note(d: dict[str, Any], at: datetime, kind: str, summary: str, ref: str | None,
          settings: ReferralsSettings) -> None:
    entry = {"at": at.astimezone(UTC).isoformat(), "kind": kind, "summary": summary, "ref": ref}
    if entry in d["timeline"]:
        return  # a redelivered record: the timeline says it once
    d["timeline"].append(entry)
    d["timeline"].sort(key=lambda e: e["at"])
    del d["timeline"][:-settings.timeline_limit]


def alert_id(person_id: str, kind: str, subject: str) -> str:
    return hashlib.sha256(f"{person_id}|{kind}|{subject}".encode()).hexdigest()[:32]


def raise_alert(d: dict[str, Any], out: Outputs, kind: str, subject: str, summary: str,
           now: datetime, details: dict[str, str], settings: ReferralsSettings) -> None:
    identifier = alert_id(d["person_id"], kind, subject)
    if identifier in d["alerts"]:
        return
    d["alerts"].append(identifier)
    case = d["case"] or {}
    out.alerts.append({
        "alert_id": identifier, "person_id": d["person_id"], "kind": kind,
        "force": (d["person"] or {}).get("force") or "unknown", "summary": summary,
        "lead_officer": case.get("lead_officer"), "raised_at": now, "details": details})
    note(d, now, "ALERT", summary, identifier, settings)


def case_record(d: Mapping[str, Any], out: Outputs, kind: str, subject: str, now: datetime, *,
                agency: str | None = None, due_on: date | None = None,
                done_on: date | None = None) -> None:
    """A casework fact others count (iom.case.records): dates only, never the finding or
    outcome's text. Its id is deterministic, so a replay publishes the same record again."""
    out.records.append({
        "record_id": alert_id(d["person_id"], kind, subject), "person_id": d["person_id"],
        "force": (d["person"] or {}).get("force"), "kind": kind, "subject": subject,
        "agency": agency, "due_on": due_on, "done_on": done_on, "recorded_at": now})


# -- the case, as the lifecycle module sees it ------------------------------------------------


def case_of(d: Mapping[str, Any]) -> Case | None:
    c = d["case"]
    if c is None:
        return None
    return Case(d["person_id"], CaseState(c["state"]), c["cohort"], c["pathway"],
                c["lead_officer"], day(c["licence_end"]), day(c["suspended_on"]),
                day(c["released_on"]))


def _keep_case(d: dict[str, Any], case: Case, registered_on: str | None = None) -> None:
    held = d["case"] or {}
    d["case"] = {"state": str(case.state), "cohort": case.cohort, "pathway": case.pathway,
                 "lead_officer": case.lead_officer, "licence_end": iso(case.licence_end),
                 "suspended_on": iso(case.suspended_on), "released_on": iso(case.released_on),
                 "registered_on": registered_on or held.get("registered_on"),
                 "last_tick": held.get("last_tick")}


def _carry_out(d: dict[str, Any], actions: list[lifecycle.Action], now: datetime,
               out: Outputs, settings: ReferralsSettings) -> None:
    for action in actions:
        if action.kind is lifecycle.ActionKind.COHORT_CHANGE:
            assert action.cohort_change is not None
            change = action.cohort_change
            out.cohort_changes.append(change)
            note(d, now, "COHORT_CHANGE", f"{change['change']}: {change['reason']}", None,
                  settings)
            if change["change"] == "DEREGISTERED":
                d["deregistration_rationale"] = change["reason"]
            elif change["change"] == "TRANSITION_STARTED":
                raise_alert(d, out, "TRANSITION_OPENED", change["effective_at"].date().isoformat(),
                       "transition plan opened: licence ends "
                       f"{(d['case'] or {}).get('licence_end')}", now,
                       {"licence_end_date": str((d["case"] or {}).get("licence_end"))},
                       settings)
        elif action.kind is lifecycle.ActionKind.NEW_REFERRAL_PROMPT:
            note(d, now, "NOTE", action.message, None, settings)
            case = d["case"] or {}
            raise_alert(d, out, "FURTHER_SUPPORT", str(case.get("released_on")),
                   "released after imprisonment while on IOM: offer further support "
                   "(new referral)", now, {}, settings)
        else:
            note(d, now, "NOTE", action.message, None, settings)


# -- inputs -------------------------------------------------------------------------------------


def on_person(d: dict[str, Any], person: Mapping[str, Any], now: datetime) -> None:
    d["person"] = {k: (iso(v) if isinstance(v, date) else v) for k, v in person.items()}
    case = case_of(d)
    end = person.get("licence_end_date")
    if case is not None and end is not None and case.state is not CaseState.DEREGISTERED:
        _keep_case(d, replace(case, licence_end=end))


def assessment(d: Mapping[str, Any], referral: Mapping[str, Any] | None,
               settings: ReferralsSettings, now: datetime | None = None,
               offence: str | None = None) -> Assessment | None:
    """The advisory cohort for the person's referral, from what is known now.

    ``now`` (the service clock) lets the offence history say whether the person is prolific
    (case/selection.py); ``offence`` (an arrest's category) stands in for a referral's index
    offence. The person's priority flags (contract 1.1), when they have any, take
    precedence over the referral text's mention of domestic abuse."""
    person = d["person"]
    if person is None:
        return None
    grade = d["grade"] or {}
    text = " ".join(str(referral.get(k) or "") for k in ("index_offence", "reason")) \
        if referral else ""
    written = (referral or {}).get("index_offence") or offence or ""
    category = written.strip().upper().replace(" ", "_")
    index = category if category in OFFENCE_CATEGORIES else person.get("current_offence")
    if index is not None and index not in OFFENCE_CATEGORIES:
        index = "UNKNOWN"
    flags = selection.flags(person)["priority_flags"]
    history = selection.prolific(
        (d.get("signals") or {}).get("convictions") or (), uk_local_date(now),
        settings.prolific().for_force(person["force"])) if now is not None else None
    candidate = Candidate(
        person_id=d["person_id"], force=person["force"],
        under_statutory_supervision=bool(person["under_statutory_supervision"]),
        index_offence=index, offence_text=written or None,
        rag=grade.get("rag"), static_band=grade.get("static_band"),
        domestic_abuse_perpetrator=not flags and bool(_DOMESTIC.search(text)),
        flags=frozenset(flags), flags_from_person=bool(flags),
        prolific=bool(history and history.prolific),
        prolific_reason=history.reason if history else None)
    return assess(candidate, settings.priorities())


def on_referral(d: dict[str, Any], referral: Mapping[str, Any], now: datetime,
                settings: ReferralsSettings) -> Outputs:
    """Intake: one open referral per person (a suspended person's new referral reopens the
    case). A duplicate is refused naming the open one."""
    out = Outputs()
    existing = d["referrals"].get(d["open_referral"]) if d["open_referral"] else None
    outcome = check_referral(referral, existing)
    if outcome.summary == "repeat":
        return out
    if not outcome.accepted:
        raise Refused(outcome.summary)
    rid = referral["referral_id"]
    if rid in d["referrals"]:
        return out  # an old, decided referral delivered again
    case = case_of(d)
    if case is not None and case.state in (CaseState.REGISTERED, CaseState.TRANSITION):
        raise Refused(f"person is already on IOM ({case.state}); no referral is needed")
    d["referrals"][rid] = {
        "referral_id": rid, "status": "OPEN", "proposed_cohort": referral["proposed_cohort"],
        "referring_agency": referral["referring_agency"], "referrer": referral["referrer"],
        "reason": referral["reason"], "urgent": referral["urgent"],
        "index_offence": referral["index_offence"],
        "submitted_at": referral["submitted_at"].astimezone(UTC).isoformat()}
    d["open_referral"] = rid
    if case is not None and case.state is CaseState.SUSPENDED:
        new_case, actions = lifecycle.apply(case, lifecycle.REFERRAL_RECEIVED, now.date())
        _keep_case(d, new_case)
        _carry_out(d, actions, now, out, settings)
    elif case is None or case.state is CaseState.DEREGISTERED:
        _keep_case(d, Case(d["person_id"], CaseState.REFERRED, referral["proposed_cohort"]))
        d["case"]["registered_on"] = None
    urgency = "urgent " if referral["urgent"] else ""
    note(d, referral["submitted_at"], "REFERRAL",
          f"{urgency}referral by {referral['referring_agency']} proposing "
          f"{referral['proposed_cohort']}", rid, settings)
    if referral["urgent"]:
        raise_alert(d, out, "URGENT_REFERRAL", rid,
               "urgent referral: an out-of-cycle panel decision is needed", now,
               {"referral_id": rid, "referring_agency": referral["referring_agency"]},
               settings)
    return out


def on_decision(d: dict[str, Any], decision: Mapping[str, Any], now: datetime,
                settings: ReferralsSettings) -> Outputs:
    """A MACC panel decision: ACCEPTED registers (CohortChange REGISTERED), REJECTED closes
    the referral, DEFERRED keeps it for the next panel."""
    out = Outputs()
    rid = decision["referral_id"]
    referral = d["referrals"].get(rid)
    if referral is None:
        raise Refused(f"referral {rid} is not known for this person")
    if any(x["decision_id"] == decision["decision_id"] for x in d["decisions"]):
        return out  # the same decision again
    if referral["status"] in FINAL_OUTCOMES:
        raise Refused(f"referral {rid} was already {referral['status']}")
    d["decisions"].append({
        "decision_id": decision["decision_id"], "referral_id": rid,
        "outcome": decision["outcome"], "cohort": decision["cohort"],
        "pathway": decision["pathway"], "lead_officer": decision["lead_officer"],
        "rationale": decision["rationale"], "panel_date": iso(decision["panel_date"]),
        "decided_at": decision["decided_at"].astimezone(UTC).isoformat(),
        "chair": decision.get("chair"),
        "agencies_present": list(decision.get("agencies_present") or ())})
    referral["status"] = decision["outcome"]
    note(d, decision["decided_at"], "DECISION",
          f"panel {decision['outcome']}: {decision['rationale']}", decision["decision_id"],
          settings)
    if decision["outcome"] == "DEFERRED":
        return out
    d["open_referral"] = None
    case = case_of(d)
    if decision["outcome"] == "REJECTED":
        if case is not None and case.state is CaseState.REFERRED:
            if d["case"].get("registered_on") is None:
                d["case"] = None  # never on IOM: nothing to close
            else:  # suspended, referred again, and not taken back
                d["case"]["state"] = "DEREGISTERED"
                d["deregistration_rationale"] = f"new referral rejected: {decision['rationale']}"
        return out
    if case is None or case.state is not CaseState.REFERRED:
        raise Refused(f"an accepted referral needs a referred person, not {case and case.state}")
    end = day((d["person"] or {}).get("licence_end_date"))
    registered = Case(d["person_id"], CaseState.REGISTERED, decision["cohort"],
                      decision["pathway"], decision["lead_officer"], end)
    _keep_case(d, registered, registered_on=uk_local_date(decision["decided_at"]).isoformat())
    d["deregistration_rationale"] = None
    change = {"person_id": d["person_id"], "change": "REGISTERED",
              "cohort": decision["cohort"], "pathway": decision["pathway"],
              "lead_officer": decision["lead_officer"],
              "reason": f"Accepted by panel decision {decision['decision_id']} on "
                        f"{iso(decision['panel_date'])}.",
              "effective_at": decision["decided_at"]}
    change["change_id"] = lifecycle.change_id(change)
    out.cohort_changes.append(change)
    note(d, decision["decided_at"], "COHORT_CHANGE",
          f"REGISTERED: {decision['cohort']}, {decision['pathway']}, lead officer "
          f"{decision['lead_officer']}", decision["decision_id"], settings)
    return out


def on_event(d: dict[str, Any], event: Mapping[str, Any], now: datetime,
             settings: ReferralsSettings) -> Outputs:
    """An OffenderEvent: always on the timeline; some move the case (custody, release,
    licence end)."""
    out = Outputs()
    kind = event["type"]
    offence = f" ({event['offence']})" if event.get("offence") else ""
    note(d, event["occurred_at"], "EVENT",
          f"{kind}{offence} from {event['source_agency']}", event["event_id"], settings)
    _youth_facts(d, kind, event)
    case = case_of(d)
    if case is None or kind not in lifecycle.OFFENDER_EVENT_TYPES:
        return out
    if not lifecycle.can_apply(case.state, kind):
        return out  # e.g. a release of a person still referred: a fact, not a transition
    details = event.get("details") or {}
    end = details.get("licence_end_date")
    new_case, actions = lifecycle.apply(
        case, kind, uk_local_date(event["occurred_at"]),
        licence_end=date.fromisoformat(end) if end else None,
        transition_weeks=settings.transition_weeks, rationale=details.get("rationale"))
    _keep_case(d, new_case)
    _carry_out(d, actions, now, out, settings)
    return out


def _youth_facts(d: dict[str, Any], kind: str, event: Mapping[str, Any]) -> None:
    """A youth order as the YOT reports it: details order_type (a youth disposal),
    order_end_date, management_passed_to_probation; a conviction's date."""
    details = event.get("details") or {}
    held = d.get("youth") or {}
    if kind == "CONVICTED":
        held["convicted_on"] = uk_local_date(event["occurred_at"]).isoformat()
    if "order_type" in details:
        youth.disposal(details["order_type"])  # an unknown order is refused, named
        end = details.get("order_end_date")
        if not end:
            raise Refused("details.order_end_date: a youth order needs its end date")
        held.update({
            "order_type": details["order_type"], "order_end": date.fromisoformat(end).isoformat(),
            "passed_to_probation": details.get("management_passed_to_probation", "")
            .strip().lower() in ("true", "yes", "1"),
            "convicted_on": details.get("conviction_date") or held.get("convicted_on")})
    if held:
        d["youth"] = held


def youth_case(d: Mapping[str, Any]) -> youth.YouthCase | None:
    facts, born = d.get("youth") or {}, (d["person"] or {}).get("date_of_birth")
    if not facts.get("order_type") or not born:
        return None
    return youth.YouthCase(d["person_id"], date.fromisoformat(born), facts["order_type"],
                           date.fromisoformat(facts["order_end"]),
                           facts["passed_to_probation"], day(facts.get("convicted_on")))


def _youth_tick(d: dict[str, Any], now: datetime, out: Outputs,
                settings: ReferralsSettings) -> None:
    """Youth to adult transfer: the candidate list from 17y6m, liaison from 17y9m once
    accepted, and IOM taking over management on the 18th birthday."""
    case_y = youth_case(d)
    if case_y is None or not youth.is_eligible(case_y):
        return
    today, adult = uk_local_date(now), youth.takeover_on(case_y)
    case = case_of(d)
    on_iom = case is not None and case.state in (CaseState.REGISTERED, CaseState.TRANSITION)
    if youth.candidate_from(case_y) <= today < adult and not on_iom:
        panel_on = youth.transfer_panel_for(case_y)
        raise_alert(d, out, "YOUTH_TRANSFER_CANDIDATE", adult.isoformat(),
               "on the Youth to Adult Transfer Panel's candidate list: 18 on "
               f"{adult.isoformat()}", now,
               {"takeover_on": adult.isoformat(),
                "transfer_panel": panel_on.isoformat() if panel_on else "out of cycle"},
               settings)
    if not on_iom or case is None:
        return
    if youth.liaison_from(case_y) <= today < adult and not d["youth"].get("liaison"):
        d["youth"]["liaison"] = today.isoformat()
        note(d, now, "NOTE", "liaison with the YOT starts (17 years 9 months): IOM takes "
              f"over on {adult.isoformat()}", None, settings)
    if today >= adult and not d["youth"].get("taken_over") and case.lead_officer:
        d["youth"]["taken_over"] = today.isoformat()
        change = youth.takeover_change(case_y, cohort=case.cohort, pathway=case.pathway,
                                       lead_officer=case.lead_officer)
        out.cohort_changes.append(change)
        note(d, now, "COHORT_CHANGE", f"LEAD_OFFICER_CHANGED: {change['reason']}", None,
              settings)


def on_grade(d: dict[str, Any], grade: Mapping[str, Any], settings: ReferralsSettings) -> bool:
    """Keep the newest grade; False for an older or repeated revision."""
    held = d["grade"]
    if held is not None and held.get("revision", 0) >= (grade.get("revision") or 0) > 0:
        return False
    d["grade"] = {"rag": grade["rag"], "previous_rag": grade.get("previous_rag"),
                  "reasons": list(grade.get("reasons") or []),
                  "static_score": grade.get("static_score"),
                  "static_band": grade.get("static_band"), "revision": grade.get("revision"),
                  "graded_at": grade["graded_at"].astimezone(UTC).isoformat()}
    if grade.get("changed") or held is None:
        previous = grade.get("previous_rag") or "none"
        note(d, grade["graded_at"], "GRADE", f"graded {grade['rag']} (was {previous}): "
              f"{'; '.join((grade.get('reasons') or [])[:2])}", None, settings)
        d["grade_changes"].append({"rag": grade["rag"], "previous_rag": grade.get("previous_rag"),
                                   "graded_on": uk_local_date(grade["graded_at"]).isoformat()})
        del d["grade_changes"][:-50]
    return True


def on_hit(d: dict[str, Any], hit: Mapping[str, Any], settings: ReferralsSettings) -> None:
    if hit["status"] != "ACTIVE" or any(i["incident_id"] == hit["hit_id"]
                                        for i in d["incidents"]):
        return  # the first revision is the news; later ones refine the evidence
    d["incidents"].append({"kind": "HIT", "incident_id": hit["hit_id"], "ref": hit["crime_ref"],
                           "detected_on": uk_local_date(hit["detected_at"]).isoformat()})
    note(d, hit["detected_at"], "HIT",
          f"GPS hit: near {hit['offence']} {hit['crime_ref']} "
          f"({round(hit['distance_m'])} m)", hit["hit_id"], settings)


def on_breach(d: dict[str, Any], breach: Mapping[str, Any], settings: ReferralsSettings) -> None:
    if any(i["incident_id"] == breach["breach_id"] for i in d["incidents"]):
        return
    d["incidents"].append({"kind": "BREACH", "incident_id": breach["breach_id"],
                           "ref": breach["zone_id"],
                           "detected_on": uk_local_date(breach["detected_at"]).isoformat()})
    victim = " (a victim safety zone)" if breach.get("victim_safety") else ""
    note(d, breach["detected_at"], "BREACH",
          f"zone breach: {breach['kind']} of zone {breach['zone_id']}{victim}",
          breach["breach_id"], settings)


def on_review(d: dict[str, Any], review: Mapping[str, Any], now: datetime,
              settings: ReferralsSettings) -> Outputs:
    """A supervisor's review of the management report, with their finding; published as a
    CaseRecord with the date it was due, so a review done late is counted as late."""
    out = Outputs()
    case = case_of(d)
    if case is None or case.state.value not in OPEN_STATES:
        raise Refused("only a person on IOM has management report reviews")
    reviewed_on = review.get("reviewed_on") or uk_local_date(now).isoformat()
    if date.fromisoformat(reviewed_on) > uk_local_date(now):
        raise Refused(f"reviewed_on: {reviewed_on} is in the future")
    entry = {"reviewed_on": reviewed_on, "supervisor": review["supervisor"],
             "finding": review["finding"]}
    if entry in d["reviews"]:
        return out
    status = review_status(d, date.fromisoformat(reviewed_on), settings)
    case_record(d, out, "SUPERVISOR_REVIEW", reviewed_on, now,
                due_on=day(status["due"]) if status else None,
                done_on=date.fromisoformat(reviewed_on))
    d["reviews"].append(entry)
    d["reviews"].sort(key=lambda r: r["reviewed_on"])
    note(d, now, "REVIEW", f"supervisor review by {review['supervisor']}: "
          f"{review['finding']}", None, settings)
    return out


def review_status(d: Mapping[str, Any], today: date,
                  settings: ReferralsSettings) -> dict[str, Any] | None:
    case = d["case"]
    if case is None or case["state"] not in OPEN_STATES or not case.get("registered_on"):
        return None
    registered = date.fromisoformat(case["registered_on"])
    last = day(d["reviews"][-1]["reviewed_on"]) if d["reviews"] else None
    rag = (d["grade"] or {}).get("rag")
    rag = rag if rag in lifecycle.RAGS else None
    due = lifecycle.review_due(last, registered, rag, max(today, registered),
                               review_days=settings.review_days,
                               red_review_days=settings.red_review_days)
    interval = settings.red_review_days if rag == "RED" else settings.review_days
    return {"due": due.isoformat(), "overdue": today > due, "interval_days": interval}


def on_tick(d: dict[str, Any], now: datetime, settings: ReferralsSettings) -> Outputs:
    """Dates passing: transition, de-registration at the licence end, overdue reviews."""
    out = Outputs()
    case = case_of(d)
    today = uk_local_date(now)
    if case is not None:
        new_case, actions = lifecycle.apply(case, lifecycle.TICK, today,
                                            transition_weeks=settings.transition_weeks)
        if new_case != case:
            _keep_case(d, new_case)
        _carry_out(d, actions, now, out, settings)
    _youth_tick(d, now, out, settings)
    review = review_status(d, today, settings)
    if review is not None and review["overdue"]:
        raise_alert(d, out, "REVIEW_OVERDUE", review["due"],
               f"supervisor review due {review['due']} is overdue", now,
               {"due": review["due"]}, settings)
    return out


# -- views --------------------------------------------------------------------------------------


def report(d: Mapping[str, Any], now: datetime, settings: ReferralsSettings) -> dict[str, Any]:
    """The bespoke management report: one timeline, the named Offender Manager, reviews."""
    today = uk_local_date(now)
    case = d["case"] or {}
    end = day(case.get("licence_end"))
    opens = lifecycle.transition_opens(end, settings.transition_weeks)
    return {
        "person_id": d["person_id"], "force": (d["person"] or {}).get("force"),
        "state": case.get("state"), "cohort": case.get("cohort"),
        "pathway": case.get("pathway"), "lead_officer": case.get("lead_officer"),
        "registered_on": case.get("registered_on"), "licence_end": iso(end),
        "transition_opens": iso(opens), "grade": d["grade"],
        "review": review_status(d, today, settings), "reviews": list(d["reviews"]),
        "deregistration_rationale": d["deregistration_rationale"],
        "referrals": [{k: r[k] for k in ("referral_id", "status", "proposed_cohort",
                                         "submitted_at", "urgent")}
                      for r in d["referrals"].values()],
        "timeline": list(reversed(d["timeline"])),
    }
