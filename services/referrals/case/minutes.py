"""Minutes of the weekly MAP (Multi-Agency Practitioner) meeting: who attended, the people
discussed, and the actions agreed, each with the agency that owns it and a due date, carried
into every later MAP pack until closed. Pure: no I/O, no logging, standard library only.

The minutes of one meeting arrive as one submission; each person discussed keeps their part
in their own dossier (the meeting, the attendees, what was said of them, their actions), so
the minutes live where the person's other records live (the ``cases`` table) and a pack, which
gathers every worker's dossiers, finds them with the rest.

Rules, chosen once:

* The meeting is dated (UK day), not in the future. Its id is the first 16 hex of SHA-256 of
  ``"force|meeting_date"``: one MAP meeting a force a day; minutes sent again for the same
  meeting replace that meeting's part in each dossier and keep the actions already closed.
* At least one attendee and one person discussed; each person at most once; an action is about
  a person discussed at that meeting.
* An action is due on or after the meeting day. It is overdue from the day after it is due
  (as supervisor reviews: on the due date it is on time).
* An action is closed on or after the meeting and not in the future; closing a closed action
  again changes nothing (idempotent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from services.referrals.care.checks import (
    CareError,
    check_day,
    check_text_within,
    iso,
)

MAX_PEOPLE: Final = 60
MAX_ACTIONS: Final = 100
MAX_TEXT: Final = 1000
#: Meetings kept per person, and closed actions kept (open ones are always kept).
KEPT_MEETINGS: Final = 100
KEPT_CLOSED: Final = 200


def meeting_id(force: str, meeting_date: date) -> str:
    key = f"{' '.join(force.split()).casefold()}|{meeting_date.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def action_id(meeting: str, person_id: str, description: str) -> str:
    return hashlib.sha256(f"{meeting}|{person_id}|{description}".encode()).hexdigest()[:16]


def check_minutes(data: Mapping[str, Any], today: date) -> dict[str, Any]:
    """A submitted meeting's minutes, checked: ``force``, ``meeting_date``, ``chair``
    (optional), ``attendees``, ``discussed`` ([{person_id, summary}]) and ``actions``
    ([{person_id, description, owner_agency, due}]). :class:`CareError` names the field."""
    force = _text("force", data.get("force"))
    meeting_on = _day("meeting_date", data.get("meeting_date"))
    if meeting_on > today:
        raise CareError("meeting_date", f"{meeting_on} is in the future")
    chair = data.get("chair")
    chair = _text("chair", chair) if isinstance(chair, str) and chair.strip() else None
    attendees = _list("attendees", data.get("attendees"))
    if not attendees:
        raise CareError("attendees", "name at least one attendee")
    discussed_in = data.get("discussed")
    if not isinstance(discussed_in, Sequence) or isinstance(discussed_in, str) \
            or not discussed_in:
        raise CareError("discussed", "name at least one person discussed")
    if len(discussed_in) > MAX_PEOPLE:
        raise CareError("discussed", f"at most {MAX_PEOPLE} people a meeting")
    discussed: dict[str, str] = {}
    for n, item in enumerate(discussed_in):
        item = item if isinstance(item, Mapping) else {"person_id": item}
        person = _text(f"discussed[{n}].person_id", item.get("person_id"))
        if person in discussed:
            raise CareError(f"discussed[{n}].person_id", f"{person} is listed twice")
        summary = item.get("summary")
        discussed[person] = (_text(f"discussed[{n}].summary", summary)
                             if isinstance(summary, str) and summary.strip() else "")
    meeting = meeting_id(force, meeting_on)
    actions = []
    actions_in = data.get("actions") or []
    if not isinstance(actions_in, Sequence) or isinstance(actions_in, str):
        raise CareError("actions", "expected a list of actions")
    if len(actions_in) > MAX_ACTIONS:
        raise CareError("actions", f"at most {MAX_ACTIONS} actions a meeting")
    for n, item in enumerate(actions_in):
        name = f"actions[{n}]"
        if not isinstance(item, Mapping):
            raise CareError(name, "expected an object with person_id, description, "
                            "owner_agency, due")
        person = _text(f"{name}.person_id", item.get("person_id"))
        if person not in discussed:
            raise CareError(f"{name}.person_id", f"{person} was not discussed at this meeting")
        description = _text(f"{name}.description", item.get("description"))
        due = _day(f"{name}.due", item.get("due"))
        if due < meeting_on:
            raise CareError(f"{name}.due", f"{due} is before the meeting ({meeting_on})")
        actions.append({"action_id": action_id(meeting, person, description),
                        "person_id": person, "description": description,
                        "owner_agency": _text(f"{name}.owner_agency", item.get("owner_agency")),
                        "due": iso(due)})
    return {"meeting_id": meeting, "force": force, "meeting_date": iso(meeting_on),
            "chair": chair, "attendees": attendees,
            "discussed": [{"person_id": p, "summary": s} for p, s in discussed.items()],
            "actions": actions}


def commands(minutes: Mapping[str, Any], at: str) -> list[dict[str, Any]]:
    """One command a person discussed: their part of the minutes, for their dossier."""
    return [{"command": "map_minutes", "person_id": item["person_id"], "at": at,
             "meeting_id": minutes["meeting_id"], "force": minutes["force"],
             "meeting_date": minutes["meeting_date"], "chair": minutes["chair"],
             "attendees": list(minutes["attendees"]), "summary": item["summary"],
             "actions": [a for a in minutes["actions"] if a["person_id"] == item["person_id"]]}
            for item in minutes["discussed"]]


def apply(held: Mapping[str, Any], cmd: Mapping[str, Any]) -> dict[str, Any]:
    """A person's MAP records (``{"meetings": [...], "actions": {id: action}}``) with their
    part of a meeting's minutes: the meeting replaced if sent again, actions added, an
    action already closed kept closed."""
    meetings = [m for m in held.get("meetings", []) if m["meeting_id"] != cmd["meeting_id"]]
    meetings.append({k: cmd[k] for k in ("meeting_id", "force", "meeting_date", "chair",
                                         "attendees", "summary")})
    meetings.sort(key=lambda m: m["meeting_date"])
    actions = {k: dict(v) for k, v in held.get("actions", {}).items()}
    for a in cmd["actions"]:
        known = actions.get(a["action_id"])
        actions[a["action_id"]] = {**a, "meeting_id": cmd["meeting_id"],
                                   "meeting_date": cmd["meeting_date"],
                                   "closed_on": known and known["closed_on"],
                                   "outcome": known and known["outcome"]}
    return {"meetings": meetings[-KEPT_MEETINGS:], "actions": _pruned(actions)}


def close(held: Mapping[str, Any], action: str, closed_on: date, outcome: str, today: date
          ) -> tuple[dict[str, Any], bool]:
    """The records with ``action`` closed, and whether that changed anything (closing a closed
    action again does not)."""
    actions = {k: dict(v) for k, v in held.get("actions", {}).items()}
    found = actions.get(action)
    if found is None:
        raise CareError("action_id", f"no MAP action {action} for this person")
    if found["closed_on"] is not None:
        return {**held, "actions": actions}, False
    if closed_on > today:
        raise CareError("closed_on", f"{closed_on} is in the future")
    if closed_on < date.fromisoformat(found["meeting_date"]):
        raise CareError("closed_on", f"{closed_on} is before the meeting that agreed it "
                        f"({found['meeting_date']})")
    found.update(closed_on=iso(closed_on), outcome=_text("outcome", outcome))
    return {**held, "actions": _pruned(actions)}, True


def open_actions(people: Iterable[tuple[str, Mapping[str, Any]]], today: date
                 ) -> list[dict[str, Any]]:
    """Every open action of these people (person_id, MAP records), by due date, each with
    ``overdue`` (due before today): what the next pack carries until done."""
    found = []
    for person_id, held in people:
        for a in held.get("actions", {}).values():
            if a["closed_on"] is None:
                found.append({**a, "person_id": person_id,
                              "overdue": today > date.fromisoformat(a["due"])})
    found.sort(key=lambda a: (a["due"], a["person_id"], a["action_id"]))
    return found


def meeting_of(people: Iterable[tuple[str, Mapping[str, Any]]], force: str, on: date | None
               ) -> dict[str, Any]:
    """One meeting's minutes put back together from the parts the people discussed hold:
    the meeting of ``force`` on ``on`` (the latest when None). ``discussed`` is empty when no
    such meeting is held."""
    parts = [(p, m, held) for p, held in people for m in held.get("meetings", [])
             if m["force"].casefold() == force.casefold()
             and (on is None or m["meeting_date"] == on.isoformat())]
    if not parts:
        return {"force": force, "meeting_date": iso(on), "meeting_id": None, "chair": None,
                "attendees": [], "discussed": [], "actions": []}
    latest = max(m["meeting_date"] for _, m, _ in parts)
    parts = [x for x in parts if x[1]["meeting_date"] == latest]
    first = max((m for _, m, _ in parts), key=lambda m: len(m["attendees"]))
    actions = [a | {"person_id": p} for p, m, held in parts
               for a in held.get("actions", {}).values() if a["meeting_id"] == m["meeting_id"]]
    return {"force": first["force"], "meeting_date": latest, "meeting_id": first["meeting_id"],
            "chair": first["chair"], "attendees": first["attendees"],
            "discussed": sorted(({"person_id": p, "summary": m["summary"]}
                                 for p, m, _ in parts), key=lambda x: x["person_id"]),
            "actions": sorted(actions, key=lambda a: (a["due"], a["person_id"],
                                                      a["action_id"]))}


def _pruned(actions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    closed = sorted((a for a in actions.values() if a["closed_on"] is not None),
                    key=lambda a: (a["closed_on"], a["action_id"]))
    dropped = {a["action_id"] for a in closed[:-KEPT_CLOSED]} if len(closed) > KEPT_CLOSED \
        else set()
    return {k: v for k, v in actions.items() if k not in dropped}


def _list(field: str, value: object) -> list[str]:
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, Sequence):
        raise CareError(field, "expected a list of names")
    names = [" ".join(str(v).split()) for v in value if isinstance(v, str) and v.strip()]
    if len(names) > MAX_PEOPLE:
        raise CareError(field, f"at most {MAX_PEOPLE}")
    return [_text(field, n) for n in dict.fromkeys(names)]



def _day(field: str, value: object) -> date:
    return check_day(field, value)


def _text(field: str, value: object) -> str:
    return check_text_within(field, value, MAX_TEXT)
