"""From a person's facts and events to a RAG grade with reasons, and to the RiskGrade
record. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from services.risk import dynamic, ogrs3
from services.risk.rules import Rules

BAND_TO_RAG = {"LOW": "GREEN", "MEDIUM": "AMBER", "HIGH": "RED", "VERY_HIGH": "RED"}
# Without a static score the grade rests on dynamic factors alone, from the lowest level.
NO_STATIC_RAG = "GREEN"


@dataclass(frozen=True)
class Grade:
    rag: str
    reasons: tuple[str, ...]
    static: ogrs3.Ogrs3Score | None


def facts_of(person: Mapping[str, Any],
             events: Sequence[dynamic.Event] = ()) -> ogrs3.StaticFacts:
    """The person's static facts, with every later CONVICTED event applied in event-time
    order: the new conviction becomes current and the old one a previous sanction."""
    facts = ogrs3.StaticFacts(
        sex=person["sex"],
        date_of_birth=person["date_of_birth"],
        first_sanction_date=person.get("first_sanction_date"),
        previous_sanctions=person.get("previous_sanctions"),
        current_offence=person.get("current_offence"),
        current_conviction_date=person.get("current_conviction_date"),
    )
    convictions = sorted((e for e in events if e.type == "CONVICTED"),
                         key=lambda e: (e.occurred_at, e.event_id))
    for conviction in convictions:
        on = conviction.occurred_at.date()
        current = facts.current_conviction_date
        if current is not None and on <= current:
            continue  # already part of the agency's facts
        previous = facts.previous_sanctions
        if current is not None and previous is not None:
            previous += 1
        facts = replace(
            facts,
            current_offence=conviction.offence,
            current_conviction_date=on,
            previous_sanctions=previous,
            first_sanction_date=facts.first_sanction_date or on,
        )
    return facts


def static_grade(facts: ogrs3.StaticFacts, on: datetime) -> Grade:
    """The static part of the grade. Invalid facts raise ``Ogrs3InputError``."""
    return _static_on(facts, on.date())


# A person's static grade changes only with their facts or the day (their age): the hot
# path grades them on every event, and OGRS3 was a fifth of each grade. Bounded.
@lru_cache(maxsize=8192)
def _static_on(facts: ogrs3.StaticFacts, today: date) -> Grade:
    ogrs3.validate(facts, today)
    missing = ogrs3.missing_facts(facts)
    if missing:
        return Grade(NO_STATIC_RAG, (f"static score unavailable: {', '.join(missing)}",), None)
    score = ogrs3.score(facts, today)
    rag = BAND_TO_RAG[score.band]
    return Grade(
        rag,
        (f"OGRS3 two-year reoffending probability {score.p_two_year:.1%} "
         f"(band {score.band}) gives {rag}",),
        score,
    )


def grade_person(person: Mapping[str, Any], events: Sequence[dynamic.Event], as_of: datetime,
                 rules: Rules) -> Grade:
    static = static_grade(facts_of(person, events), as_of)
    moved = dynamic.apply(static.rag, events, as_of, rules)
    return Grade(moved.rag, moved.raised_by + static.reasons + moved.notes, static.static)


def risk_grade_record(
    person_id: str, force: str | None, new: Grade, previous: Mapping[str, Any] | None,
    graded_at: datetime, cause_event_id: str | None, complete: bool,
) -> dict[str, Any] | None:
    """The RiskGrade to publish, or None when there is nothing to say.

    A changed rag is always published. An unchanged one only when complete grades are
    wanted and something about it (its reasons) differs from the last published grade.
    ``previous`` is the last published grade ({"rag", "revision", "reasons"}).
    """
    previous_rag = previous["rag"] if previous else None
    changed = new.rag != previous_rag
    same_reasons = previous is not None and tuple(previous["reasons"]) == new.reasons
    if not changed and (not complete or same_reasons):
        return None
    score = new.static
    return {
        "person_id": person_id,
        "rag": new.rag,
        "previous_rag": previous_rag,
        "changed": changed,
        "static_score": score.p_two_year if score else None,
        "reasons": list(new.reasons),
        "model_version": ogrs3.MODEL_VERSION,
        "graded_at": graded_at,
        "cause_event_id": cause_event_id,
        "p_one_year": score.p_one_year if score else None,
        "static_band": score.band if score else None,
        "force": force,
        "revision": (previous["revision"] + 1) if previous else 1,
    }
