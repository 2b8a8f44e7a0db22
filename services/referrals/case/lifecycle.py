"""The IOM case lifecycle after the panel: supervisor reviews, MAP changes, transition, end.

Pure module: no I/O, no logging, standard library only. The Faust agents feed it the facts they
hold (dates, grades, events) and publish what it returns, so every rule here is unit-testable
with plain dates and an injected "today".

The rules come from the practitioner guide (seed 003) and issue 5:

* **Management report reviews** ("regularly reviewed by the lead officer's supervisor to ensure
  that all intervention is commensurate with the risk grading"): a review is due 28 days after
  the last one, 14 days while the person is graded RED; the first is due from registration.
* **When IOM ends**: a transition plan opens 8 weeks (a setting) before the licence end date;
  completing the licence (``LICENCE_ENDED`` or the end date passing) de-registers with the
  rationale; a person imprisoned again is suspended and, on release, offered further support
  (a prompt for a new referral).
* **The weekly MAP meeting**: what changed since the last meeting (:func:`map_pack_changes`).

Date conventions (chosen once, used everywhere here):

* A date that is "due" is still on time on that day; it is overdue from the next day.
* ``licence_end`` is the last day the person is on licence (the licence/sentence expiry date),
  so on that day they are still supervised; the date "has passed" from the next day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# --- Settings (defaults; the service passes its configured values) --------------------------

#: Days between supervisor reviews of the management report.
REVIEW_DAYS: Final = 28
#: Days between reviews while RED: a higher risk needs its interventions checked twice as often.
RED_REVIEW_DAYS: Final = 14
#: Weeks before the licence end date that the transition plan opens (a setting in issue 5).
TRANSITION_WEEKS: Final = 8

RAGS: Final = ("RED", "AMBER", "GREEN")

# --- Events -----------------------------------------------------------------------------------

#: The ``OffenderEvent.type`` symbols of contract v1. Only some move the lifecycle; the rest
#: (arrests, drug tests, appointments, ...) belong on the management report timeline and leave
#: the case state alone.
OFFENDER_EVENT_TYPES: Final = frozenset(
    {
        "ARRESTED",
        "CHARGED",
        "CONVICTED",
        "SENTENCED_CUSTODY",
        "SENTENCED_COMMUNITY",
        "RELEASED_ON_LICENCE",
        "RECALLED",
        "LICENCE_ENDED",
        "BREACH_RAISED",
        "APPOINTMENT_MISSED",
        "APPOINTMENT_ATTENDED",
        "DRUG_TEST_POSITIVE",
        "DRUG_TEST_NEGATIVE",
        "ACCOMMODATION_LOST",
        "ACCOMMODATION_SECURED",
        "EMPLOYMENT_STARTED",
        "EMPLOYMENT_ENDED",
        "INTERVENTION_COMPLETED",
        "INTELLIGENCE_RECEIVED",
        "HIT_CONFIRMED",
        "OTHER",
    }
)

#: The daily timer of the injectable clock: "a date passed". It never raises, in any state, so
#: a timer can be run over every case without first asking which ones it applies to.
TICK: Final = "TICK"
#: The MACC panel accepted the person's referral (``PanelDecision`` outcome ACCEPTED).
PANEL_ACCEPTED: Final = "PANEL_ACCEPTED"
#: A new referral was made for a suspended person (the answer to the further-support prompt).
REFERRAL_RECEIVED: Final = "REFERRAL_RECEIVED"

LIFECYCLE_EVENTS: Final = frozenset({TICK, PANEL_ACCEPTED, REFERRAL_RECEIVED})

#: "Imprisoned again": a new custodial sentence, or a recall to prison on the current licence.
#: Both take the person out of the community, so IOM management is suspended either way.
IMPRISONED: Final = frozenset({"SENTENCED_CUSTODY", "RECALLED"})


class CaseState(StrEnum):
    """Where a person is in the IOM lifecycle."""

    REFERRED = "REFERRED"  # a referral awaits the MACC panel
    REGISTERED = "REGISTERED"  # accepted, managed by a lead officer
    TRANSITION = "TRANSITION"  # licence ends within the transition window; support scales back
    SUSPENDED = "SUSPENDED"  # imprisoned again; the case waits for release and a new referral
    DEREGISTERED = "DEREGISTERED"  # IOM ended; terminal (a later referral opens a new case)


class ActionKind(StrEnum):
    """What the caller must do with an :class:`Action`."""

    COHORT_CHANGE = "COHORT_CHANGE"  # publish ``cohort_change`` on iom.cohort.changes
    NEW_REFERRAL_PROMPT = "NEW_REFERRAL_PROMPT"  # ask the lead officer to consider a referral
    REPORT_NOTE = "REPORT_NOTE"  # record ``message`` on the management report timeline


@dataclass(frozen=True, slots=True)
class Action:
    """One thing the lifecycle asks the service to do; ``message`` is for humans."""

    kind: ActionKind
    message: str
    cohort_change: dict[str, Any] | None = None


class InvalidTransition(ValueError):
    """The event cannot happen to a case in this state. The message names both and says why."""

    def __init__(self, person_id: str, state: CaseState, event: str, why: str) -> None:
        super().__init__(f"person {person_id}: {event} is not valid in state {state}: {why}")
        self.person_id = person_id
        self.state = state
        self.event = event
        self.why = why


@dataclass(frozen=True, slots=True)
class Case:
    """A person's IOM case: the state and the facts a ``CohortChange`` must carry.

    ``cohort``, ``pathway`` and ``lead_officer`` are copied into every ``CohortChange`` so a
    reader of ``iom.cohort.changes`` sees the management in force (for a de-registration: the
    cohort left, as the schema says). ``suspended_on`` is the day of the last imprisonment;
    ``released_on`` the day of the last release, cleared on imprisonment, so a repeated release
    event does not prompt twice.
    """

    person_id: str
    state: CaseState
    cohort: str
    pathway: str | None = None
    lead_officer: str | None = None
    licence_end: date | None = None
    suspended_on: date | None = None
    released_on: date | None = None


# --- Supervisor reviews -----------------------------------------------------------------------


def review_interval(rag: str | None) -> int:
    """Days between reviews for the current grade; an ungraded person gets the normal 28.

    Ungraded is not treated as RED: the risk service grades every registered person, and a
    missing grade is reported as such elsewhere rather than silently doubling the cadence.
    """
    if rag is not None and rag not in RAGS:
        raise ValueError(f"rag: unknown grade {rag!r}; expected one of {', '.join(RAGS)} or None")
    return RED_REVIEW_DAYS if rag == "RED" else REVIEW_DAYS


def review_due(
    last_review: date | None,
    registered_on: date,
    rag: str | None,
    today: date,
    *,
    review_days: int = REVIEW_DAYS,
    red_review_days: int = RED_REVIEW_DAYS,
) -> date:
    """The date the next supervisor review of the management report is due.

    The interval is counted from the last review, or from registration when there has been
    none; a review dated before the current registration belongs to an earlier registration
    and is ignored (the new registration starts its own cadence). The interval is the one for
    the grade held *today*: a person who turns RED is reviewed on the 14-day cadence from their
    last review at once, which may make a review due (or overdue) immediately: that is
    intended, since a RED grade is exactly when interventions must be re-checked.
    """
    review_interval(rag)  # validates the grade
    if registered_on > today:
        raise ValueError(
            f"registered_on: {registered_on.isoformat()} is after today {today.isoformat()}"
        )
    if last_review is not None and last_review > today:
        raise ValueError(
            f"last_review: {last_review.isoformat()} is after today {today.isoformat()}"
        )
    anchor = registered_on
    if last_review is not None and last_review >= registered_on:
        anchor = last_review
    days = red_review_days if rag == "RED" else review_days
    return anchor + timedelta(days=days)


def overdue(
    last_review: date | None,
    registered_on: date,
    rag: str | None,
    today: date,
    *,
    review_days: int = REVIEW_DAYS,
    red_review_days: int = RED_REVIEW_DAYS,
) -> bool:
    """Whether the review is overdue today: on the due date it is still on time."""
    due = review_due(
        last_review,
        registered_on,
        rag,
        today,
        review_days=review_days,
        red_review_days=red_review_days,
    )
    return today > due


# --- Transition and de-registration -----------------------------------------------------------


def transition_opens(licence_end: date | None, weeks: int = TRANSITION_WEEKS) -> date | None:
    """The day the transition plan opens: ``weeks`` before the licence end date.

    ``None`` when the licence end is not known (no transition can be planned yet).
    """
    if licence_end is None:
        return None
    if weeks < 0:
        raise ValueError(f"weeks: {weeks} is negative")
    return licence_end - timedelta(weeks=weeks)


def licence_passed(licence_end: date | None, today: date) -> bool:
    """Whether the licence end date has passed (the day after it; see the module docstring)."""
    return licence_end is not None and today > licence_end


def cohort_change(case: Case, change: str, reason: str, today: date) -> dict[str, Any]:
    """A ``CohortChange`` record (contract v1) for ``case``, effective at the start of ``today``.

    ``effective_at`` is midnight UTC of the day: the lifecycle works in dates, and the start of
    the day sorts before anything else recorded that day.
    """
    record = {
        "person_id": case.person_id,
        "change": change,
        "cohort": case.cohort,
        "pathway": case.pathway,
        "lead_officer": case.lead_officer,
        "reason": reason,
        "effective_at": datetime.combine(today, time.min, tzinfo=UTC),
    }
    return {**record, "change_id": change_id(record)}


def change_id(change: Mapping[str, Any]) -> str:
    """``CohortChange.change_id``: the same change (person, kind, effective time) always has
    the same id, so a change published again after a crash is recognised as the same."""
    at = change["effective_at"].astimezone(UTC)
    millis = (at - EPOCH) // timedelta(milliseconds=1)
    text = f"{change['person_id']}|{change['change']}|{millis}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _deregister(case: Case, reason: str, today: date) -> tuple[Case, list[Action]]:
    change = cohort_change(case, "DEREGISTERED", reason, today)
    return replace(case, state=CaseState.DEREGISTERED), [
        Action(ActionKind.COHORT_CHANGE, f"deregistered: {reason}", change)
    ]


def _on_tick(case: Case, today: date, weeks: int) -> tuple[Case, list[Action]]:
    # Only a managed person in the community is moved by the calendar. A suspended person's
    # licence end is unreliable (a new sentence sets a new one), so only an explicit
    # LICENCE_ENDED ends a suspended case.
    if case.state not in (CaseState.REGISTERED, CaseState.TRANSITION):
        return case, []
    end = case.licence_end
    if end is None:
        return case, []
    if licence_passed(end, today):
        # Missed timers (a restart, a late registration) go straight to de-registration: a
        # transition plan for a licence already over would be meaningless.
        return _deregister(
            case,
            f"licence period completed: licence end date {end.isoformat()} has passed; "
            "IOM ends when the licence period is completed",
            today,
        )
    opens = transition_opens(end, weeks)
    if case.state is CaseState.REGISTERED and opens is not None and today >= opens:
        reason = (
            f"transition plan opened {weeks} weeks before the licence end date "
            f"{end.isoformat()}: support is scaled back gradually before de-registration"
        )
        change = cohort_change(case, "TRANSITION_STARTED", reason, today)
        return replace(case, state=CaseState.TRANSITION), [
            Action(ActionKind.COHORT_CHANGE, reason, change)
        ]
    return case, []


def can_apply(state: CaseState, event: str) -> bool:
    """Whether :func:`apply` accepts ``event`` in ``state`` (so a consumer can skip, not catch)."""
    try:
        _check(Case("?", state, "UNKNOWN"), event)
    except InvalidTransition:
        return False
    return True


def _check(case: Case, event: str) -> None:
    """Raise :class:`InvalidTransition` (or ``ValueError`` for an unknown event)."""
    if event not in OFFENDER_EVENT_TYPES and event not in LIFECYCLE_EVENTS:
        raise ValueError(f"event: unknown event type {event!r}")
    state = case.state

    def invalid(why: str) -> InvalidTransition:
        return InvalidTransition(case.person_id, state, event, why)

    if event == TICK:
        return
    if state is CaseState.DEREGISTERED:
        if event in OFFENDER_EVENT_TYPES and not _moves_lifecycle(event):
            return
        raise invalid("the case is closed; a new referral opens a new case")
    if event == PANEL_ACCEPTED and state is not CaseState.REFERRED:
        raise invalid("only a referred person can be accepted by the panel")
    if event == REFERRAL_RECEIVED and state is not CaseState.SUSPENDED:
        raise invalid(
            "a new referral joins an open case only when it is suspended"
            " (after imprisonment); other referrals go through intake"
        )
    if state is CaseState.REFERRED and _moves_lifecycle(event):
        raise invalid("the person is not registered yet; the referral awaits the panel")
    if event == "RELEASED_ON_LICENCE" and state is CaseState.TRANSITION:
        raise invalid("a person in transition is already in the community on licence")


def _moves_lifecycle(event: str) -> bool:
    return event in IMPRISONED or event in ("RELEASED_ON_LICENCE", "LICENCE_ENDED")


def apply(
    case: Case,
    event: str,
    today: date,
    *,
    licence_end: date | None = None,
    transition_weeks: int = TRANSITION_WEEKS,
    rationale: str | None = None,
) -> tuple[Case, list[Action]]:
    """Apply one event to a case on ``today``: the new case and the actions to carry out.

    ``event`` is an ``OffenderEvent.type`` or one of :data:`LIFECYCLE_EVENTS` (:data:`TICK`
    for "a date passed"). ``licence_end`` is the licence end date carried by a
    ``RELEASED_ON_LICENCE`` event (the new licence); ``rationale`` is the officer's words,
    added to a de-registration's reason. Offender events that do not move the lifecycle
    (arrests, drug tests, ...) return the case unchanged with no actions. Transitions:

    ====================  ==========================================  ========================
    state                 event                                       result
    ====================  ==========================================  ========================
    REFERRED              PANEL_ACCEPTED                              REGISTERED
    REGISTERED            TICK on/after licence end - 8 weeks         TRANSITION (+ change)
    REGISTERED/TRANSITION TICK after the licence end date             DEREGISTERED (+ change)
    REGISTERED/TRANSITION SENTENCED_CUSTODY, RECALLED                 SUSPENDED
    REGISTERED            RELEASED_ON_LICENCE                         REGISTERED (licence set)
    any open state        LICENCE_ENDED                               DEREGISTERED (+ change)
    SUSPENDED             SENTENCED_CUSTODY, RECALLED                 SUSPENDED (no change)
    SUSPENDED             RELEASED_ON_LICENCE                         SUSPENDED + prompt
    SUSPENDED             REFERRAL_RECEIVED                           REFERRED
    ====================  ==========================================  ========================

    "Any open state" is REGISTERED, TRANSITION and SUSPENDED. Imprisonment of a suspended
    person changes nothing while they are still inside; after a release (``released_on`` set)
    it is a new imprisonment, so the next release prompts again. Everything else that moves the
    lifecycle raises :class:`InvalidTransition`; a ``TICK`` never raises.
    """
    _check(case, event)
    if event == TICK:
        return _on_tick(case, today, transition_weeks)
    state = case.state

    if event == PANEL_ACCEPTED:
        # The panel-decision publisher writes the REGISTERED CohortChange (it holds the
        # decision's cohort, pathway and lead officer); publishing here too would duplicate it.
        return replace(case, state=CaseState.REGISTERED), [
            Action(ActionKind.REPORT_NOTE, "registered: accepted by the selection panel")
        ]
    if event == REFERRAL_RECEIVED:
        return replace(case, state=CaseState.REFERRED), [
            Action(ActionKind.REPORT_NOTE, "new referral received after imprisonment")
        ]
    if event == "LICENCE_ENDED":
        reason = "licence period completed (LICENCE_ENDED); IOM ends with the licence"
        if rationale:
            reason = f"{reason}: {rationale}"
        return _deregister(case, reason, today)
    if event in IMPRISONED:
        if state is CaseState.SUSPENDED and case.released_on is None:
            # e.g. recalled, then sentenced for the new offence: still in custody, still
            # suspended; nothing new to publish.
            return case, [Action(ActionKind.REPORT_NOTE, f"{event} while suspended")]
        # Registered/in transition, or released since the suspension and imprisoned again:
        # a new imprisonment, so the next release prompts again.
        return replace(case, state=CaseState.SUSPENDED, suspended_on=today, released_on=None), [
            Action(
                ActionKind.REPORT_NOTE,
                f"suspended: imprisoned again ({event}); IOM can offer further support on release",
            )
        ]
    if event == "RELEASED_ON_LICENCE":
        new_end = licence_end if licence_end is not None else case.licence_end
        if state is CaseState.REGISTERED:
            # Registered while in custody ahead of release: the case carries on, with the
            # licence that release starts.
            return replace(case, licence_end=new_end, released_on=today), [
                Action(ActionKind.REPORT_NOTE, "released on licence")
            ]
        # SUSPENDED: the guide's "IOM can offer individuals the opportunity for further support
        # on release". Re-registration needs a panel decision, so the case stays suspended and
        # the lead officer is prompted to refer. Kafka delivers at least once: a release
        # already recorded since the imprisonment (released_on is cleared on imprisonment) is
        # a repeat and does not prompt again.
        if case.released_on is not None:
            return replace(case, licence_end=new_end), []
        released = replace(case, licence_end=new_end, released_on=today)
        return released, [
            Action(
                ActionKind.NEW_REFERRAL_PROMPT,
                "offer further support: new referral prompt (released on licence after "
                "imprisonment while on IOM)",
            )
        ]
    return case, []


# --- Weekly MAP meeting -----------------------------------------------------------------------

#: Grade order for the pack: the highest risk first, ungraded last.
GRADE_ORDER: Final[Mapping[str | None, int]] = {"RED": 0, "AMBER": 1, "GREEN": 2, None: 3}


@dataclass(frozen=True, slots=True)
class CohortMember:
    """A person on the cohort as the MAP pack needs them.

    ``rag`` is the current grade (None: not graded yet). Only open cases (REGISTERED,
    TRANSITION, SUSPENDED) are on the cohort; others passed in are ignored.
    """

    person_id: str
    force: str
    state: CaseState
    registered_on: date
    rag: str | None = None
    licence_end: date | None = None
    last_review: date | None = None
    lead_officer: str | None = None


@dataclass(frozen=True, slots=True)
class GradeChange:
    """A ``RiskGrade`` that changed a person's grade, on the day it was graded."""

    person_id: str
    rag: str
    previous_rag: str | None
    graded_on: date


