"""The transition plan's content: the steps by which IOM support is scaled back before the
licence ends. Pure: no I/O, no logging, standard library only.

Seed 003: "When an offender is ready to leave IOM a transition plan is put in place ... support
is gradually reduced". The transition itself (``TRANSITION_STARTED``, ``TRANSITION_OPENED``)
is dated by the lifecycle (``lifecycle.transition_opens``); this module holds what the plan
says: each step from a date, what is done, by whom, and how often contact is made.

Rules, chosen once:

* A plan has 1 to :data:`MAX_STEPS` steps, in strictly increasing date order (one step a day at
  most: two steps starting the same day would leave the contact level ambiguous).
* Every step starts inside the transition window: on or after the day the transition opens and
  on or before the licence end date (the last day on licence); a step on the licence end day
  is allowed, the day after is refused.
* Contact is scaled back step by step: each step's contact is no more frequent than the one
  before, and a plan of more than one step ends less frequent than it began.
* A new plan replaces the one held (the history of versions is kept, newest last).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from services.referrals.care.checks import (
    CareError,
    check_choice,
    check_day,
    check_text_within,
    iso,
)

#: Contact levels, most frequent first: "scaled back" moves down this list.
CONTACT_LEVELS: Final = ("DAILY", "SEVERAL_A_WEEK", "WEEKLY", "FORTNIGHTLY", "MONTHLY",
                         "NONE")
MAX_STEPS: Final = 12
MAX_TEXT: Final = 500
#: Plan versions kept per person (a plan is rewritten a handful of times at most).
KEPT_VERSIONS: Final = 10


def check_steps(steps: object, *, opens: date | None, licence_end: date | None
                ) -> list[dict[str, Any]]:
    """The steps of a plan as stored (dates as ISO text), or :class:`CareError` naming the
    step and field at fault (``steps[2].from``)."""
    if licence_end is None or opens is None:
        raise CareError("licence_end", "no licence end date is known: a transition plan "
                        "needs one")
    if not isinstance(steps, Sequence) or isinstance(steps, str) or not steps:
        raise CareError("steps", "give at least one step")
    if len(steps) > MAX_STEPS:
        raise CareError("steps", f"at most {MAX_STEPS} steps, got {len(steps)}")
    kept: list[dict[str, Any]] = []
    for n, step in enumerate(steps):
        name = f"steps[{n}]"
        if not isinstance(step, Mapping):
            raise CareError(name, "expected an object with from, action, who, contact")
        starts = _day(f"{name}.from", step.get("from"))
        if starts < opens:
            raise CareError(f"{name}.from", f"{starts} is before the transition opens "
                            f"({opens})")
        if starts > licence_end:
            raise CareError(f"{name}.from", f"{starts} is after the licence ends "
                            f"({licence_end})")
        contact = check_choice(f"{name}.contact", step.get("contact"), CONTACT_LEVELS,
                               "a contact level")
        if kept:
            before = kept[-1]
            if starts <= date.fromisoformat(before["from"]):
                raise CareError(f"{name}.from", f"{starts} is not after the step before "
                                f"({before['from']})")
            if CONTACT_LEVELS.index(contact) < CONTACT_LEVELS.index(before["contact"]):
                raise CareError(f"{name}.contact", f"{contact} is more frequent than the "
                                f"step before ({before['contact']}): contact is scaled "
                                "back, not up")
        kept.append({"from": iso(starts), "action": _text(f"{name}.action", step.get("action")),
                     "who": _text(f"{name}.who", step.get("who")), "contact": contact})
    if len(kept) > 1 and kept[-1]["contact"] == kept[0]["contact"]:
        raise CareError("steps", "contact is never scaled back: the last step must be less "
                        "frequent than the first")
    return kept


def plan_id(person_id: str, steps: Sequence[Mapping[str, Any]], by: str) -> str:
    text = f"{person_id}|{by}|" + "|".join(
        f"{s['from']}/{s['contact']}/{s['who']}/{s['action']}" for s in steps)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def current_step(steps: Sequence[Mapping[str, Any]], today: date) -> dict[str, Any] | None:
    """The step in force today: the last one started on or before today; None before the
    first."""
    found = None
    for step in steps:
        if date.fromisoformat(step["from"]) <= today:
            found = dict(step)
    return found



def _day(field: str, value: object) -> date:
    return check_day(field, value)


def _text(field: str, value: object) -> str:
    return check_text_within(field, value, MAX_TEXT)
