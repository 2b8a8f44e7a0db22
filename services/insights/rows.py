"""A contract record as the row insights keeps of it: one table per topic, only the fields
the measures read (no locations, no free text: the store answers questions about the
cohort, it is not another copy of the case files). Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from iomkit import topics

Row = tuple[Any, ...]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _date(text: object) -> date | None:
    """An ISO date from an event's details (``offence_date``), None when absent or unreadable:
    a record with a missing date is still counted, with the date the measure falls back on."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _change_id(v: Mapping[str, Any]) -> str:
    # Contract 1.1 (the schema's doc): first 32 hex of sha256 of
    # "person_id|change|effective_at" with effective_at in epoch milliseconds, when not sent.
    if v.get("change_id"):
        return str(v["change_id"])
    at: datetime = v["effective_at"]
    millis = (at.astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)
    text = f"{v['person_id']}|{v['change']}|{millis}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def person(v: Mapping[str, Any]) -> Row:
    return (v["person_id"], v["force"], v.get("date_of_birth"), v.get("sex"),
            v.get("current_offence"))


def offender_event(v: Mapping[str, Any]) -> Row:
    details = v.get("details") or {}
    return (v["event_id"], v["person_id"], v["type"], v["occurred_at"], v.get("offence"),
            _date(details.get("offence_date")), details.get("disposal"), details.get("hit_id"))


def referral(v: Mapping[str, Any]) -> Row:
    return (v["referral_id"], v["person_id"], v["proposed_cohort"], v["submitted_at"],
            bool(v["urgent"]), v["referring_agency"])


def panel_decision(v: Mapping[str, Any]) -> Row:
    return (v["decision_id"], v["referral_id"], v["person_id"], v["outcome"], v["cohort"],
            v["decided_at"], v.get("pathway"), v.get("lead_officer"))


def cohort_change(v: Mapping[str, Any]) -> Row:
    return (_change_id(v), v["person_id"], v["change"], v["cohort"], v["effective_at"],
            v.get("pathway"), v.get("lead_officer"))


def risk_grade(v: Mapping[str, Any]) -> Row:
    return (v["person_id"], v["revision"], v["graded_at"], v["rag"], v.get("static_score"),
            v.get("p_one_year"), v.get("static_band"), v.get("force"), bool(v["changed"]))


def crime(v: Mapping[str, Any]) -> Row:
    return (v["crime_ref"], v["version"], v["force"], v["offence"], v["reported_at"])


def hit(v: Mapping[str, Any]) -> Row:
    return (v["hit_id"], v["revision"], v["status"], v["crime_ref"], v["person_id"],
            v["offence"], v["detected_at"], v.get("crime_force"))


def breach(v: Mapping[str, Any]) -> Row:
    return (v["breach_id"], v["person_id"], v["kind"], v["first_fix_at"], v["detected_at"])


def enrolment(v: Mapping[str, Any]) -> Row:
    return (v["enrolment_id"], v["device_id"], v["person_id"], v["status"], v["effective_at"])


def tag_alert(v: Mapping[str, Any]) -> Row:
    return (v["alert_id"], v["device_id"], v.get("person_id"), v["kind"], v["since"],
            v["detected_at"])


def case_alert(v: Mapping[str, Any]) -> Row:
    return (v["alert_id"], v["person_id"], v["kind"], v["force"], v["raised_at"])


def case_record(v: Mapping[str, Any]) -> Row:
    return (v["record_id"], v["person_id"], v["kind"], v["subject"], v["recorded_at"],
            v.get("agency"), v.get("due_on"), v.get("done_on"))


def notification(v: Mapping[str, Any]) -> Row:
    return (v["notification_id"], v["recipient"], v["kind"], v.get("person_id"), v["state"],
            v["attempts"], v["created_at"], v["updated_at"])


