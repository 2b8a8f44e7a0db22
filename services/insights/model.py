"""What insights knows of a person's history, as plain values: the rows the store keeps,
read back for the measures (mi.py, outcomes.py), which are pure functions of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Person:
    person_id: str
    force: str
    date_of_birth: date | None = None
    sex: str | None = None
    current_offence: str | None = None  # an OGRS3 offence category


@dataclass(frozen=True)
class Change:
    """A cohort change (iom.cohort.changes): REGISTERED, PATHWAY_CHANGED,
    LEAD_OFFICER_CHANGED, TRANSITION_STARTED or DEREGISTERED."""
    person_id: str
    change: str
    cohort: str
    effective_at: datetime
    pathway: str | None = None
    lead_officer: str | None = None


@dataclass(frozen=True)
class Event:
    """An offender event (iom.offender.events). For a CONVICTED event ``offence_date`` is
    when the offence was committed (details ``offence_date``), None when the sender did not
    say; ``disposal`` is details ``disposal`` (e.g. CAUTION), None when not said."""
    event_id: str
    person_id: str
    type: str
    occurred_at: datetime
    offence: str | None = None
    offence_date: date | None = None
    disposal: str | None = None
    hit_id: str | None = None  # HIT_CONFIRMED: the hit ruled in


@dataclass(frozen=True)
class Grade:
    person_id: str
    revision: int
    rag: str
    graded_at: datetime
    static_score: float | None = None  # OGRS3 two-year probability
    p_one_year: float | None = None  # OGRS3 one-year probability
    static_band: str | None = None


@dataclass(frozen=True)
class Referral:
    referral_id: str
    person_id: str
    proposed_cohort: str
    submitted_at: datetime
    urgent: bool = False


@dataclass(frozen=True)
class Decision:
    decision_id: str
    referral_id: str
    person_id: str
    outcome: str  # ACCEPTED, REJECTED, DEFERRED
    cohort: str
    decided_at: datetime
    pathway: str | None = None
    lead_officer: str | None = None


@dataclass(frozen=True)
class Hit:
    """A hit's latest revision (iom.gps.hits), with when its crime was reported."""
    hit_id: str
    person_id: str
    status: str  # ACTIVE or WITHDRAWN
    crime_ref: str
    detected_at: datetime
    first_detected_at: datetime  # revision 1's: when the hit was found
    crime_reported_at: datetime | None = None
    crime_force: str | None = None


@dataclass(frozen=True)
class Breach:
    breach_id: str
    person_id: str
    kind: str
    detected_at: datetime


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    person_id: str
    status: str  # FITTED or REMOVED
    effective_at: datetime


@dataclass(frozen=True)
class TagAlert:
    device_id: str
    kind: str  # NO_FIXES, FIXES_UNUSABLE, RECOVERED
    since: datetime
    detected_at: datetime
    person_id: str | None = None


@dataclass(frozen=True)
class CaseAlert:
    alert_id: str
    person_id: str
    kind: str
    raised_at: datetime


@dataclass(frozen=True)
class CaseRecord:
    """A casework fact (iom.case.records): SUPERVISOR_REVIEW, PLAN_ACTION_AGREED or
    PLAN_ACTION_CLOSED, with its dates."""
    record_id: str
    person_id: str
    kind: str
    subject: str  # the action's id, or the review's date
    recorded_at: datetime
    agency: str | None = None
    due_on: date | None = None
    done_on: date | None = None


@dataclass(frozen=True)
class Notification:
    notification_id: str
    kind: str
    state: str  # its latest: PENDING, DELIVERED, RETRYING, FAILED
    created_at: datetime
    updated_at: datetime
    person_id: str | None = None


@dataclass
class History:
    """Everything the outcome measures read, for one force or all (already filtered)."""
    people: dict[str, Person] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    grades: list[Grade] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    tag_alerts: list[TagAlert] = field(default_factory=list)
    case_alerts: list[CaseAlert] = field(default_factory=list)
    case_records: list[CaseRecord] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
