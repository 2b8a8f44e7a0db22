"""Case records (seed 003: "record all interventions, decisions and rationale"): manual
de-registration with its rationale, lead officer reassignment with the reason, case notes,
the contact log, the transition plan's content and the person's part of MAP minutes. Pure:
no I/O, no logging.

Each is a command from a page (``throughcare-referrals-commands``, keyed by person), applied
by the agent to the person's dossier in the ``cases`` table, whose changelog makes it
durable: a restart rebuilds every record. The dossier keeps them under ``d["records"]``.

Every command carries ``id`` (deterministic, made by the page) and ``at`` (the page's clock
when the officer recorded it, ISO UTC): applying a command is idempotent (a command already
held is skipped), and what it publishes depends only on the command, so a command read again
after a crash publishes the same ``CohortChange`` (same ``change_id``) again.

A contact and a MAP action are also counted on ``iom.case.records`` (``CONTACT_LOGGED``,
``MAP_ACTION_AGREED``, ``MAP_ACTION_CLOSED``: the agency and the dates, never the text).

Notes and contacts are personal data under the information sharing agreement: only the case
roles (the person's force's police and probation) read them (:data:`CASE_ONLY`); the
timeline says that a note or contact was recorded, never what it says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from services.referrals.care.checks import (
    CareError,
    check_choice,
    check_day,
    check_text_within,
    day,
    same_person,
)
from services.referrals.case import lifecycle, minutes, transition_plan
from services.referrals.case.dossier import OPEN_STATES, Outputs, case_of, case_record, note
from services.referrals.case.panel import uk_local_date
from services.referrals.config import ReferralsSettings

UK: Final = ZoneInfo("Europe/London")
#: How a contact was made (the guide's daily partner contact: visits, calls, meetings).
METHODS: Final = ("VISIT", "PHONE", "MEETING", "OFFICE", "VIDEO", "TEXT", "LETTER", "OTHER")
COMMANDS: Final = frozenset({"deregister", "reassign_lead", "add_note", "log_contact",
                             "transition_plan", "map_minutes", "close_map_action"})
#: Sections of the records view that only the case roles may read.
CASE_ONLY: Final = ("notes", "contacts")
#: Entries kept per person (the oldest are dropped first): the dossier stays bounded.
KEPT_NOTES: Final = 500
KEPT_CONTACTS: Final = 1000
KEPT_OFFICERS: Final = 50
MIN_RATIONALE: Final = 10
MAX_NOTE: Final = 5000
MAX_TEXT: Final = 2000
MAX_NAME: Final = 200


def new() -> dict[str, Any]:
    return {"notes": [], "contacts": [], "officers": [], "deregistration": None,
            "transition_plans": [], "map": {"meetings": [], "actions": {}}}


def held(d: dict[str, Any]) -> dict[str, Any]:
    """The dossier's records, made on first use (dossiers older than this module have none)."""
    found = d.get("records")
    if found is None:
        found = d["records"] = new()
    return found


def command_id(person_id: str, name: str, at: datetime, by: str) -> str:
    """The id a page gives a command: the same submission (person, kind, instant, author)
    has the same id."""
    text = f"{person_id}|{name}|{at.astimezone(UTC).isoformat()}|{by}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def command(d: dict[str, Any], cmd: Mapping[str, Any], out: Outputs,
            settings: ReferralsSettings) -> None:
    """Apply one case-record command; :class:`CareError` names the field of a refused one."""
    at = moment("at", cmd.get("at"))
    name = cmd["command"]
    if name == "deregister":
        _deregister(d, cmd, at, out, settings)
    elif name == "reassign_lead":
        _reassign(d, cmd, at, out, settings)
    elif name == "add_note":
        _add_note(d, cmd, at, settings)
    elif name == "log_contact":
        _log_contact(d, cmd, at, out, settings)
    elif name == "transition_plan":
        _transition_plan(d, cmd, at, settings)
    elif name == "map_minutes":
        _map_minutes(d, cmd, at, out, settings)
    elif name == "close_map_action":
        _close_map_action(d, cmd, at, out, settings)
    else:
        raise CareError("command", f"unknown command {name!r}")


# -- decisions that change the case --------------------------------------------------------------


def _open_case(d: Mapping[str, Any]) -> lifecycle.Case:
    case = case_of(d)
    if case is None or case.state.value not in OPEN_STATES:
        state = "not referred" if case is None else case.state.value
        raise CareError("person_id", f"not on IOM ({state})")
    return case


def _change(case: lifecycle.Case, kind: str, reason: str, at: datetime,
            lead_officer: str | None) -> dict[str, Any]:
    """A CohortChange effective at the moment it was recorded: two changes of one kind on one
    day (two reassignments) have different ids, and a replay has the same one."""
    change = {"person_id": case.person_id, "change": kind, "cohort": case.cohort,
              "pathway": case.pathway, "lead_officer": lead_officer, "reason": reason,
              "effective_at": at}
    return {**change, "change_id": lifecycle.change_id(change)}


