"""Needs, the intervention plan and through-the-gate work on a person's dossier. Pure.

The rules live in needs.py, plans.py and gate.py; this module keeps their states in the
dossier (``d["care"]``), turns prison and health events into them, and says what is to be
published: case alerts (checklist opened, release handover, unready items, SASH, plan
review due) and pathway changes. A refused input raises ``CareError`` naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from services.referrals.care import gate, needs, partners, plans, tagorders
from services.referrals.care.checks import CareError, day, iso
from services.referrals.case.dossier import Outputs, case_of, case_record, note, raise_alert
from services.referrals.case.panel import uk_local_date
from services.referrals.config import ReferralsSettings

# Events that show the person is serving a neighbourhood-crime licence (tag eligible).
NEIGHBOURHOOD_OFFENCES = frozenset({"ROBBERY", "BURGLARY_DOMESTIC", "BURGLARY_OTHER",
                                    "TAKING_DRIVING_AWAY", "THEFT_FROM_VEHICLE"})


def care(d: dict[str, Any]) -> dict[str, Any]:
    held = d.get("care")
    if held is None:
        held = d["care"] = {"needs": needs.new(), "plan": None, "gate": gate.new()}
    return held


def _plan(d: dict[str, Any], today: date) -> dict[str, Any]:
    c = care(d)
    if c["plan"] is None:
        c["plan"] = plans.new_plan(d["person_id"], today)
    return c["plan"]


def _lead_officer(d: Mapping[str, Any]) -> str | None:
    return (d.get("case") or {}).get("lead_officer")


def _neighbourhood(d: Mapping[str, Any], details: Mapping[str, str]) -> bool:
    flag = details.get("neighbourhood_licence")
    if flag is not None:
        return flag.strip().lower() in ("true", "yes", "1")
    return (d.get("person") or {}).get("current_offence") in NEIGHBOURHOOD_OFFENCES


def _day_of(details: Mapping[str, str], name: str) -> date:
    text = details.get(name)
    if not text:
        raise CareError(f"details.{name}", "is required for this event")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CareError(f"details.{name}", f"{text!r} is not a date (YYYY-MM-DD)") from None


# -- events ---------------------------------------------------------------------------------------


def on_event(d: dict[str, Any], event: Mapping[str, Any], now: datetime, out: Outputs,
             settings: ReferralsSettings) -> None:
    kind, details = event["type"], event.get("details") or {}
    on = uk_local_date(event["occurred_at"])
    today = uk_local_date(now)
    c = care(d)
    c["needs"] = needs.on_event(c["needs"], kind, on)
    g = c["gate"]
    if kind == gate.PRISON_RECEPTION:
        c["gate"] = gate.on_reception(g, on)
    elif kind == gate.SENTENCE_PLAN_AGREED:
        c["gate"] = gate.on_sentence_plan(g, on)
    elif kind == gate.CLASSIFICATION_CHANGED:
        c["gate"] = gate.on_classification(g, details.get("category") or "")
    elif kind == gate.RELEASE_DATE_SET:
        opened_before = g["checklist"] is not None
        c["gate"] = gate.set_release_date(g, _day_of(details, "release_date"), today,
                                          weeks=settings.checklist_weeks,
                                          neighbourhood_licence=_neighbourhood(d, details))
        if not opened_before and c["gate"]["checklist"] is not None:
            _checklist_opened(d, now, out, settings)
    elif kind in gate.RELEASE_EVENTS and g["received_on"] is not None:
        c["gate"], unready = gate.on_release(g, on)
        _released(d, unready, now, out, settings)
    elif kind in gate.SASH_EVENTS:
        c["gate"] = gate.on_sash(g, kind, on)
        if kind != gate.SASH_CLOSED:
            where = "in custody" if kind == gate.SASH_OPENED else "in the community"
            raise_alert(d, out, "SASH", f"{kind}|{on.isoformat()}",
                   f"suicide and self-harm concern {where}: contact the Offender Manager now",
                   now, {"event": kind, "on": on.isoformat(), "health_information": "true"},
                   settings)
    if kind in gate.RELEASE_EVENTS:  # tag orders, whatever the prison record holds
        tagorders.release(d, event, g["neighbourhood_licence"] if g["release_dates"] else None,
                          (d.get("person") or {}).get("current_offence")
                          in NEIGHBOURHOOD_OFFENCES, now, out, settings)


def _checklist_opened(d: dict[str, Any], now: datetime, out: Outputs,
                      settings: ReferralsSettings) -> None:
    g = care(d)["gate"]
    items = ", ".join(g["checklist"]["items"])
    raise_alert(d, out, "CHECKLIST_OPENED", f"{g['received_on']}|{g['release_date']}",
           f"pre-release checklist opened: release {g['release_date']} ({items})", now,
           {"release_date": str(g["release_date"]), "items": items}, settings)


def _released(d: dict[str, Any], unready: list[str], now: datetime, out: Outputs,
              settings: ReferralsSettings) -> None:
    c = care(d)
    released = c["gate"]["released_on"]
    officer = _lead_officer(d)
    if officer:
        payload = gate.handover(c["needs"], c["plan"], d.get("grade"), officer,
                                gate_state=c["gate"])
        raise_alert(d, out, "RELEASE_HANDOVER", str(released),
               f"released {released}: handover of needs, plan and risk grade to {officer}",
               now, {"handover": json.dumps(payload, sort_keys=True, default=str),
                     "health_information": "true"}, settings)
    else:
        note(d, now, "NOTE", f"released {released}: no lead officer to hand over to", None,
              settings)
    if unready:
        raise_alert(d, out, "RELEASE_ITEMS_UNREADY", str(released),
               f"released {released} with checklist items not ready: {', '.join(unready)}",
               now, {"unready_items": ", ".join(unready)}, settings)


def on_grade(d: dict[str, Any], rag: str, previous: str | None, now: datetime, out: Outputs,
             settings: ReferralsSettings) -> None:
    """A rise in grade makes the plan's review due at once."""
    c = care(d)
    if c["plan"] is None:
        return
    c["plan"], review_now = plans.on_grade(c["plan"], rag, previous, uk_local_date(now))
    if review_now:
        raise_alert(d, out, "PLAN_REVIEW_DUE", f"rise|{c['plan']['review_now_since']}",
               f"grade rose to {rag}: the intervention plan needs review now", now,
               {"rag": rag, "previous_rag": str(previous)}, settings)


