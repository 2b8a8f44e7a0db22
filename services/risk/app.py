"""risk: rescores a person's RAG grade on every relevant event, and as time passes.

One agent takes every person-keyed input (people, offender events, hits, zone breaches,
cohort changes, review ticks) so a person's records are handled in order. The grading is
pure (grading.py, dynamic.py, ogrs3.py); this module loads state, applies, publishes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from faust.types import TP

from iomkit import topics
from iomkit.audit import audit_record
from iomkit.records import CohortChange, CrimeHit, OffenderEvent, Person, ZoneBreach
from iomkit.service import Context, Service
from iomkit.topics import TopicSpec
from services.risk import config, grading, ogrs3
from services.risk.dynamic import Event
from services.risk.person import InputError, PersonState, offender_event, person_json

service = Service("risk")
app = service.app
risk_settings, rules = config.load()

REVIEWS = TopicSpec("throughcare-risk-reviews", "person_id", None)
review_topic = service.internal_topic(REVIEWS)
states = service.table("people", help="person_id -> facts, events, last grade, history")
# Every worker holds every current grade, for the MAP meeting's list across partitions.
current = app.GlobalTable("current-grades", default=None, key_type=bytes,
                          partitions=service.settings.partitions)


@service.agent(topics.PEOPLE, topics.OFFENDER_EVENTS, topics.GPS_HITS, topics.ZONE_BREACHES,
               topics.COHORT_CHANGES, REVIEWS)
async def person_input(record: Any, context: Context) -> None:
    now = service.clock()
    key = context.key or b""
    state = PersonState.from_json(states.get(key))
    applied = apply(state, record, now)
    if applied is None:
        return  # a duplicate changes nothing
    as_of, cause_event, force_publish = applied
    facts = state.person_facts()
    if facts is not None:
        grade = grading.grade_person(facts, state.history(), as_of, rules)
        record_out = grading.risk_grade_record(
            facts["person_id"], facts.get("force"), grade, state.last, as_of, cause_event,
            risk_settings.complete_grades or force_publish,
        )
        if record_out is not None:
            await service.publish(topics.RISK_GRADES, record_out, cause=context)
            state.record_published(record_out, cause_event or context.cause)
            current[key] = {"rag": record_out["rag"], "force": record_out["force"],
                            "revision": record_out["revision"],
                            "graded_at": as_of.isoformat(), "reason": record_out["reasons"][0],
                            "registered": state.cohort is not None}
            service.log.info("grade.published", rag=record_out["rag"],
                             changed=record_out["changed"], revision=record_out["revision"])
    states[key] = state.to_json()


def apply(
    state: PersonState, record: Any, now: datetime
) -> tuple[datetime, str | None, bool] | None:
    """Change ``state`` by one input. Returns the grading time, the causing event id and
    whether a grade must be published even if unchanged; None for a duplicate. Raises on
    bad input, before anything is changed, so the existing grade stands."""
    if isinstance(record, Person):
        person = record.asdict()
        grading.static_grade(grading.facts_of(person), now)  # refuse invalid facts
        state.person = person_json(person)
        return now, None, False
    if isinstance(record, OffenderEvent):
        event = offender_event(record.asdict(), now)
        if state.has_event(event.event_id):
            return None
        _check(state, event, now)
        state.add_event(event, now)
        return max(now, event.occurred_at), event.event_id, False
    if isinstance(record, ZoneBreach):
        event = Event(record.breach_id, "ZONE_BREACH", record.first_fix_at)
        if not state.add_event(event, now):
            return None
        return max(now, event.occurred_at), record.breach_id, False
    if isinstance(record, CrimeHit):
        # A hit's revisions carry the same hit_id: only its arrival and withdrawal count.
        if record.status == "WITHDRAWN":
            changed = state.remove_event(record.hit_id)
        else:
            changed = state.add_event(Event(record.hit_id, "GPS_HIT", record.nearest_fix_at), now)
        return (now, record.hit_id, False) if changed else None
    if isinstance(record, CohortChange):
        registered = record.change != "DEREGISTERED"
        state.cohort = ({"cohort": record.cohort, "pathway": record.pathway,
                         "lead_officer": record.lead_officer} if registered else None)
        # The grade a person gets when accepted onto IOM is always published.
        return now, None, record.change == "REGISTERED"
    if isinstance(record, dict):  # a review tick: time has passed
        return datetime.fromisoformat(record["as_of"]), None, False
    raise InputError(f"unexpected input {type(record).__name__}")


def _check(state: PersonState, event: Event, now: datetime) -> None:
    """A conviction changes the facts: make sure the changed facts can still be graded."""
    facts = state.person_facts()
    if event.type == "CONVICTED" and facts is not None:
        try:
            grading.static_grade(grading.facts_of(facts, [*state.history(), event]), now)
        except ogrs3.Ogrs3InputError as exc:
            raise InputError(f"the conviction makes the facts invalid: {exc}") from None


@app.timer(interval=risk_settings.review_interval_s)
async def review_grades() -> None:
    """Time moves grades too (quiet days, birthdays): tick every person this worker owns."""
    as_of = service.clock().isoformat()
    actives = app.assignor.assigned_actives()
    ticked = 0
    for key in list(states.keys()):
        tp = app.producer.key_partition(topics.PEOPLE.name, key)
        if TP(topics.PEOPLE.name, tp.partition) not in actives:
            continue
        await review_topic.send(key=key, value=orjson.dumps({"as_of": as_of}))
        ticked += 1
    service.log.info("grades.reviewed", people=ticked)


# -- views ----------------------------------------------------------------------------------


@app.page("/people/{person_id}/grade")
@app.table_route(table=states, match_info="person_id")
async def person_grade(web: Any, request: Any, person_id: str) -> Any:
    data = states.get(person_id.encode())
    if data is None:
        return web.json({"error": f"no person {person_id}"}, status=404)
    state = PersonState.from_json(data)
    await _audit(request, person_id, "risk grade and its history")
    return web.json({
        "person_id": person_id,
        "current": state.last,
        "registered": state.cohort,
        "history": list(reversed(state.changes)),
        "static_score": explain(state),
        "rules": str(risk_settings.rules_file.name),
    })


def explain(state: PersonState) -> dict[str, Any]:
    facts = state.person_facts()
    if facts is None:
        return {"available": False, "reason": "the person's facts have not arrived"}
    static = grading.facts_of(facts, state.history())
    today = service.clock().date()
    missing = ogrs3.missing_facts(static)
    if missing:
        return {"available": False, "reason": f"missing facts: {', '.join(missing)}"}
    score = ogrs3.score(static, today)
    return {
        "available": True, "model_version": score.model_version, "on": today.isoformat(),
        "copas_rate": score.copas, "copas_term": score.copas_term,
        "previous_sanctions_term": score.previous_term, "age_sex_weight": score.age_sex_weight,
        "age_band": score.age_band, "offence_weight": score.offence_weight, "y": score.y,
        "p_one_year": score.p_one_year, "p_two_year": score.p_two_year, "band": score.band,
        "explanation": score.explain(),
    }


@app.page("/grades")
async def grades(web: Any, request: Any) -> Any:
    rag = request.query.get("rag")
    force = request.query.get("force")
    rows = []
    for key, value in list(current.items()):
        if value is None or (rag and value["rag"] != rag) or (force and value["force"] != force):
            continue
        rows.append({"person_id": key.decode(), **value})
    order = {"RED": 0, "AMBER": 1, "GREEN": 2}
    rows.sort(key=lambda r: (order.get(r["rag"], 3), r["force"] or "", r["person_id"]))
    for row in rows:
        await _audit(request, row["person_id"], "grade list for the MAP meeting")
    return web.json({"rag": rag, "force": force, "count": len(rows), "grades": rows})


async def _audit(request: Any, person_id: str, what: str) -> None:
    await service.publish(topics.AUDIT, audit_record(
        service=service.name, actor=request.headers.get("X-IOM-User", "anonymous"),
        action="VIEW", purpose=request.query.get("purpose", what), person_id=person_id,
        at=datetime.now(UTC), details={"path": str(request.path)},
    ))


if __name__ == "__main__":
    service.main()
