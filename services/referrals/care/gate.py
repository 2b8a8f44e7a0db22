"""Through the gate: prison events, the pre-release checklist, the release handover, SASH.

Pure module: no I/O, no logging; the standard library and the agreement (iomkit.identity.isa).

Seed 002: "Strong links need to be built with prisons so that work can start early to build
motivation and plan for release", "working through the gate (preparing prisoners for release
and resettlement)". Seed 000's through-care model: "Reception and induction; Assessment;
Sentence planning; Case management; and Reintegration", supported by the "Suicide and
Self-Harm (SASH) system" and "Classification/placement processes". Seed 003: "Offenders will
be GPS-tagged on release from prison" (for neighbourhood crime), and "If an individual
reoffends and is imprisoned again, IOM can offer individuals the opportunity for further
support on release."

The state is a JSON-able dict:

.. code-block:: python

    {
        "received_on": str | None,        # the custody spell's (first) reception
        "sentence_plan_agreed_on": str | None,
        "category": str | None,           # the last classification
        "release_dates": [{"release_date", "set_on"}],  # every date published, in order
        "release_date": str | None,       # the current expected release date
        "released_on": str | None,
        "neighbourhood_licence": bool,    # eligible for a GPS tag on release
        "checklist": None | {
            "opened_on": str,             # the day it actually opened
            "scheduled_on": str | None,   # release date - weeks, when it opened
            "items": {ITEM: {"agency", "status", "by": str | None, "on": str | None}},
        },
        "unready_on_release": [ITEM, ...] | None,
        "previous_spells": [{"received_on", "released_on"}],
        "sash": [{"type", "on"}],         # SASH_OPENED / SASH_CLOSED / SELF_HARM_REPORTED
    }

Date rules: the checklist opens on ``release_date - weeks`` (12 by default, a setting), not a
day earlier. A release date moved earlier is re-evaluated: when its opening day has already
come, the checklist opens at once. A release date moved later after the checklist opened
leaves it open (the work already started is not undone). A person released before the
checklist opened (an early or unannounced release) gets the checklist opened on release day
with every item unready, so the alert says so and the items are still tracked.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from iomkit.identity import isa
from services.referrals.care import needs as needs_module
from services.referrals.care import plans
from services.referrals.care.checks import CareError, check_choice, check_date, check_text, day, iso

# --- Prison events (new OffenderEvent types; the service adds them to the schema enum) -------

PRISON_RECEPTION: Final = "PRISON_RECEPTION"
SENTENCE_PLAN_AGREED: Final = "SENTENCE_PLAN_AGREED"
RELEASE_DATE_SET: Final = "RELEASE_DATE_SET"  # details: release_date
CLASSIFICATION_CHANGED: Final = "CLASSIFICATION_CHANGED"  # details: category
RELEASED: Final = "RELEASED"  # a release without licence
SASH_OPENED: Final = "SASH_OPENED"
SASH_CLOSED: Final = "SASH_CLOSED"
SELF_HARM_REPORTED: Final = "SELF_HARM_REPORTED"  # in the community

PRISON_EVENT_TYPES: Final = frozenset({
    PRISON_RECEPTION, SENTENCE_PLAN_AGREED, RELEASE_DATE_SET, CLASSIFICATION_CHANGED,
    RELEASED, SASH_OPENED, SASH_CLOSED, SELF_HARM_REPORTED,
})
#: Either is a release through the gate (contract v1 already has RELEASED_ON_LICENCE).
RELEASE_EVENTS: Final = frozenset({RELEASED, "RELEASED_ON_LICENCE"})
SASH_EVENTS: Final = (SASH_OPENED, SASH_CLOSED, SELF_HARM_REPORTED)

# --- The pre-release checklist ---------------------------------------------------------------

CHECKLIST_WEEKS: Final = 12
TAG_FITTING: Final = "TAG_FITTING"
#: Item -> the agency that owns it, in the order they are shown.
CHECKLIST_ITEMS: Final = {
    "ACCOMMODATION": "local authority housing",  # accommodation on release
    "GP_REGISTRATION": "prison healthcare",
    "BENEFITS": "DWP work coach",
    "DRUG_ALCOHOL_CONTINUITY": "substance misuse service",
    TAG_FITTING: "electronic monitoring",  # only for eligible neighbourhood-crime licences
    "IOM_REFERRAL": "community IOM team",  # IOM referral offered to the community team
}
OPEN: Final = "OPEN"
DONE: Final = "DONE"
NOT_NEEDED: Final = "NOT_NEEDED"
ITEM_STATUSES: Final = (OPEN, DONE, NOT_NEEDED)

# --- Health information ----------------------------------------------------------------------

#: ISA roles that may receive health information (SASH flags, health needs): the agreement's
#: own list (iomkit.identity.isa, where the reasons are). Anything else, including housing,
#: the local authority, the voluntary sector and any role not known, may not.
HEALTH_ROLES: Final = isa.HEALTH_ROLES


def new() -> dict[str, Any]:
    """The state of a person with no prison record."""
    return {"received_on": None, "sentence_plan_agreed_on": None, "category": None,
            "release_dates": [], "release_date": None, "released_on": None,
            "neighbourhood_licence": False, "checklist": None, "unready_on_release": None,
            "previous_spells": [], "sash": []}


def _spell_reset(out: dict[str, Any]) -> None:
    out["previous_spells"].append({"received_on": out["received_on"],
                                   "released_on": out["released_on"]})
    fresh = new()
    for key in fresh:
        if key not in ("previous_spells", "sash"):  # SASH concerns the person, not the spell
            out[key] = fresh[key]


# --- Prison events ---------------------------------------------------------------------------


def on_reception(state: Mapping[str, Any], received_on: date) -> dict[str, Any]:
    """``PRISON_RECEPTION``. After a release it starts a new custody spell (the last one is
    kept in ``previous_spells``). Within a spell a second reception is a transfer between
    prisons: the spell keeps its first reception date. Refused (``received_on``): a reception
    after the release date already set for the spell."""
    check_date("received_on", received_on)
    out = copy.deepcopy(dict(state))
    if out["released_on"] is not None:
        _spell_reset(out)
    held = day(out["received_on"])
    release = day(out["release_date"])
    if held is None and release is not None and received_on > release:
        raise CareError("received_on", f"{received_on.isoformat()} is after the release date "
                        f"{release.isoformat()}")
    out["received_on"] = iso(received_on if held is None else min(held, received_on))
    return out


def on_sentence_plan(state: Mapping[str, Any], agreed_on: date) -> dict[str, Any]:
    """``SENTENCE_PLAN_AGREED``: the date is kept for the report."""
    check_date("agreed_on", agreed_on)
    out = copy.deepcopy(dict(state))
    out["sentence_plan_agreed_on"] = iso(agreed_on)
    return out


def on_classification(state: Mapping[str, Any], category: str) -> dict[str, Any]:
    """``CLASSIFICATION_CHANGED`` (details: category): the last category is kept."""
    out = copy.deepcopy(dict(state))
    out["category"] = check_text("category", category)
    return out


def set_release_date(
    state: Mapping[str, Any],
    release_date: date,
    today: date,
    *,
    weeks: int = CHECKLIST_WEEKS,
    neighbourhood_licence: bool | None = None,
) -> dict[str, Any]:
    """``RELEASE_DATE_SET`` (details: release_date): the new expected release date.

    The checklist opening is re-evaluated at once (:func:`tick`): a date moved earlier whose
    opening day has come opens the checklist today. The caller learns it opened from
    ``state["checklist"]`` going from ``None`` to a checklist. ``neighbourhood_licence``, when
    given, updates the tag eligibility kept in the state. Refused (``release_date``): a date
    before the reception date, or a person already released from this spell.
    """
    check_date("release_date", release_date)
    check_date("today", today)
    if state["released_on"] is not None:
        raise CareError("release_date", f"the person was already released on "
                        f"{state['released_on']}; a new reception starts a new spell")
    _not_before_reception(state, "release_date", release_date)
    out = copy.deepcopy(dict(state))
    out["release_date"] = iso(release_date)
    entry = {"release_date": iso(release_date), "set_on": iso(today)}
    if entry not in out["release_dates"]:
        out["release_dates"].append(entry)
    flag = out["neighbourhood_licence"] if neighbourhood_licence is None else neighbourhood_licence
    out, _opened = tick(out, today, weeks=weeks, neighbourhood_licence=flag)
    return out


def _not_before_reception(state: Mapping[str, Any], field: str, on: date) -> None:
    received = day(state["received_on"])
    if received is not None and on < received:
        raise CareError(field, f"{on.isoformat()} is before the reception date "
                        f"{received.isoformat()}")


def checklist_opens(state: Mapping[str, Any], weeks: int = CHECKLIST_WEEKS) -> date | None:
    """The day the pre-release checklist is due to open: ``weeks`` before the release date;
    ``None`` while no release date is known."""
    if weeks < 0:
        raise CareError("weeks", f"{weeks} is negative")
    release = day(state["release_date"])
    return None if release is None else release - timedelta(weeks=weeks)


def _items(neighbourhood_licence: bool) -> dict[str, dict[str, Any]]:
    return {item: {"agency": agency, "status": OPEN, "by": None, "on": None}
            for item, agency in CHECKLIST_ITEMS.items()
            if item != TAG_FITTING or neighbourhood_licence}


def tick(
    state: Mapping[str, Any],
    today: date,
    *,
    weeks: int = CHECKLIST_WEEKS,
    neighbourhood_licence: bool,
) -> tuple[dict[str, Any], bool]:
    """A day passing: ``(state, opened)``; opens the checklist when its day has come, once.

    ``neighbourhood_licence`` is kept in the state. A licence found eligible for a tag after
    the checklist opened adds TAG_FITTING to it; one found not eligible later leaves the item
    for staff to mark NOT_NEEDED (removing tracked work silently would hide it).
    """
    check_date("today", today)
    out = copy.deepcopy(dict(state))
    out["neighbourhood_licence"] = bool(neighbourhood_licence)
    checklist = out["checklist"]
    if checklist is not None:
        if neighbourhood_licence and TAG_FITTING not in checklist["items"]:
            checklist["items"] = _items(True) | checklist["items"]  # keeps the shown order
        return out, False
    opens = checklist_opens(out, weeks)
    if out["released_on"] is not None or opens is None or today < opens:
        return out, False
    out["checklist"] = {"opened_on": iso(today), "scheduled_on": iso(opens),
                        "items": _items(out["neighbourhood_licence"])}
    return out, True


def mark_item(state: Mapping[str, Any], item: str, status: str, by: str,
              on: date) -> dict[str, Any]:
    """Record an item's status (OPEN, DONE or NOT_NEEDED), by whom and when.

    Refused: no checklist open (``item``); an item not on this checklist (``item``: e.g.
    TAG_FITTING for a licence not eligible for a tag); an unknown status; no ``by``; ``on``
    before the checklist opened.
    """
    check_date("on", on)
    check_choice("item", item, tuple(CHECKLIST_ITEMS), "a checklist item")
    check_choice("status", status, ITEM_STATUSES, "an item status")
    who = check_text("by", by)
    checklist = state["checklist"]
    if checklist is None:
        raise CareError("item", "the pre-release checklist is not open")
    if item not in checklist["items"]:
        raise CareError("item", f"{item} is not on this checklist (the licence is not "
                        "eligible for a tag)")
    if on < date.fromisoformat(checklist["opened_on"]):
        raise CareError("on", f"{on.isoformat()} is before the checklist opened "
                        f"({checklist['opened_on']})")
    out = copy.deepcopy(dict(state))
    out["checklist"]["items"][item].update({"status": status, "by": who, "on": iso(on)})
    return out


def on_release(state: Mapping[str, Any], released_on: date) -> tuple[dict[str, Any], list[str]]:
    """``RELEASED`` or ``RELEASED_ON_LICENCE``: ``(state, unready_items)``.

    ``unready_items`` are the checklist items still OPEN on release day, in checklist order;
    the caller raises an alert when there are any. A checklist never opened is opened on the
    release day, every item unready. The same release again returns the same answer.
    Refused (``released_on``): before the reception date; a second, different release date
    in one spell.
    """
    check_date("released_on", released_on)
    held = day(state["released_on"])
    if held is not None:
        if held == released_on:
            return copy.deepcopy(dict(state)), list(state["unready_on_release"] or [])
        raise CareError("released_on", f"the person was already released on "
                        f"{held.isoformat()}")
    _not_before_reception(state, "released_on", released_on)
    out = copy.deepcopy(dict(state))
    if out["checklist"] is None:
        out["checklist"] = {"opened_on": iso(released_on), "scheduled_on": None,
                            "items": _items(out["neighbourhood_licence"])}
    unready = [item for item, v in out["checklist"]["items"].items() if v["status"] == OPEN]
    out["released_on"] = iso(released_on)
    out["unready_on_release"] = unready
    return out, unready


# --- The handover ----------------------------------------------------------------------------


def handover(
    needs_state: Mapping[str, Any] | None,
    plan: Mapping[str, Any] | None,
    grade: Mapping[str, Any] | None,
    lead_officer: str | None,
    *,
    gate_state: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The one notification the community lead officer receives on release: the needs, the
    open plan actions, the risk grade (and, given ``gate_state``, the release, the checklist
    and whether a SASH flag is open).

    It carries health information (substance misuse and health needs, SASH), so
    ``health_information`` is True: route it only to a role for which
    :func:`may_share_health` holds. Refused (``lead_officer``): no lead officer to receive it.
    """
    officer = check_text("lead_officer", lead_officer)
    payload: dict[str, Any] = {
        "kind": "RELEASE_HANDOVER",
        "lead_officer": officer,
        "needs": needs_module.current(needs_state or needs_module.new()),
        "open_actions": plans.open_actions(plan),
        "risk_grade": _grade(grade),
        "health_information": True,
        "released_on": None, "checklist": None, "unready_items": None, "sash_open": None,
    }
    if gate_state is not None:
        checklist = gate_state["checklist"]
        payload.update({
            "released_on": gate_state["released_on"],
            "checklist": None if checklist is None else copy.deepcopy(checklist["items"]),
            "unready_items": list(gate_state["unready_on_release"] or []),
            "sash_open": sash_open(gate_state),
        })
    return payload


