"""Typed records of the contract, generated from schemas/*.avsc by
``python -m iomkit.records_gen``: do not edit by hand.

Enums are their symbol strings; nested records are dicts. Every field is always
present on a decoded value (the reader schema fills defaults), so none has a default."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import faust


class AuditRecord(faust.Record, serializer='raw'):
    """Processing log entry for personal data (Data Protection Act 2018 s.62): who did what,..."""

    audit_id: str
    person_id: str | None
    actor: str
    action: str
    purpose: str
    recipient: str | None
    service: str
    details: dict[str, str]
    at: datetime


class CaseAlert(faust.Record, serializer='raw'):
    """Something about a person's IOM case that needs someone's attention now: an urgent ref..."""

    alert_id: str
    person_id: str
    kind: str
    force: str
    lead_officer: str | None
    summary: str
    raised_at: datetime
    details: dict[str, str]


class CaseRecord(faust.Record, serializer='raw'):
    """A fact of a person's IOM casework that others count: a supervisor review done, a plan..."""

    record_id: str
    person_id: str
    force: str | None
    kind: str
    subject: str
    agency: str | None
    due_on: date | None
    done_on: date | None
    recorded_at: datetime


class CohortChange(faust.Record, serializer='raw'):
    """A change to a person's IOM management: registration, pathway or lead officer change, ..."""

    person_id: str
    change: str
    cohort: str
    pathway: str | None
    lead_officer: str | None
    reason: str
    effective_at: datetime
    change_id: str | None


class CrimeHit(faust.Record, serializer='raw'):
    """A tagged person was near a reported crime when it happened (hit rule, see the contrac..."""

    hit_id: str
    revision: int
    status: str
    crime_ref: str
    crime_version: int
    offence: str
    person_id: str
    device_id: str
    distance_m: float
    nearest_fix_at: datetime
    fixes: list[dict[str, Any]]
    detected_at: datetime
    rule_version: int
    crime_force: str | None


class CrimeReported(faust.Record, serializer='raw'):
    """A crime reported by a police force, to be overlaid with tag trails. A higher version ..."""

    crime_ref: str
    version: int
    offence: str
    lat: float
    lon: float
    location_accuracy_m: float
    committed_from: datetime
    committed_to: datetime
    reported_at: datetime
    force: str
    type_description: str | None
    batch_id: str | None
    crime_text: str | None


class ExclusionZone(faust.Record, serializer='raw'):
    """An area a person must not enter (exclusion) or must stay inside (inclusion), set by p..."""

    zone_id: str
    person_id: str
    kind: str
    polygon: list[list[float]]
    active_from: datetime
    active_to: datetime | None
    version: int
    victim_safety: bool


class Notification(faust.Record, serializer='raw'):
    """A notification sent to a recipient (e.g. a police IOM team or lead officer) and its d..."""

    notification_id: str
    recipient: str
    kind: str
    source_id: str
    person_id: str | None
    state: str
    attempts: int
    payload: str
    created_at: datetime
    updated_at: datetime


class OffenderEvent(faust.Record, serializer='raw'):
    """Something that happened to or about a person, reported by an agency system (police, p..."""

    event_id: str
    person_id: str
    type: str
    occurred_at: datetime
    source_agency: str
    offence: str | None
    details: dict[str, str]


class PanelDecision(faust.Record, serializer='raw'):
    """The outcome of a selection panel (MACC) on a referral."""

    decision_id: str
    referral_id: str
    person_id: str
    outcome: str
    cohort: str
    pathway: str | None
    lead_officer: str | None
    rationale: str
    panel_date: date
    decided_at: datetime
    chair: str | None
    agencies_present: list[str]


class Person(faust.Record, serializer='raw'):
    """Who a person managed (or proposed) under IOM is, and the facts the OGRS3 static risk ..."""

    person_id: str
    date_of_birth: date
    sex: str
    force: str
    under_statutory_supervision: bool
    licence_end_date: date | None
    first_sanction_date: date | None
    previous_sanctions: int | None
    current_offence: str | None
    current_conviction_date: date | None
    mappa_level: str | None
    ppo: bool
    rosh_level: str | None
    priority_flags: list[str]


class Referral(faust.Record, serializer='raw'):
    """A request from an agency to manage a person under IOM, considered by the selection pa..."""

    referral_id: str
    person_id: str
    referring_agency: str
    referrer: str
    proposed_cohort: str
    reason: str
    urgent: bool
    index_offence: str
    submitted_at: datetime


class RiskGrade(faust.Record, serializer='raw'):
    """A person's current RAG risk grade and the reasons for it: the OGRS3 static score comb..."""

    person_id: str
    rag: str
    previous_rag: str | None
    changed: bool
    static_score: float | None
    reasons: list[str]
    model_version: str
    graded_at: datetime
    cause_event_id: str | None
    p_one_year: float | None
    static_band: str | None
    force: str | None
    revision: int


class TagAlert(faust.Record, serializer='raw'):
    """A fitted GPS tag needs attention (it sent no fixes, or only unusable ones, for too lo..."""

    alert_id: str
    device_id: str
    person_id: str | None
    kind: str
    since: datetime
    detected_at: datetime
    details: dict[str, str]


class TagEnrolment(faust.Record, serializer='raw'):
    """A GPS tag fitted to or removed from a person, from the tag supplier."""

    enrolment_id: str
    device_id: str
    person_id: str
    status: str
    effective_at: datetime
    monitoring_ends_at: datetime | None


class TagPing(faust.Record, serializer='raw'):
    """One GPS fix from a tag. Pings can arrive late and out of order, because a tag stores ..."""

    device_id: str
    recorded_at: datetime
    lat: float
    lon: float
    accuracy_m: float


class ZoneBreach(faust.Record, serializer='raw'):
    """A tagged person entered an exclusion zone or left an inclusion zone."""

    breach_id: str
    zone_id: str
    person_id: str
    device_id: str
    kind: str
    first_fix_at: datetime
    detected_at: datetime
    victim_safety: bool


RECORD_TYPES: dict[str, type[faust.Record]] = {
    'AuditRecord': AuditRecord,
    'CaseAlert': CaseAlert,
    'CaseRecord': CaseRecord,
    'CohortChange': CohortChange,
    'CrimeHit': CrimeHit,
    'CrimeReported': CrimeReported,
    'ExclusionZone': ExclusionZone,
    'Notification': Notification,
    'OffenderEvent': OffenderEvent,
    'PanelDecision': PanelDecision,
    'Person': Person,
    'Referral': Referral,
    'RiskGrade': RiskGrade,
    'TagAlert': TagAlert,
    'TagEnrolment': TagEnrolment,
    'TagPing': TagPing,
    'ZoneBreach': ZoneBreach,
}