def on_tick(d: dict[str, Any], now: datetime, out: Outputs, settings: ReferralsSettings) -> None:
    c = d.get("care")
    if c is None:
        return
    today = uk_local_date(now)
    opened_before = c["gate"]["checklist"] is not None
    c["gate"], opened = gate.tick(c["gate"], today, weeks=settings.checklist_weeks,
                                  neighbourhood_licence=c["gate"]["neighbourhood_licence"])
    if opened and not opened_before:
        _checklist_opened(d, now, out, settings)
    partners.overdue(d, c["plan"], today, now, out, settings)
    if c["plan"] is not None and c["plan"]["actions"]:
        rag = (d.get("grade") or {}).get("rag")
        due = plans.review_due(c["plan"], rag, today)
        if today > due:
            raise_alert(d, out, "PLAN_REVIEW_DUE", f"due|{due.isoformat()}",
                   f"intervention plan review due {due.isoformat()} is overdue", now,
                   {"due": due.isoformat()}, settings)


# -- commands from the pages ----------------------------------------------------------------------


def command(d: dict[str, Any], cmd: Mapping[str, Any], now: datetime, out: Outputs,
            settings: ReferralsSettings) -> None:
    """A change made on a page: needs assessment, plan action, outcome, plan review,
    checklist item, pathway change."""
    today = uk_local_date(now)
    c = care(d)
    name = cmd["command"]
    if name == "assess_needs":
        c["needs"] = needs.assess(c["needs"], needs=cmd["needs"], assessed_by=cmd["assessed_by"],
                                  assessed_on=_iso_day(cmd, "assessed_on"), today=today)
        note(d, now, "NOTE", f"needs assessed by {cmd['assessed_by']}", None, settings)
    elif name == "add_action":
        plan = _plan(d, today)
        c["plan"] = plans.add_action(
            plan, action_id=cmd["action_id"], need=cmd["need"], pathway=cmd["pathway"],
            partner_agency=cmd["partner_agency"], description=cmd["description"],
            due=_iso_day(cmd, "due"), agreed_by=cmd.get("agreed_by"),
            lead_officer=_lead_officer(d), today=today)
        note(d, now, "NOTE", f"plan action agreed: {cmd['description']} "
              f"({cmd['partner_agency']})", cmd["action_id"], settings)
        case_record(d, out, "PLAN_ACTION_AGREED", cmd["action_id"], now,
                    agency=cmd["partner_agency"], due_on=_iso_day(cmd, "due"))
        partners.assigned(d, next(a for a in c["plan"]["actions"]
                                  if a["action_id"] == cmd["action_id"]), now, out, settings)
    elif name == "record_outcome":
        c["plan"] = plans.record_outcome(_plan(d, today), cmd["action_id"], cmd["outcome"],
                                         _iso_day(cmd, "on"), today=today)
        action = next(a for a in c["plan"]["actions"] if a["action_id"] == cmd["action_id"])
        case_record(d, out, "PLAN_ACTION_CLOSED", cmd["action_id"], now,
                    agency=action["partner_agency"], due_on=day(action["due"]),
                    done_on=day(action["outcome_on"]))
    elif name == "review_plan":
        next_review = cmd.get("next_review")
        c["plan"] = plans.record_review(
            _plan(d, today), cmd["reviewed_by"], _iso_day(cmd, "reviewed_on"), today,
            next_review=date.fromisoformat(next_review) if next_review else None)
        note(d, now, "REVIEW", f"plan reviewed by {cmd['reviewed_by']}", None, settings)
    elif name == "mark_item":
        c["gate"] = gate.mark_item(c["gate"], cmd["item"], cmd["status"], cmd["by"],
                                   _iso_day(cmd, "on"))
    elif name == "change_pathway":
        case = case_of(d)
        if case is None:
            raise CareError("person_id", "not on IOM: no pathway to change")
        change = plans.change_pathway(
            {"person_id": d["person_id"], "cohort": case.cohort, "pathway": case.pathway,
             "lead_officer": case.lead_officer, "state": str(case.state)},
            cmd["pathway"], cmd["reason"], today)
        d["case"]["pathway"] = cmd["pathway"]
        out.cohort_changes.append(change)
        note(d, now, "COHORT_CHANGE", f"PATHWAY_CHANGED: {change['reason']}", None, settings)
    else:
        raise CareError("command", f"unknown command {name!r}")