def _grade(grade: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if grade is None:
        return None
    graded_at = grade.get("graded_at")
    if isinstance(graded_at, datetime):
        graded_at = graded_at.astimezone(UTC).isoformat()  # JSON-able, like the dossier
    return {"rag": grade.get("rag"), "previous_rag": grade.get("previous_rag"),
            "reasons": list(grade.get("reasons") or []), "graded_at": graded_at}


# --- SASH ------------------------------------------------------------------------------------


def on_sash(state: Mapping[str, Any], event_type: str, on: date) -> dict[str, Any]:
    """``SASH_OPENED`` (a SASH case in custody), ``SELF_HARM_REPORTED`` (in the community) or
    ``SASH_CLOSED``. The caller routes an opening or a report to the named Offender Manager
    at once and flags it on the person's report (:func:`sash_flag`).

    A community self-harm report stays flagged until a ``SASH_CLOSED`` (from whichever agency
    holds the case): a flag that expired by itself could drop a person at risk silently.
    """
    check_choice("event_type", event_type, SASH_EVENTS, "a SASH event")
    check_date("on", on)
    out = copy.deepcopy(dict(state))
    entry = {"type": event_type, "on": iso(on)}
    if entry not in out["sash"]:
        out["sash"].append(entry)
    return out


def _sash_in_date_order(state: Mapping[str, Any]) -> list[dict[str, str]]:
    # Stable sort: events of one day keep their arrival order; a late event lands on its date.
    return sorted(state["sash"], key=lambda e: e["on"])


def sash_open(state: Mapping[str, Any]) -> bool:
    """Whether a SASH case or a self-harm report is open: the latest SASH event is not a
    closing."""
    events = _sash_in_date_order(state)
    return bool(events) and events[-1]["type"] != SASH_CLOSED


def sash_flag(state: Mapping[str, Any]) -> dict[str, str] | None:
    """The flag for the person's report: ``{"since", "source"}`` (the event that opened the
    current run), or ``None`` when nothing is open."""
    if not sash_open(state):
        return None
    events = _sash_in_date_order(state)
    start = len(events) - 1
    while start > 0 and events[start - 1]["type"] != SASH_CLOSED:
        start -= 1
    return {"since": events[start]["on"], "source": events[start]["type"]}


def may_share_health(isa_role: str) -> bool:
    """Whether the ISA lets ``isa_role`` receive health information (SASH, health needs).

    POLICE, PROBATION, PRISON, MENTAL_HEALTH and DRUG_ALCOHOL may; PARTNER_HOUSING,
    LOCAL_AUTHORITY, VOLUNTARY, YOT and any role not listed may not.
    """
    return isa_role in HEALTH_ROLES
