"""Risk suite: events rescored per second by one risk worker, and event-to-grade latency
at a steady 1,000 events/s, beside the pure scoring function alone.

* baseline: ``grading.grade_person`` for a person with a short event history, in-process.
* throughput: P people and E offender events are on the topics before one risk worker
  (a subprocess, as in production) starts; clocked from its first consumed event to the
  last (its /metrics counter), so start-up and the group join are not counted.
* latency: fresh people, already graded; one raising event each (a positive drug test,
  GREEN -> AMBER) sent at 1,000/s; latency = the grade record's timestamp minus the
  event's send time, matched by cause_event_id.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Context
from bench.report import Row, SuiteResult, progress
from iomkit import headers as h
from iomkit import kafka
from iomkit.codec import Codec, SchemaRegistry
from iomkit.processes import ServiceProcess, free_port
from iomkit.settings import ROOT
from iomkit.topics import OFFENDER_EVENTS, OPERATOR_TOPICS, PEOPLE, RISK_GRADES
from services.risk import grading, rules
from services.risk.dynamic import Event

NAME = "risk"
PEOPLE_N = 5_000
EVENTS_N = 50_000
LATENCY_RATE = 1_000
LATENCY_SECONDS = 10
EVENT_TYPES = ("APPOINTMENT_ATTENDED", "DRUG_TEST_NEGATIVE", "APPOINTMENT_MISSED",
               "EMPLOYMENT_STARTED", "DRUG_TEST_POSITIVE", "OTHER")


def person(person_id: str) -> dict[str, Any]:
    return {
        "person_id": person_id, "date_of_birth": date(1972, 9, 9), "sex": "FEMALE",
        "force": "Hampshire", "under_statutory_supervision": True, "licence_end_date": None,
        "first_sanction_date": date(1986, 9, 9), "previous_sanctions": 3,
        "current_offence": "CRIMINAL_DAMAGE", "current_conviction_date": date(2009, 9, 9),
    }


def offender_event(event_id: str, person_id: str, kind: str, at: datetime) -> dict[str, Any]:
    return {"event_id": event_id, "person_id": person_id, "type": kind, "occurred_at": at,
            "source_agency": "bench", "offence": None, "details": {}}


def baseline(n: int = 20_000) -> float:
    facts = person("P-base")
    now = datetime.now(UTC)
    events = [Event(f"E{i}", EVENT_TYPES[i % len(EVENT_TYPES)], now - timedelta(days=i))
              for i in range(8)]
    loaded = rules.load()
    started = time.perf_counter()
    for _ in range(n):
        grading.grade_person(facts, events, now, loaded)
    return n / (time.perf_counter() - started)


async def publish(ctx: Context, codec: Codec, topic: str, record: str,
                  values: list[dict[str, Any]], key: str) -> list[float]:
    """Send every value; returns each one's send time (epoch seconds)."""
    producer = kafka.producer(ctx.settings, linger_ms=20)
    await producer.start()
    sent = []
    try:
        for value in values:
            sent.append(time.time())
            await producer.send(topic, codec.encode(record, value), key=value[key].encode(),
                                headers=h.record_headers(record))
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def consumed(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(r'iom_records_in_total\{service="risk",topic="iom.offender.events"\} '
                      r"([0-9.e+]+)", text)
    return float(match.group(1)) if match else 0.0


async def throughput(ctx: Context, codec: Codec, risk: ServiceProcess) -> float:
    people = [person(f"P-{i:05d}") for i in range(PEOPLE_N)]
    now = datetime.now(UTC)
    events = [offender_event(f"E-{i}", f"P-{i % PEOPLE_N:05d}", EVENT_TYPES[i % 6],
                             now - timedelta(minutes=EVENTS_N - i)) for i in range(EVENTS_N)]
    await publish(ctx, codec, PEOPLE.name, "Person", people, "person_id")
    await publish(ctx, codec, OFFENDER_EVENTS.name, "OffenderEvent", events, "person_id")
    progress(f"risk: {PEOPLE_N} people and {EVENTS_N} events published; starting the worker")
    risk.start()
    await asyncio.to_thread(risk.wait_healthy, 120)
    first = last = None
    while True:
        count = await asyncio.to_thread(consumed, risk.port)
        now_s = time.perf_counter()
        if count and first is None:
            first = (now_s, count)
        if count >= EVENTS_N:
            last = (now_s, count)
            break
        await asyncio.sleep(0.05)
    assert first is not None and last is not None
    return (last[1] - first[1]) / max(last[0] - first[0], 1e-9)


async def latency(ctx: Context, codec: Codec) -> tuple[float, float, int]:
    n = LATENCY_RATE * LATENCY_SECONDS
    people = [person(f"P-lat-{i:05d}") for i in range(n)]
    await publish(ctx, codec, PEOPLE.name, "Person", people, "person_id")
    reader = kafka.consumer(ctx.settings, RISK_GRADES.name, group_id=None)
    await reader.start()
    graded: set[str] = set()
    try:
        while len(graded) < n:  # every fresh person's first grade, before the clock starts
            for records in (await reader.getmany(timeout_ms=500)).values():
                for m in records:
                    value = codec.decode(m.value).value
                    if value["person_id"].startswith("P-lat-"):
                        graded.add(value["person_id"])
        producer = kafka.producer(ctx.settings, linger_ms=0)
        await producer.start()
        sent: dict[str, float] = {}
        started = time.perf_counter()
        for i, p in enumerate(people):
            due = started + i / LATENCY_RATE
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            event = offender_event(f"L-{i}", p["person_id"], "DRUG_TEST_POSITIVE",
                                   datetime.now(UTC) - timedelta(hours=1))
            sent[event["event_id"]] = time.time()
            await producer.send(OFFENDER_EVENTS.name, codec.encode("OffenderEvent", event),
                                key=p["person_id"].encode())
        await producer.flush()
        await producer.stop()
        delays: list[float] = []
        deadline = time.monotonic() + 60
        while len(delays) < n and time.monotonic() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                for m in records:
                    cause = codec.decode(m.value).value["cause_event_id"]
                    if cause in sent:
                        delays.append(m.timestamp / 1000 - sent.pop(cause))
    finally:
        await reader.stop()
    delays.sort()
    return delays[len(delays) // 2] * 1000, delays[int(len(delays) * 0.99)] * 1000, len(delays)


async def run(ctx: Context) -> SuiteResult:
    result = SuiteResult(NAME)
    await kafka.create_topics(ctx.settings, OPERATOR_TOPICS)
    codec = Codec(SchemaRegistry(ROOT / "schemas"))
    pure = baseline()
    progress(f"risk: pure grade_person {pure:,.0f}/s")
    with tempfile.TemporaryDirectory(prefix="bench-risk-") as tmp:
        env = {
            **await ctx.service_env("risk"),
            "IOM_STORE_DIR": str(Path(tmp) / "state"), "IOM_LOG_LEVEL": "WARNING",
            "PATH": "/usr/bin:/bin",
        }
        risk = ServiceProcess("risk", env, Path(tmp) / "risk.log", free_port())
        try:
            rate = await throughput(ctx, codec, risk)
            progress(f"risk: {rate:,.0f} events/s")
            p50, p99, matched = await latency(ctx, codec)
        finally:
            risk.stop()
    result.rows += [
        Row("risk: events rescored/s, one worker", rate, pure, target=10_000,
            note="baseline: pure grade_person in-process"),
        Row("risk: event-to-grade p50 at 1,000 events/s", p50, None, unit="ms"),
        Row("risk: event-to-grade p99 at 1,000 events/s", p99, None, target=500, unit="ms",
            lower_is_better=True),
    ]
    result.facts.update({"people": PEOPLE_N, "events": EVENTS_N, "latency_events": matched,
                         "pure_grade_person_per_s": round(pure)})
    return result
