"""Intervention plans: actions tied to needs and pathways, agreed by the Offender Manager,
reviewed on a cadence tied to the RAG grade. Pure: no I/O, no logging, standard library only.

Seed 004: "Its purpose is to develop a sustained intervention plan to reduce offending";
"There should always be a named person (Offender Manager) who is the single point of contact
for an offender's intervention plan. Any planned intervention with an offender will be with
the agreement of the Offender Manager"; "Intervention plans will be subject to regular
review. Circumstances can quickly change and the plan needs to be flexible enough if an
offender begins offending and requires immediate action." Seed 003: "Criminogenic needs are
responded to through priority access to services": each action names the partner agency
that delivers it, and :func:`actions_for_agency` is that agency's list.

A plan is a JSON-able dict:

.. code-block:: python

    {
        "person_id": "P1",
        "opened_on": "2025-06-02",
        "actions": [  # in the order added; action_id unique
            {"action_id", "need", "pathway", "partner_agency", "description",
             "due": "2025-07-01", "agreed_by", "added_on", "outcome": str | None,
             "outcome_on": str | None},
        ],
        "reviews": [  # in date order
            {"reviewed_by", "reviewed_on", "next_review": str | None},
        ],
        "review_now_since": str | None,  # the grade rose that day; cleared by a review
    }

Review cadence (days, settings with these defaults): RED 7 (weekly, the rhythm of the MAP
meeting where the cohort is reviewed), AMBER 28, GREEN 56. An ungraded person gets the AMBER
cadence: a missing grade is not a reason to review less often, nor evidence of high risk.
Counting is from the last review, or from the day the plan was opened. A rise in grade
(GREEN -> AMBER -> RED) makes a review due at once; a fall only lengthens the cadence from the
next review on. A first grade (no previous grade) is not a rise: it sets the cadence.

"A review date in the past", refused: the next review date a reviewer may set when recording
a review (``next_review``) must be after the review and not before today. A reviewer may
bring the next review forward, never push it back: the grade's cadence still applies, and
the earlier of the two is due. A review itself is refused when dated in the future, before
the plan was opened, or before the last recorded review (the history is kept in order).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Final

from services.referrals.care.checks import (
    PATHWAYS,
    RAGS,
    CareError,
    check_choice,
    check_date,
    check_text,
    day,
    iso,
    same_person,
)
from services.referrals.care.needs import NEEDS
from services.referrals.case import lifecycle

RED_REVIEW_DAYS: Final = 7
AMBER_REVIEW_DAYS: Final = 28
GREEN_REVIEW_DAYS: Final = 56

#: Higher is riskier: a "rise" is a move up this order.
_RISK: Final = {"GREEN": 0, "AMBER": 1, "RED": 2}
#: Case states that can have their pathway changed (not REFERRED, not DEREGISTERED).
_MANAGED: Final = ("REGISTERED", "TRANSITION", "SUSPENDED")


def new_plan(person_id: str, opened_on: date) -> dict[str, Any]:
    """An empty plan for ``person_id``, opened (and so first due for review from) ``opened_on``."""
    check_text("person_id", person_id)
    check_date("opened_on", opened_on)
    return {"person_id": person_id, "opened_on": iso(opened_on), "actions": [], "reviews": [],
            "review_now_since": None}


# --- Actions -----------------------------------------------------------------------------------


def add_action(
    plan: Mapping[str, Any],
    *,
    action_id: str,
    need: str,
    pathway: str,
    partner_agency: str,
    description: str,
    due: date,
    agreed_by: str | None,
    lead_officer: str | None,
    today: date,
) -> dict[str, Any]:
    """The plan with one more action.

    Refused (:class:`CareError`, naming the field): no named Offender Manager
    (``lead_officer``); no agreement, or agreement by anyone but the Offender Manager
    (``agreed_by``: "Any planned intervention ... will be with the agreement of the Offender
    Manager"); a need outside the seven (``need``); an unknown pathway (``pathway``); no
    partner agency or description; a due date before today (``due``); an ``action_id``
    already in the plan with other content (the same action again is a no-op).
    """
    check_date("today", today)
    check_date("due", due)
    action = {
        "action_id": check_text("action_id", action_id),
        "need": check_choice("need", need, NEEDS, "one of the 7 pathway needs"),
        "pathway": check_choice("pathway", pathway, PATHWAYS, "an IOM pathway"),
        "partner_agency": check_text("partner_agency", partner_agency),
        "description": check_text("description", description),
        "due": iso(due),
        "agreed_by": _agreement(agreed_by, lead_officer),
        "added_on": iso(today),
        "outcome": None,
        "outcome_on": None,
    }
    if due < today:
        raise CareError("due", f"{due.isoformat()} is before today {today.isoformat()}")
    out = copy.deepcopy(dict(plan))
    held = _find(out, action["action_id"])
    if held is not None:
        if _same_action(held, action):
            return out  # the same action submitted again
        raise CareError("action_id", f"{action_id!r} is already in the plan")
    out["actions"].append(action)
    return out


def _agreement(agreed_by: str | None, lead_officer: str | None) -> str:
    if lead_officer is None or not lead_officer.strip():
        raise CareError("lead_officer", "no named Offender Manager, so no one can agree "
                        "a planned intervention")
    if agreed_by is None or not agreed_by.strip():
        raise CareError("agreed_by", "no planned intervention without the agreement of the "
                        f"Offender Manager ({lead_officer})")
    if not same_person(agreed_by, lead_officer):
        raise CareError("agreed_by", f"{agreed_by!r} is not the named Offender Manager "
                        f"({lead_officer}); only they can agree a planned intervention")
    return agreed_by.strip()


def _find(plan: Mapping[str, Any], action_id: str) -> dict[str, Any] | None:
    return next((a for a in plan["actions"] if a["action_id"] == action_id), None)


def _same_action(held: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    # added_on differs on a resubmission another day; the action is the same regardless.
    ignore = ("added_on", "outcome", "outcome_on")
    return all(held[k] == new[k] for k in new if k not in ignore)


def record_outcome(
    plan: Mapping[str, Any], action_id: str, outcome: str, on: date, *, today: date | None = None
) -> dict[str, Any]:
    """Record the outcome of an action, which closes it.

    Refused: an unknown ``action_id``; a blank ``outcome``; ``on`` before the action was added
    or (when ``today`` is given) after today; a second, different outcome (the first stands:
    the report must not be rewritten; the same outcome again is a no-op).
    """
    check_date("on", on)
    text = check_text("outcome", outcome)
    out = copy.deepcopy(dict(plan))
    action = _find(out, action_id)
    if action is None:
        raise CareError("action_id", f"{action_id!r} is not in the plan")
    if on < date.fromisoformat(action["added_on"]):
        raise CareError("on", f"{on.isoformat()} is before the action was added "
                        f"({action['added_on']})")
    if today is not None and on > check_date("today", today):
        raise CareError("on", f"{on.isoformat()} is after today {today.isoformat()}")
    if action["outcome"] is not None:
        if (action["outcome"], action["outcome_on"]) == (text, iso(on)):
            return out
        raise CareError("action_id", f"{action_id!r} already has an outcome, recorded on "
                        f"{action['outcome_on']}")
    action["outcome"], action["outcome_on"] = text, iso(on)
    return out


def open_actions(plan: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The actions without an outcome, soonest due first (then by id, for a stable order)."""
    if plan is None:
        return []
    kept = [dict(a) for a in plan["actions"] if a["outcome"] is None]
    return sorted(kept, key=lambda a: (a["due"], a["action_id"]))


def actions_for_agency(plans_by_person: Mapping[str, Mapping[str, Any]],
                       agency: str) -> list[dict[str, Any]]:
    """A partner agency's "my actions": open actions it delivers, over every person's plan,
    soonest due first. Each is the action plus ``person_id``. The agency's name is matched
    ignoring case and spacing."""
    wanted = check_text("agency", agency)
    found = [
        {"person_id": person_id, **action}
        for person_id, plan in plans_by_person.items()
        for action in open_actions(plan)
        if same_person(action["partner_agency"], wanted)
    ]
    return sorted(found, key=lambda a: (a["due"], a["person_id"], a["action_id"]))


# --- Reviews -----------------------------------------------------------------------------------


def review_interval_days(
    rag: str | None,
    *,
    red: int = RED_REVIEW_DAYS,
    amber: int = AMBER_REVIEW_DAYS,
    green: int = GREEN_REVIEW_DAYS,
) -> int:
    """Days between plan reviews for a grade; ungraded (``None``) gets the AMBER cadence."""
    if rag is None:
        return amber
    check_choice("rag", rag, RAGS, "a RAG grade")
    return {"RED": red, "AMBER": amber, "GREEN": green}[rag]


def review_due(
    plan: Mapping[str, Any],
    rag: str | None,
    today: date,
    *,
    red: int = RED_REVIEW_DAYS,
    amber: int = AMBER_REVIEW_DAYS,
    green: int = GREEN_REVIEW_DAYS,
) -> date:
    """The day the next plan review is due (on that day it is on time; overdue after).

    The earliest of: the last review (or the opening) plus the grade's interval; the next
    review date the last reviewer set; the day the grade rose, if no review since.
    """
    check_date("today", today)
    opened = date.fromisoformat(plan["opened_on"])
    if today < opened:
        raise CareError("today", f"{today.isoformat()} is before the plan was opened "
                        f"({plan['opened_on']})")
    last = plan["reviews"][-1] if plan["reviews"] else None
    anchor = date.fromisoformat(last["reviewed_on"]) if last else opened
    candidates = [anchor + timedelta(days=review_interval_days(rag, red=red, amber=amber,
                                                               green=green))]
    if last and last["next_review"]:
        candidates.append(date.fromisoformat(last["next_review"]))
    if plan["review_now_since"]:
        candidates.append(date.fromisoformat(plan["review_now_since"]))
    return min(candidates)


def review_overdue(plan: Mapping[str, Any], rag: str | None, today: date, **cadence: int) -> bool:
    return today > review_due(plan, rag, today, **cadence)


def rose(rag: str, previous_rag: str | None) -> bool:
    """Whether the grade went up (GREEN < AMBER < RED); a first grade is not a rise."""
    check_choice("rag", rag, RAGS, "a RAG grade")
    if previous_rag is None:
        return False
    check_choice("previous_rag", previous_rag, RAGS, "a RAG grade")
    return _RISK[rag] > _RISK[previous_rag]


def on_grade(plan: Mapping[str, Any], rag: str, previous_rag: str | None,
             today: date) -> tuple[dict[str, Any], bool]:
    """A new grade: ``(plan, review_now)``. A rise makes a review due today ("the plan needs to
    be flexible enough if an offender begins offending and requires immediate action"); the
    caller alerts the Offender Manager when ``review_now``. A fall or a repeat changes nothing
    (the cadence follows the grade passed to :func:`review_due`)."""
    check_date("today", today)
    out = copy.deepcopy(dict(plan))
    if not rose(rag, previous_rag):
        return out, False
    held = day(out["review_now_since"])
    # Keep the earliest outstanding rise: a second rise before a review is not a reason to
    # make the overdue review look newer.
    out["review_now_since"] = iso(today if held is None else min(held, today))
    return out, True


def record_review(
    plan: Mapping[str, Any],
    reviewed_by: str,
    reviewed_on: date,
    today: date,
    *,
    next_review: date | None = None,
) -> dict[str, Any]:
    """Record a review of the plan; see the module docstring for what is refused and why."""
    by = check_text("reviewed_by", reviewed_by)
    check_date("reviewed_on", reviewed_on)
    check_date("today", today)
    _check_review_dates(plan, reviewed_on, today, next_review)
    entry = {"reviewed_by": by, "reviewed_on": iso(reviewed_on), "next_review": iso(next_review)}
    out = copy.deepcopy(dict(plan))
    if out["reviews"] and out["reviews"][-1] == entry:
        return out  # the same review submitted again
    out["reviews"].append(entry)
    since = day(out["review_now_since"])
    if since is not None and reviewed_on >= since:
        out["review_now_since"] = None  # the review the rise called for has happened
    return out


def _check_review_dates(plan: Mapping[str, Any], reviewed_on: date, today: date,
                        next_review: date | None) -> None:
    if reviewed_on > today:
        raise CareError("reviewed_on", f"{reviewed_on.isoformat()} is after today "
                        f"{today.isoformat()}")
    if reviewed_on < date.fromisoformat(plan["opened_on"]):
        raise CareError("reviewed_on", f"{reviewed_on.isoformat()} is before the plan was "
                        f"opened ({plan['opened_on']})")
    if plan["reviews"] and iso(reviewed_on) < plan["reviews"][-1]["reviewed_on"]:
        raise CareError("reviewed_on", f"{reviewed_on.isoformat()} is before the last review "
                        f"({plan['reviews'][-1]['reviewed_on']})")
    if next_review is None:
        return
    check_date("next_review", next_review)
    if next_review < today:
        raise CareError("next_review", f"{next_review.isoformat()} is in the past (today is "
                        f"{today.isoformat()})")
    if next_review <= reviewed_on:
        raise CareError("next_review", f"{next_review.isoformat()} is not after the review "
                        f"({reviewed_on.isoformat()})")


# --- Pathway -----------------------------------------------------------------------------------


def change_pathway(case_like: Mapping[str, Any], new_pathway: str, reason: str,
                   today: date) -> dict[str, Any]:
    """A ``CohortChange`` PATHWAY_CHANGED for a managed person (seed 004: "Many offenders will
    move between rehabilitate & resettle and catch & control on a regular basis").

    ``case_like`` has ``person_id``, ``cohort``, ``pathway``, ``lead_officer`` (and optionally
    ``state``). The record is shaped as :func:`lifecycle.cohort_change` (``effective_at`` is
    midnight UTC of ``today``, a datetime for the codec); its reason names the pathway left,
    since the record itself carries only the new one. Refused: an unknown pathway, the pathway
    already held, a blank reason, a person not on IOM (``state``).
    """
    check_date("today", today)
    target = check_choice("pathway", new_pathway, PATHWAYS, "an IOM pathway")
    why = check_text("reason", reason)
    state = case_like.get("state")
    if state is not None and state not in _MANAGED:
        raise CareError("state", f"the person is {state}, not managed on IOM")
    held = case_like.get("pathway")
    if held == target:
        raise CareError("pathway", f"the person is already on {target}")
    case = lifecycle.Case(
        person_id=check_text("person_id", case_like.get("person_id")),
        state=lifecycle.CaseState.REGISTERED,  # not read by cohort_change
        cohort=check_text("cohort", case_like.get("cohort")),
        pathway=target,
        lead_officer=case_like.get("lead_officer"),
    )
    return lifecycle.cohort_change(case, "PATHWAY_CHANGED", f"{held or 'no pathway'} -> "
                                   f"{target}: {why}", today)
