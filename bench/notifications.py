"""Notifications suite: how soon police hear of a hit, end to end through signed webhooks.

* hit-to-webhook: P people (Hampshire) on iom.people, one notifications worker (a
  subprocess, as in production) with one POLICE recipient whose endpoint is an in-process
  receiver that verifies every signature; CrimeHits sent at 100/s for 20 s; latency = the
  receiver's arrival time minus the hit's send time, matched by source_id = hit_id.
* crime-to-webhook: gps_stream and notifications workers; T tags fitted to T people, each
  with two hours of fixes at one a minute around its own place; then one crime per tag at
  2/s, on its trail; latency = arrival of the hit's webhook minus the crime's send time.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Context
from bench.report import Row, SuiteResult, progress
from iomkit import headers as h
from iomkit import kafka, testing
from iomkit.codec import Codec, SchemaRegistry
from iomkit.processes import ServiceProcess, free_port
from iomkit.settings import ROOT
from iomkit.topics import (
    CRIMES_REPORTED,
    GPS_HITS,
    OPERATOR_TOPICS,
    PEOPLE,
    TAG_ENROLMENTS,
    TAG_PINGS,
)
from services.notifications.receiver import Receiver

NAME = "notifications"
SECRET = "bench-secret-0123456789abcdef"
HIT_RATE = 100
HIT_SECONDS = 20
TAGS = 60
CRIME_RATE = 2.0


def person(person_id: str) -> dict[str, Any]:
    return {
        "person_id": person_id, "date_of_birth": date(1990, 1, 1), "sex": "MALE",
        "force": "Hampshire", "under_statutory_supervision": True, "licence_end_date": None,
        "first_sanction_date": None, "previous_sanctions": None, "current_offence": None,
        "current_conviction_date": None,
    }


def hit(n: int, person_id: str, at: datetime) -> dict[str, Any]:
    fixes = [{"recorded_at": at + timedelta(minutes=m), "lat": 50.9 + m * 1e-4,
              "lon": -1.4, "accuracy_m": 10.0, "distance_m": 11.0 * m} for m in range(5)]
    return {"hit_id": f"bench-hit-{n}", "revision": 1, "status": "ACTIVE",
            "crime_ref": f"44/BENCH/{n}", "crime_version": 1, "offence": "ROBBERY",
            "person_id": person_id, "device_id": f"TAG-B{n}", "distance_m": 0.0,
            "nearest_fix_at": at, "fixes": fixes, "detected_at": at, "rule_version": 1}


def percentiles(delays: list[float]) -> tuple[float | None, float | None]:
    if not delays:
        return None, None
    ordered = sorted(delays)
    return (ordered[len(ordered) // 2] * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000)


async def publish(ctx: Context, codec: Codec, topic: str, record: str,
                  values: list[dict[str, Any]], key: str) -> None:
    producer = kafka.producer(ctx.settings, linger_ms=20)
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, codec.encode(record, value), key=value[key].encode(),
                                headers=h.record_headers(record))
        await producer.flush()
    finally:
        await producer.stop()


async def paced(ctx: Context, codec: Codec, topic: str, record: str,
                values: list[dict[str, Any]], key: str, rate: float, ids: str
                ) -> dict[str, float]:
    """Send at ``rate``/s; returns each value's send time (epoch seconds) by ``ids``."""
    producer = kafka.producer(ctx.settings, linger_ms=0)
    await producer.start()
    sent: dict[str, float] = {}
    try:
        started = time.perf_counter()
        for i, value in enumerate(values):
            if (wait := started + i / rate - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            sent[value[ids]] = time.time()
            await producer.send(topic, codec.encode(record, value), key=value[key].encode(),
                                headers=h.record_headers(record))
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def arrivals(receiver: Receiver, sent: dict[str, float], source: Any,
                   within: float) -> list[float]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len({source(d) for d in receiver.deliveries} & set(sent)) >= len(sent):
            break
        await asyncio.sleep(0.1)
    return [d.at - sent[source(d)] for d in receiver.deliveries if source(d) in sent]


def subscriptions(path: Path, port: int) -> Path:
    path.write_text('[[recipient]]\nname = "bench-police"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                    f'forces = ["Hampshire"]\nurl = "http://127.0.0.1:{port}/hooks"\n'
                    'secret_env = "BENCH_SECRET"\nagreement = "bench"\n')
    return path


async def crime_to_webhook(ctx: Context, codec: Codec, receiver: Receiver, env: dict[str, str],
                           tmp: Path) -> tuple[list[float], int]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=2)
    tags = [(f"TAG-BG-{i}", f"P-bg-{i}", 50.80 + 0.01 * (i // 10), -1.50 + 0.01 * (i % 10))
            for i in range(TAGS)]
    await publish(ctx, codec, PEOPLE.name, "Person", [person(p) for _, p, _, _ in tags],
                  "person_id")
    await publish(ctx, codec, TAG_ENROLMENTS.name, "TagEnrolment", [
        {"enrolment_id": f"E-{d}", "device_id": d, "person_id": p, "status": "FITTED",
         "effective_at": start - timedelta(days=1), "monitoring_ends_at": None}
        for d, p, _, _ in tags], "device_id")
    pings = [{"device_id": d, "recorded_at": start + timedelta(minutes=m),
              "lat": lat + 1e-5 * m, "lon": lon, "accuracy_m": 10.0}
             for d, _, lat, lon in tags for m in range(120)]
    await publish(ctx, codec, TAG_PINGS.name, "TagPing", pings, "device_id")
    # gps_stream as its own principal, not notifications'.
    gps_env = {**env, **await ctx.service_env("gps_stream")}
    gps = ServiceProcess("gps_stream", gps_env, tmp / "gps_stream.log", free_port())
    gps.start()
    try:
        await asyncio.to_thread(gps.wait_healthy, 120)
        await asyncio.sleep(3)  # the fixes replayed into the index before the clock starts
        crimes = [{"crime_ref": f"44/BG/{i}", "version": 1, "offence": "BURGLARY_DWELLING",
                   "lat": lat + 1e-5 * 60, "lon": lon, "location_accuracy_m": 0.0,
                   "committed_from": start + timedelta(minutes=55),
                   "committed_to": start + timedelta(minutes=65), "reported_at": now,
                   "force": "Hampshire", "type_description": None, "batch_id": None,
                   "crime_text": None} for i, (_, _, lat, lon) in enumerate(tags)]
        hit_of = {hashlib.sha256(f"44/BG/{i}|{p}".encode()).hexdigest()[:32]: f"44/BG/{i}"
                  for i, (_, p, _, _) in enumerate(tags)}
        sent = await paced(ctx, codec, CRIMES_REPORTED.name, "CrimeReported", crimes,
                           "crime_ref", CRIME_RATE, "crime_ref")
        delays = await arrivals(receiver, sent,
                                lambda d: hit_of.get(d.body["source_id"], ""), 60)
        return delays, len(crimes)
    finally:
        gps.stop()


async def run(ctx: Context) -> SuiteResult:
    result = SuiteResult(NAME)
    await kafka.create_topics(ctx.settings, OPERATOR_TOPICS)
    codec = Codec(SchemaRegistry(ROOT / "schemas"))
    n = HIT_RATE * HIT_SECONDS
    people = [f"P-bn-{i}" for i in range(n)]
    await publish(ctx, codec, PEOPLE.name, "Person", [person(p) for p in people], "person_id")
    receiver = Receiver(SECRET, free_port())
    await receiver.start()
    with tempfile.TemporaryDirectory(prefix="bench-notifications-") as folder:
        tmp = Path(folder)
        env = {
            **await ctx.service_env("notifications"),
            "IOM_STORE_DIR": str(tmp / "state"), "IOM_LOG_LEVEL": "WARNING",
            "PATH": "/usr/bin:/bin", "BENCH_SECRET": SECRET,
            "IOM_NOTIFY_SUBSCRIPTIONS_FILE": str(subscriptions(tmp / "subs.toml",
                                                               receiver.port)),
        }
        # The suites share a broker: the worker reads from now on, not the hits, breaches
        # and tag alerts of the gps suite's 2,000 tags (people it was never told of, each
        # waited for IOM_NOTIFY_PERSON_WAIT_S and then dead-lettered: 0 of 2,000 timed hits
        # arrived within the minute).
        await testing.start_groups_at_the_end(ctx.settings)
        worker = ServiceProcess("notifications", env, tmp / "notifications.log", free_port())
        worker.start()
        try:
            # /health is 503 until the worker can route: followed topics read, the agent's
            # partitions assigned and its table restored; nothing is timed before that.
            await asyncio.to_thread(worker.wait_healthy, 120)
            at = datetime.now(UTC) - timedelta(hours=1)
            warm = [hit(-i - 1, people[i], at) for i in range(5)]  # the agent's first records
            await paced(ctx, codec, GPS_HITS.name, "CrimeHit", warm, "person_id", 10, "hit_id")
            await arrivals(receiver, {w["hit_id"]: 0.0 for w in warm},
                           lambda d: d.body["source_id"], 60)
            progress(f"notifications: {n} hits at {HIT_RATE}/s to one webhook")
            hits = [hit(i, people[i], at) for i in range(n)]
            sent = await paced(ctx, codec, GPS_HITS.name, "CrimeHit", hits, "person_id",
                               HIT_RATE, "hit_id")
            delays = await arrivals(receiver, sent, lambda d: d.body["source_id"], 60)
            p50, p99 = percentiles(delays)
            first = min(sent.values())
            slow = sorted(((round(d.at - sent[d.body["source_id"]], 3),
                            round(sent[d.body["source_id"]] - first, 2))
                           for d in receiver.deliveries if d.body["source_id"] in sent),
                          reverse=True)[:25]
            progress(f"notifications: {len(delays)}/{n} delivered, p50 {p50} ms, p99 {p99} ms")
            progress(f"notifications: crime to webhook through gps_stream, {TAGS} crimes")
            crime_delays, crimes = await crime_to_webhook(ctx, codec, receiver, env, tmp)
            c50, c99 = percentiles(crime_delays)
            progress(f"notifications: {len(crime_delays)}/{crimes} crimes told, p50 {c50} ms, "
                     f"p99 {c99} ms")
        finally:
            worker.stop()
            await receiver.stop()
    result.rows += [
        Row(f"notifications: hit-to-webhook p50 at {HIT_RATE} hits/s", p50, None, unit="ms"),
        Row(f"notifications: hit-to-webhook p99 at {HIT_RATE} hits/s", p99, None, target=500,
            unit="ms", lower_is_better=True),
        Row("notifications: crime-to-webhook p50 via gps_stream", c50, None, unit="ms"),
        Row("notifications: crime-to-webhook p99 via gps_stream", c99, None, target=1500,
            unit="ms", lower_is_better=True),
    ]
    result.facts.update({
        "hits": n, "hits_delivered": len(delays), "duplicates": receiver.duplicates,
        "refused_signatures": len(receiver.refused), "crimes": crimes,
        "crimes_told": len(crime_delays), "tags": TAGS,
        "slowest_hits_s_and_sent_at_s": slow,
    })
    result.notes.append("receiver in the benchmark process verifies every HMAC signature; "
                        "one notifications worker and one gps_stream worker, 2 cores")
    return result