def _deregister(d: dict[str, Any], cmd: Mapping[str, Any], at: datetime, out: Outputs,
                settings: ReferralsSettings) -> None:
    r = held(d)
    if (r["deregistration"] or {}).get("id") == cmd["id"]:
        return  # read again after a crash: done already
    case = _open_case(d)
    rationale = check_text_within("rationale", cmd.get("rationale"), MAX_TEXT)
    if len(rationale) < MIN_RATIONALE:
        raise CareError("rationale", f"too short: say why in at least {MIN_RATIONALE} "
                        "characters")
    by = check_text_within("by", cmd.get("by"), MAX_NAME)
    reason = f"de-registered by {by}: {rationale}"
    change = _change(case, "DEREGISTERED", reason, at, case.lead_officer)
    d["case"]["state"] = "DEREGISTERED"
    d["deregistration_rationale"] = reason
    r["deregistration"] = {"id": cmd["id"], "at": at.isoformat(), "by": by,
                           "rationale": rationale, "reason": reason,
                           "state_left": case.state.value,
                           "change_id": change["change_id"]}
    out.cohort_changes.append(change)
    note(d, at, "COHORT_CHANGE", f"DEREGISTERED: {reason}", change["change_id"], settings)


def _reassign(d: dict[str, Any], cmd: Mapping[str, Any], at: datetime, out: Outputs,
              settings: ReferralsSettings) -> None:
    r = held(d)
    if any(x["id"] == cmd["id"] for x in r["officers"]):
        return
    case = _open_case(d)
    officer = " ".join(check_text_within("lead_officer", cmd.get("lead_officer"),
                                         MAX_NAME).split())
    reason = check_text_within("reason", cmd.get("reason"), MAX_TEXT)
    by = check_text_within("by", cmd.get("by"), MAX_NAME)
    if same_person(officer, case.lead_officer):
        raise CareError("lead_officer", f"{officer} is already the lead officer")
    change = _change(case, "LEAD_OFFICER_CHANGED",
                     f"lead officer {case.lead_officer or 'none'} replaced by {officer} "
                     f"({by}): {reason}", at, officer)
    d["case"]["lead_officer"] = officer
    r["officers"].append({"id": cmd["id"], "at": at.isoformat(), "by": by,
                          "from": case.lead_officer, "to": officer, "reason": reason,
                          "change_id": change["change_id"]})
    del r["officers"][:-KEPT_OFFICERS]
    out.cohort_changes.append(change)
    note(d, at, "COHORT_CHANGE", f"LEAD_OFFICER_CHANGED: {change['reason']}",
         change["change_id"], settings)


# -- notes and contacts --------------------------------------------------------------------------


def _known(d: Mapping[str, Any]) -> None:
    if d.get("person") is None:
        raise CareError("person_id", "no record of this person yet")


def _add_note(d: dict[str, Any], cmd: Mapping[str, Any], at: datetime,
              settings: ReferralsSettings) -> None:
    r = held(d)
    if any(x["id"] == cmd["id"] for x in r["notes"]):
        return
    _known(d)
    author = check_text_within("author", cmd.get("author"), MAX_NAME)
    entry = {"id": cmd["id"], "at": at.isoformat(), "author": author,
             "agency": _optional(cmd, "agency", MAX_NAME),
             "text": check_text_within("text", cmd.get("text"), MAX_NOTE)}
    r["notes"].append(entry)
    r["notes"].sort(key=lambda x: x["at"])
    del r["notes"][:-KEPT_NOTES]
    note(d, at, "NOTE", f"case note recorded by {author}", cmd["id"], settings)


def _log_contact(d: dict[str, Any], cmd: Mapping[str, Any], at: datetime, out: Outputs,
                 settings: ReferralsSettings) -> None:
    r = held(d)
    if any(x["id"] == cmd["id"] for x in r["contacts"]):
        return
    _known(d)
    made = moment("contact_at", cmd.get("contact_at"))
    if made > at:
        raise CareError("contact_at", f"{made.isoformat()} is after it was recorded "
                        f"({at.isoformat()}): a contact is logged once made")
    entry = {"id": cmd["id"], "contact_at": made.isoformat(), "recorded_at": at.isoformat(),
             "by": check_text_within("by", cmd.get("by"), MAX_NAME),
             "agency": check_text_within("agency", cmd.get("agency"), MAX_NAME),
             "method": check_choice("method", cmd.get("method"), METHODS, "a contact method"),
             "summary": _optional(cmd, "summary", MAX_TEXT)}
    r["contacts"].append(entry)
    r["contacts"].sort(key=lambda x: x["contact_at"])
    del r["contacts"][:-KEPT_CONTACTS]
    note(d, made, "CONTACT", f"contact by {entry['agency']} ({entry['method'].lower()})",
         cmd["id"], settings)
    # counted by insights (contacts by agency): the agency and the day, never what was said
    case_record(d, out, "CONTACT_LOGGED", cmd["id"], at, agency=entry["agency"],
                done_on=uk_local_date(made))


# -- transition plan and MAP minutes -------------------------------------------------------------


