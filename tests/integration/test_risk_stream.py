"""The risk service on the real broker: a person's event stream, with a late out-of-order
event, a duplicate and a poison record, gives exactly the expected grades; a restart with
the clock 30 days on steps the grade down and republishes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from iomkit import testing, topics
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT

pytestmark = pytest.mark.integration
PERSON = "P-risk-stream"


def record(codec, name: str, **fields: object) -> dict[str, object]:
    raw = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    raw.update(fields)
    return from_json(codec.registry.current(name).raw, raw)


def event(codec, event_id: str, kind: str, days_ago: float, offence: str | None = None):
    at = testing.now() - timedelta(days=days_ago)
    return record(codec, "OffenderEvent", event_id=event_id, person_id=PERSON, type=kind,
                  occurred_at=at.isoformat(), offence=offence, details={})


def ours(seen):
    return [r.value for r in seen if r.value and r.value["person_id"] == PERSON]


async def test_event_stream_gives_exactly_the_expected_grades(settings, codec, start_service):
    risk = start_service("risk")
    # The risk model's worked-example woman: static band LOW, so GREEN to begin with.
    person = record(codec, "Person", person_id=PERSON)
    await testing.produce(settings, codec, topics.PEOPLE, [person])
    missed_recent = event(codec, "E-1", "APPOINTMENT_MISSED", 3)
    missed_late = event(codec, "E-2", "APPOINTMENT_MISSED", 20)  # arrives late, happened first
    arrest = event(codec, "E-3", "ARRESTED", 1, "BURGLARY_DOMESTIC")
    secured = event(codec, "E-4", "ACCOMMODATION_SECURED", 0.5)
    await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [missed_recent, missed_late])
    await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [missed_late])  # duplicate
    await testing.produce_raw(settings, topics.OFFENDER_EVENTS.name,
                              [(PERSON.encode(), b"\xc3\x01 not a record")])
    await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [arrest, secured])

    async with testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades:
        await grades.wait_for(lambda seen: len(ours(seen)) >= 3)
        await grades.settle(3.0)
    sequence = ours(grades.seen)
    assert [(g["rag"], g["previous_rag"], g["changed"], g["revision"]) for g in sequence] == [
        ("GREEN", None, True, 1),
        ("AMBER", "GREEN", True, 2),
        ("RED", "AMBER", True, 3),
    ]
    assert sequence[1]["cause_event_id"] == "E-2"
    assert sequence[1]["reasons"][0].startswith("2 missed appointments within 28 days")
    assert sequence[2]["cause_event_id"] == "E-3"
    assert "neighbourhood crime (burglary domestic)" in sequence[2]["reasons"][0]
    assert any("OGRS3" in reason for reason in sequence[2]["reasons"])
    assert all(g["static_band"] == "LOW" and g["model_version"] == "ogrs3-1" for g in sequence)

    # Grades from events are measured since each event arrived and since it happened
    # (E-2, 20 days ago, is one of them).
    graded = testing.latency(await testing.metrics_page(risk.port), "risk", "event_to_grade")
    assert graded.count >= 2 and graded.event_count == graded.count
    assert graded.since_event_s > timedelta(days=20).total_seconds() / graded.count
    assert graded.since_event_s > graded.since_arrival_s

    async with testing.Reader(settings, codec, topics.DEAD_LETTERS.name) as dlq:
        letters = await dlq.wait_for(lambda seen: any(r.key == PERSON.encode() for r in seen))
    letter = next(r for r in letters if r.key == PERSON.encode())
    assert letter.headers["iom-dlq-topic"] == "iom.offender.events"
    assert letter.headers["iom-dlq-service"] == "risk"

    # Thirty days on, after a crash: the state comes back from the changelog, the review
    # steps RED down one level, and nothing already published is published again.
    risk.kill()
    start_service("risk", IOM_CLOCK_OFFSET_S=str(testing.clock_offset_s() + 30 * 86400),
                  IOM_RISK_REVIEW_INTERVAL_S="1")
    async with testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades:
        await grades.wait_for(lambda seen: len(ours(seen)) >= 4, within=60)
        await grades.settle(4.0)
    later = ours(grades.seen)
    assert [(g["rag"], g["revision"]) for g in later] == [
        ("GREEN", 1), ("AMBER", 2), ("RED", 3), ("AMBER", 4),
    ]
    assert later[3]["previous_rag"] == "RED" and later[3]["changed"]
    assert "neighbourhood crime (burglary domestic)" in later[3]["reasons"][0]
    assert any(r.startswith("stepped down from RED to AMBER: no raising event for 31 days")
               for r in later[3]["reasons"])