@dataclass(frozen=True, slots=True)
class Incident:
    """A GPS hit (``CrimeHit``, ref = crime_ref) or a zone breach (``ZoneBreach``, ref = zone)."""

    person_id: str
    incident_id: str
    ref: str
    detected_on: date


@dataclass(frozen=True, slots=True)
class MapChanges:
    """What changed since the last MAP meeting. Each list is ordered by force, then grade
    (RED first), then date, then person, so a pack reads in the order the meeting works."""

    since: date
    until: date
    new_reds: list[GradeChange] = field(default_factory=list)
    hits: list[Incident] = field(default_factory=list)
    breaches: list[Incident] = field(default_factory=list)
    new_registrations: list[CohortMember] = field(default_factory=list)
    licences_ending: list[CohortMember] = field(default_factory=list)
    overdue_reviews: list[CohortMember] = field(default_factory=list)


OPEN_STATES: Final = frozenset({CaseState.REGISTERED, CaseState.TRANSITION, CaseState.SUSPENDED})


def map_pack_changes(
    previous_meeting: date,
    today: date,
    members: Iterable[CohortMember],
    grade_changes: Iterable[GradeChange] = (),
    hits: Iterable[Incident] = (),
    breaches: Iterable[Incident] = (),
    *,
    ending_weeks: int = TRANSITION_WEEKS,
    review_days: int = REVIEW_DAYS,
    red_review_days: int = RED_REVIEW_DAYS,
) -> MapChanges:
    """What changed on the cohort since the last weekly MAP meeting.

    The window is ``previous_meeting`` to ``today``, **both inclusive**: with dates only, an
    item from the previous meeting day may or may not have made that meeting's pack, and
    showing it twice is the lesser harm than never showing it. Only members on the cohort
    (open cases) count; hits, breaches and grades of anyone else are left out.

    * new REDs: grade changes to RED from another grade (or none) in the window, one per
      person (the latest);
    * hits and breaches detected in the window;
    * new registrations: registered in the window;
    * licences ending in the next ``ending_weeks`` (8, the transition window): end date from
      today to today + 8 weeks inclusive, so a licence whose transition opens today is listed;
    * overdue reviews as of today (the :func:`overdue` rule), whatever the window.
    """
    if previous_meeting > today:
        raise ValueError(
            f"previous_meeting: {previous_meeting.isoformat()} is after today {today.isoformat()}"
        )
    cohort = {m.person_id: m for m in members if m.state in OPEN_STATES}

    def in_window(day: date) -> bool:
        return previous_meeting <= day <= today

    def member_key(m: CohortMember, day: date) -> tuple[str, int, date, str]:
        return (m.force, GRADE_ORDER.get(m.rag, len(GRADE_ORDER)), day, m.person_id)

    reds: dict[str, GradeChange] = {}
    for change in grade_changes:
        if (
            change.person_id in cohort
            and change.rag == "RED"
            and change.previous_rag != "RED"
            and in_window(change.graded_on)
        ):
            held = reds.get(change.person_id)
            if held is None or change.graded_on >= held.graded_on:
                reds[change.person_id] = change

    def incidents(items: Iterable[Incident]) -> list[Incident]:
        kept = [i for i in items if i.person_id in cohort and in_window(i.detected_on)]
        return sorted(
            kept, key=lambda i: (*member_key(cohort[i.person_id], i.detected_on), i.incident_id)
        )

    horizon = today + timedelta(weeks=ending_weeks)
    open_members = list(cohort.values())

    def due(m: CohortMember) -> date:
        return review_due(
            m.last_review,
            m.registered_on,
            m.rag,
            today,
            review_days=review_days,
            red_review_days=red_review_days,
        )

    return MapChanges(
        since=previous_meeting,
        until=today,
        new_reds=sorted(reds.values(), key=lambda c: member_key(cohort[c.person_id], c.graded_on)),
        hits=incidents(hits),
        breaches=incidents(breaches),
        new_registrations=sorted(
            (m for m in open_members if in_window(m.registered_on)),
            key=lambda m: member_key(m, m.registered_on),
        ),
        licences_ending=sorted(
            (
                m
                for m in open_members
                if m.licence_end is not None and today <= m.licence_end <= horizon
            ),
            key=lambda m: member_key(m, m.licence_end or today),
        ),
        overdue_reviews=sorted(
            (m for m in open_members if today > due(m)),
            key=lambda m: member_key(m, due(m)),
        ),
    )