def _transition_plan(d: dict[str, Any], cmd: Mapping[str, Any], at: datetime,
                     settings: ReferralsSettings) -> None:
    r = held(d)
    if any(x["id"] == cmd["id"] for x in r["transition_plans"]):
        return
    case = _open_case(d)
    if case.state is lifecycle.CaseState.SUSPENDED:
        raise CareError("person_id", "suspended (in custody): no transition to plan")
    steps = transition_plan.check_steps(
        cmd.get("steps"), licence_end=case.licence_end,
        opens=lifecycle.transition_opens(case.licence_end, settings.transition_weeks))
    by = check_text_within("by", cmd.get("by"), MAX_NAME)
    r["transition_plans"].append({"id": cmd["id"], "at": at.isoformat(), "by": by,
                                  "steps": steps})
    del r["transition_plans"][:-transition_plan.KEPT_VERSIONS]
    note(d, at, "NOTE", f"transition plan of {len(steps)} steps recorded by {by}", cmd["id"],
         settings)


def _map_minutes(d: dict[str, Any], cmd: Mapping[str, Any], at: datetime, out: Outputs,
                 settings: ReferralsSettings) -> None:
    _known(d)
    force = (d["person"] or {}).get("force") or ""
    if force.casefold() != str(cmd.get("force", "")).casefold():
        raise CareError("force", f"the person is managed by {force}, not {cmd.get('force')}")
    r = held(d)
    known = set(r["map"]["actions"])
    r["map"] = minutes.apply(r["map"], cmd)
    for a in cmd["actions"]:
        if a["action_id"] not in known:
            case_record(d, out, "MAP_ACTION_AGREED", a["action_id"], at,
                        agency=a["owner_agency"], due_on=date.fromisoformat(a["due"]))
    note(d, at, "MAP", f"discussed at the MAP meeting of {cmd['meeting_date']}"
         + (f": {len(cmd['actions'])} actions agreed" if cmd["actions"] else ""),
         cmd["meeting_id"], settings)


def _close_map_action(d: dict[str, Any], cmd: Mapping[str, Any], at: datetime,
                      out: Outputs, settings: ReferralsSettings) -> None:
    r = held(d)
    closed_on = check_day("closed_on", cmd.get("closed_on") or uk_local_date(at).isoformat())
    action = str(cmd.get("action_id"))
    found = r["map"]["actions"].get(action) or {}
    r["map"], changed = minutes.close(r["map"], action, closed_on,
                                      str(cmd.get("outcome") or ""), uk_local_date(at))
    if changed:
        note(d, at, "MAP", f"MAP action closed: {found.get('description')}", action, settings)
        case_record(d, out, "MAP_ACTION_CLOSED", action, at, agency=found.get("owner_agency"),
                    due_on=date.fromisoformat(found["due"]), done_on=closed_on)


# -- reading -------------------------------------------------------------------------------------


def view(d: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The case records for the report: decisions with who made them, de-registration,
    lead officer changes, the transition plan with the step in force today, MAP meetings and
    actions, notes and contacts newest first. The caller removes :data:`CASE_ONLY` for a
    role that may not read them."""
    r = d.get("records") or new()
    case = d.get("case") or {}
    today = uk_local_date(now)
    plan = r["transition_plans"][-1] if r["transition_plans"] else None
    # the manual de-registration, while it is what closed the case (not one of an earlier
    # registration that a licence end closed again since)
    dereg = r["deregistration"]
    if dereg and (case.get("state") != "DEREGISTERED"
                  or d.get("deregistration_rationale") != dereg.get("reason")):
        dereg = None
    actions = sorted(r["map"]["actions"].values(),
                     key=lambda a: (a["closed_on"] is not None, a["due"], a["action_id"]))
    return {
        "decisions": [{k: x.get(k) for k in ("decision_id", "outcome", "panel_date", "chair",
                                             "agencies_present", "rationale", "lead_officer")}
                      for x in d.get("decisions") or ()],
        "deregistration": dereg,
        "lead_officer_changes": list(reversed(r["officers"])),
        "transition_plan": None if plan is None else {
            **plan, "current_step": transition_plan.current_step(plan["steps"], today),
            "licence_end": case.get("licence_end")},
        "map_meetings": list(reversed(r["map"]["meetings"][-10:])),
        "map_actions": [{**a, "overdue": a["closed_on"] is None
                         and today > (day(a["due"]) or today)} for a in actions],
        "notes": list(reversed(r["notes"])),
        "contacts": list(reversed(r["contacts"])),
    }


def moment(field: str, value: object) -> datetime:
    """An instant: an aware datetime or ISO text; text without an offset is UK local time
    (what a form's datetime-local field sends), converted to UTC."""
    if isinstance(value, datetime):
        found = value
    else:
        text = check_text_within(field, value, 40)
        try:
            found = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise CareError(field, f"{text!r} is not a date and time "
                            "(YYYY-MM-DDTHH:MM)") from None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UK)
    return found.astimezone(UTC)


def _optional(cmd: Mapping[str, Any], field: str, limit: int) -> str | None:
    value = cmd.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_text_within(field, value, limit)
