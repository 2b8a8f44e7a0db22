"""One input record -> the person's changed state, and the grade to publish if any. Pure:
the app loads the state, calls :func:`rescore`, publishes and saves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.risk import grading, ogrs3
from services.risk.dynamic import Event
from services.risk.person import InputError, PersonState, offender_event, person_json
from services.risk.rules import Rules

REVIEW = "ReviewTick"  # the internal record of time passing


@dataclass(frozen=True)
class Rescored:
    grade: dict[str, Any] | None  # the RiskGrade to publish, or None
    view: dict[str, Any] | None  # the person's view document, when a grade is published


def rescore(state: PersonState, record: str, value: Mapping[str, Any], now: datetime,
            rules: Rules, complete: bool) -> Rescored | None:
    """Apply one input to ``state`` (in place) and grade. None: a duplicate, nothing
    changed. Raises on bad input before ``state`` is touched, so the grade stands."""
    applied = apply(state, record, value, now)
    if applied is None:
        return None
    as_of, cause_event, always = applied
    facts = state.person_facts()
    if facts is None:
        return Rescored(None, None)  # kept until the person arrives
    grade = grading.grade_person(facts, state.history(), as_of, rules)
    out = grading.risk_grade_record(
        facts["person_id"], facts.get("force"), grade, state.last, as_of, cause_event,
        complete or always,
    )
    if out is None:
        # A new Person record with the same grade may change what the view shows beside it
        # (the RoSH level): the view is refreshed, the grade is not republished.
        if record == "Person" and state.last is not None:
            return Rescored(None, view(state, grade, as_of))
        return Rescored(None, None)
    state.record_published(out, cause_event)
    return Rescored(out, view(state, grade, as_of))


def apply(state: PersonState, record: str, value: Mapping[str, Any], now: datetime
          ) -> tuple[datetime, str | None, bool] | None:
    """Returns the grading time, the causing event id and whether a grade must be
    published even if unchanged; None for a duplicate."""
    if record == "Person":
        grading.static_grade(grading.facts_of(value), now)  # refuses invalid facts
        state.person = person_json(value)
        return now, None, False
    if record == "OffenderEvent":
        event = offender_event(value, now)
        if state.has_event(event.event_id):
            return None
        _check_conviction(state, event, now)
        state.add_event(event, now)
        return max(now, event.occurred_at), event.event_id, False
    if record == "ZoneBreach":
        if not state.add_event(Event(value["breach_id"], "ZONE_BREACH", value["first_fix_at"]),
                               now):
            return None
        return max(now, value["first_fix_at"]), value["breach_id"], False
    if record == "CrimeHit":
        # A hit's revisions share its hit_id: only its arrival and its withdrawal count.
        if value["status"] == "WITHDRAWN":
            changed = state.remove_event(value["hit_id"])
        else:
            changed = state.add_event(
                Event(value["hit_id"], "GPS_HIT", value["nearest_fix_at"]), now)
        return (now, value["hit_id"], False) if changed else None
    if record == "CohortChange":
        registered = value["change"] != "DEREGISTERED"
        state.cohort = ({"cohort": value["cohort"], "pathway": value["pathway"],
                         "lead_officer": value["lead_officer"]} if registered else None)
        # The grade a person gets when accepted onto IOM is always published.
        return now, None, value["change"] == "REGISTERED"
    if record == REVIEW:
        return datetime.fromisoformat(value["as_of"]), None, False
    raise InputError(f"unexpected input {record}")


def _check_conviction(state: PersonState, event: Event, now: datetime) -> None:
    """A conviction changes the facts: they must still be gradable."""
    facts = state.person_facts()
    if event.type == "CONVICTED" and facts is not None:
        try:
            grading.static_grade(grading.facts_of(facts, [*state.history(), event]), now)
        except ogrs3.Ogrs3InputError as exc:
            raise InputError(f"the conviction makes the facts invalid: {exc}") from None


def view(state: PersonState, grade: grading.Grade, as_of: datetime) -> dict[str, Any]:
    """What a supervisor sees: the grade, its history with causes, and the arithmetic."""
    person = state.person or {}
    return {
        "person_id": person.get("person_id"),
        "force": person.get("force"),
        "current": state.last,
        # OASys risk of serious harm (contract 1.1): shown beside the RAG, never graded.
        "rosh_level": person.get("rosh_level"),
        "registered": state.cohort,
        "history": list(reversed(state.changes)),
        "static_score": explain(grade.static, as_of),
    }


def explain(score: ogrs3.Ogrs3Score | None, as_of: datetime) -> dict[str, Any]:
    if score is None:
        return {"available": False, "reason": "facts missing: see the grade's reasons"}
    return {
        "available": True, "model_version": score.model_version,
        "on": as_of.date().isoformat(), "copas_rate": score.copas,
        "copas_term": score.copas_term, "previous_sanctions_term": score.previous_term,
        "age_sex_weight": score.age_sex_weight, "age_band": score.age_band,
        "offence_weight": score.offence_weight, "y": score.y, "p_one_year": score.p_one_year,
        "p_two_year": score.p_two_year, "band": score.band, "explanation": score.explain(),
    }