def _iso_day(cmd: Mapping[str, Any], name: str) -> date:
    value = cmd.get(name)
    if not value:
        raise CareError(name, "is required")
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CareError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


# -- views ----------------------------------------------------------------------------------------


def view(d: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Needs, plan and checklist for the management report."""
    c = d.get("care") or {"needs": needs.new(), "plan": None, "gate": gate.new()}
    plan, g = c["plan"], c["gate"]
    rag = (d.get("grade") or {}).get("rag")
    today = uk_local_date(now)
    return {
        "needs": needs.current(c["needs"]),
        "plan": None if plan is None else {
            "actions": plan["actions"], "reviews": plan["reviews"],
            "review_due": plans.review_due(plan, rag, today).isoformat(),
            "review_now_since": plan["review_now_since"]},
        "gate": {"received_on": g["received_on"], "release_date": g["release_date"],
                 "released_on": g["released_on"], "checklist": g["checklist"],
                 "checklist_opens": iso(gate.checklist_opens(g)),
                 "unready_on_release": g["unready_on_release"]},
        "sash": gate.sash_flag(g),
    }


def agency_actions(dossiers: list[Mapping[str, Any]], agency: str) -> list[dict[str, Any]]:
    """A partner's "my actions": the open plan actions their agency owes, by due date."""
    plans_by_person = {d["person_id"]: d["care"]["plan"] for d in dossiers
                       if (d.get("care") or {}).get("plan")}
    return plans.actions_for_agency(plans_by_person, agency)