# Table, its columns (the first ones the key), and how a record becomes its row. A later
# record with the same key replaces the row (a newer state, or the same record read again:
# reading a topic twice changes nothing). Column types are DuckDB's.
TABLES: dict[str, tuple[str, tuple[tuple[str, str], ...], int, Callable[..., Row]]] = {
    topics.PEOPLE.name: ("people", (
        ("person_id", "VARCHAR"), ("force", "VARCHAR"), ("date_of_birth", "DATE"),
        ("sex", "VARCHAR"), ("current_offence", "VARCHAR")), 1, person),
    topics.OFFENDER_EVENTS.name: ("events", (
        ("event_id", "VARCHAR"), ("person_id", "VARCHAR"), ("type", "VARCHAR"),
        ("occurred_at", "TIMESTAMPTZ"), ("offence", "VARCHAR"), ("offence_date", "DATE"),
        ("disposal", "VARCHAR"), ("hit_id", "VARCHAR")), 1, offender_event),
    topics.REFERRALS.name: ("referrals", (
        ("referral_id", "VARCHAR"), ("person_id", "VARCHAR"), ("proposed_cohort", "VARCHAR"),
        ("submitted_at", "TIMESTAMPTZ"), ("urgent", "BOOLEAN"),
        ("referring_agency", "VARCHAR")), 1, referral),
    topics.PANEL_DECISIONS.name: ("decisions", (
        ("decision_id", "VARCHAR"), ("referral_id", "VARCHAR"), ("person_id", "VARCHAR"),
        ("outcome", "VARCHAR"), ("cohort", "VARCHAR"), ("decided_at", "TIMESTAMPTZ"),
        ("pathway", "VARCHAR"), ("lead_officer", "VARCHAR")), 1, panel_decision),
    topics.COHORT_CHANGES.name: ("changes", (
        ("change_id", "VARCHAR"), ("person_id", "VARCHAR"), ("change", "VARCHAR"),
        ("cohort", "VARCHAR"), ("effective_at", "TIMESTAMPTZ"), ("pathway", "VARCHAR"),
        ("lead_officer", "VARCHAR")), 1, cohort_change),
    topics.RISK_GRADES.name: ("grades", (
        # graded_at in the key too: a grade is (person_id, revision), and the same grade sent
        # again is identical; a second producer's (the demo's synthetic history) is kept
        # beside it, not in its place
        ("person_id", "VARCHAR"), ("revision", "INTEGER"), ("graded_at", "TIMESTAMPTZ"),
        ("rag", "VARCHAR"), ("static_score", "DOUBLE"), ("p_one_year", "DOUBLE"),
        ("static_band", "VARCHAR"), ("force", "VARCHAR"), ("changed", "BOOLEAN")), 3,
        risk_grade),
    topics.CRIMES_REPORTED.name: ("crimes", (
        ("crime_ref", "VARCHAR"), ("version", "INTEGER"), ("force", "VARCHAR"),
        ("offence", "VARCHAR"), ("reported_at", "TIMESTAMPTZ")), 1, crime),
    topics.GPS_HITS.name: ("hits", (
        ("hit_id", "VARCHAR"), ("revision", "INTEGER"), ("status", "VARCHAR"),
        ("crime_ref", "VARCHAR"), ("person_id", "VARCHAR"), ("offence", "VARCHAR"),
        ("detected_at", "TIMESTAMPTZ"), ("crime_force", "VARCHAR")), 2, hit),
    topics.ZONE_BREACHES.name: ("breaches", (
        ("breach_id", "VARCHAR"), ("person_id", "VARCHAR"), ("kind", "VARCHAR"),
        ("first_fix_at", "TIMESTAMPTZ"), ("detected_at", "TIMESTAMPTZ")), 1, breach),
    topics.TAG_ENROLMENTS.name: ("enrolments", (
        ("enrolment_id", "VARCHAR"), ("device_id", "VARCHAR"), ("person_id", "VARCHAR"),
        ("status", "VARCHAR"), ("effective_at", "TIMESTAMPTZ")), 1, enrolment),
    topics.TAG_ALERTS.name: ("tag_alerts", (
        ("alert_id", "VARCHAR"), ("device_id", "VARCHAR"), ("person_id", "VARCHAR"),
        ("kind", "VARCHAR"), ("since", "TIMESTAMPTZ"), ("detected_at", "TIMESTAMPTZ")), 1,
        tag_alert),
    topics.CASE_ALERTS.name: ("case_alerts", (
        ("alert_id", "VARCHAR"), ("person_id", "VARCHAR"), ("kind", "VARCHAR"),
        ("force", "VARCHAR"), ("raised_at", "TIMESTAMPTZ")), 1, case_alert),
    topics.CASE_RECORDS.name: ("case_records", (
        ("record_id", "VARCHAR"), ("person_id", "VARCHAR"), ("kind", "VARCHAR"),
        ("subject", "VARCHAR"), ("recorded_at", "TIMESTAMPTZ"), ("agency", "VARCHAR"),
        ("due_on", "DATE"), ("done_on", "DATE")), 1, case_record),
    topics.NOTIFICATIONS.name: ("notifications", (
        ("notification_id", "VARCHAR"), ("recipient", "VARCHAR"), ("kind", "VARCHAR"),
        ("person_id", "VARCHAR"), ("state", "VARCHAR"), ("attempts", "INTEGER"),
        ("created_at", "TIMESTAMPTZ"), ("updated_at", "TIMESTAMPTZ")), 1, notification),
}
