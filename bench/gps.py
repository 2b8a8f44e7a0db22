"""GPS suite: a synthetic day of tag trails replayed through the real broker into one
gps_stream worker, checked hit by hit against a brute-force oracle of the contract's rule.

* the day (numpy, seeded): 2,000 tags fitted to 2,000 people the day before, one fix a
  minute each for the 24 h ending an hour ago (2.88 million fixes), random walks around
  homes spread over the South East (London, Hampshire, Kent, Sussex, Thames Valley; about
  70 % of the H3 cells stay empty); accuracies mostly 5-60 m, 3 % vaguer than 200 m.
  1,400 crimes over the day: 140 placed within 50 m of some fix with a window around that
  fix's time, the rest anywhere, any time.
* throughput: crimes, enrolments and then the pings (``KeyedBatchProducer``, in time
  order) are on the topics before ONE gps_stream worker (a subprocess, as in production)
  starts; fixes/s is clocked from its first consumed ping to the last (its /metrics
  counter), so start-up and the group join are not counted.
* correctness: once the worker is idle (no lag on its device group nor on its evidence
  agent, and the hits topic quiet), the latest revision of every hit on iom.gps.hits; the
  ACTIVE ones (hit_id -> evidence recorded_at) must equal the oracle's exactly.
* baseline: the oracle itself, a brute-force scan written from the contract's rule: for
  each crime the fixes of its window +- 15 min from a time-sorted index, haversine
  (R = 6,371,008.8 m, numpy, then re-checked exactly in plain floats) <= 100 m + accuracies,
  accuracy <= 200, person by enrolment; its fixes/s is 2.88 million / its seconds.
* crime-to-hit latency: with the worker caught up, 200 new crimes, each on an existing
  trail and matching exactly one person, sent at 20/s; latency = the hit record's Kafka
  timestamp minus the crime's send time, matched by crime_ref.
* fix-to-breach latency: probed with one exclusion zone and one fresh ping inside it; if
  nothing reaches iom.zone-breaches the feature is not wired and the row is left empty,
  otherwise 100 fresh pings entering 100 zones, matched by person and first_fix_at.
* peak RSS: VmHWM of the worker process at the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench import Context
from bench.broker import fresh_topics
from bench.report import Row, SuiteResult, progress
from iomkit import headers as h
from iomkit import kafka
from iomkit.codec import Codec, SchemaRegistry
from iomkit.kafka import KeyedBatchProducer
from iomkit.processes import ServiceProcess, free_port
from iomkit.settings import ROOT, Settings
from iomkit.topics import (
    CRIMES_REPORTED,
    EXCLUSION_ZONES,
    GPS_HITS,
    OPERATOR_TOPICS,
    TAG_ENROLMENTS,
    TAG_PINGS,
    ZONE_BREACHES,
    TopicSpec,
)

NAME = "gps"
SEED = 20_260_601
DEVICES = 2_000
MINUTES = 24 * 60
FIXES = DEVICES * MINUTES
CRIMES = 1_400
ON_TRAIL = 140
LATENCY_CRIMES = 200
LATENCY_RATE = 20  # crimes a second
ZONE_PINGS = 100
ZONE_RATE = 20  # pings a second

TARGET_RATE = 20_000
TARGET_P99_MS = 1_000
TARGET_RSS_MIB = 1_536

# The contract's hit rule (rule_version 1), written out again here: the oracle must not
# borrow the service's code.
WINDOW_MS = 15 * 60_000
MAX_FIX_ACCURACY_M = 200.0
BASE_RADIUS_M = 100.0
EARTH_RADIUS_M = 6_371_008.8
SLACK_M = 0.5  # numpy's prefilter is this generous; the exact check decides

MINUTE_MS = 60_000
DAY_MS = 24 * 3600 * 1000
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180  # metres per degree of latitude
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# (name, force, lat from, lat to, lon from, lon to, share of homes and random crimes)
AREAS = (  # the South East: ~19,000 km2, ~180,000 H3 cells at resolution 9
    ("Greater London", "Metropolitan", 51.29, 51.69, -0.50, 0.31, 0.35),
    ("Hampshire", "Hampshire", 50.75, 51.35, -1.90, -0.75, 0.20),
    ("Kent", "Kent", 51.00, 51.45, 0.35, 1.40, 0.15),
    ("Sussex", "Sussex", 50.80, 51.10, -0.75, 0.35, 0.15),
    ("Thames Valley", "Thames Valley", 51.35, 52.05, -1.60, -0.55, 0.15),
)
OFFENCES = (  # CrimeReported.offence, crime file type id and description, share
    ("ROBBERY", "RB", "Robbery", 0.12),
    ("BURGLARY_DWELLING", "BIAD", "Burglary in a dwelling", 0.22),
    ("AGGRAVATED_BURGLARY", "AB", "Aggravated burglary", 0.03),
    ("BURGLARY_NON_DWELLING", "BOTD", "Burglary other than a dwelling", 0.13),
    ("THEFT_OF_VEHICLE", "TOMV", "Theft of a motor vehicle", 0.14),
    ("THEFT_FROM_VEHICLE", "TFMV", "Theft from a motor vehicle", 0.20),
    ("THEFT_FROM_PERSON", "TFP", "Theft from the person", 0.12),
    ("OTHER", None, None, 0.04),
)

# The worker's consumer groups and internal topics (services/gps_stream/app.py).
APP_ID = "throughcare-gps_stream"
DEVICE_GROUP = f"{APP_ID}-devices"
EVIDENCE_TOPIC = "throughcare-gps-evidence"
INTERNAL_TOPICS = (EVIDENCE_TOPIC, f"{APP_ID}-hits-changelog")
PUBLIC_TOPICS = (TAG_ENROLMENTS, TAG_PINGS, CRIMES_REPORTED, EXCLUSION_ZONES, GPS_HITS,
                 ZONE_BREACHES)
PINGS_IN = re.compile(
    r'iom_records_in_total\{service="gps_stream",topic="iom\.tag\.pings"\} ([0-9.e+]+)'
)
STALL_S = 120.0  # a worker that consumes nothing new for this long has failed


def at(ms: int) -> datetime:
    """Exact: an aware UTC datetime of epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def ms_of(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def hit_id(crime_ref: str, person_id: str) -> str:
    return hashlib.sha256(f"{crime_ref}|{person_id}".encode()).hexdigest()[:32]


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# -- the synthetic day ---------------------------------------------------------------------


@dataclass
class Day:
    start_ms: int  # first minute of the day; every fix is in [start, start + 24 h)
    end_ms: int
    devices: list[str]
    persons: list[str]
    area: np.ndarray  # device -> index into AREAS
    t: np.ndarray  # int64 ms, time order (the publishing order)
    dev: np.ndarray  # int32 device index
    lat: np.ndarray
    lon: np.ndarray
    acc: np.ndarray  # float64 holding float32 values: what Avro's float gives back
    enrolments: list[dict[str, Any]]
    crimes: list[dict[str, Any]]


def make_day(end_ms: int, seed: int = SEED) -> Day:
    rng = np.random.default_rng(seed)
    start_ms = end_ms - DAY_MS
    devices = [f"TAG-{d:05d}" for d in range(DEVICES)]
    persons = [f"P-gps-{d:05d}" for d in range(DEVICES)]
    shares = np.array([a[6] for a in AREAS])
    area = rng.choice(len(AREAS), size=DEVICES, p=shares / shares.sum())
    box = np.array([a[2:6] for a in AREAS])[area]
    home_lat = rng.uniform(box[:, 0], box[:, 1])
    home_lon = rng.uniform(box[:, 2], box[:, 3])
    # Random walks (metres from home) pulled gently back home: the walkers' typical step
    # is 5 m to 120 m a minute, so trails reach tens of metres to about a kilometre.
    sigma = np.exp(rng.uniform(math.log(5), math.log(120), DEVICES))
    pull = 0.02
    north = np.empty((MINUTES, DEVICES))
    east = np.empty((MINUTES, DEVICES))
    y = np.zeros(DEVICES)
    x = np.zeros(DEVICES)
    steps = rng.normal(0.0, 1.0, (2, MINUTES, DEVICES)) * sigma
    for i in range(MINUTES):
        y = y * (1 - pull) + steps[0, i]
        x = x * (1 - pull) + steps[1, i]
        north[i] = y
        east[i] = x
    kind = rng.random((MINUTES, DEVICES))
    acc = np.where(kind < 0.90, rng.uniform(5, 60, kind.shape),
                   np.where(kind < 0.97, rng.uniform(60, 200, kind.shape),
                            rng.uniform(200.5, 1500, kind.shape)))
    acc = np.round(acc, 1).astype(np.float32).astype(np.float64)
    noise = rng.normal(0.0, 1.0, (2, MINUTES, DEVICES)) * (acc / 2)
    lat = home_lat + (north + noise[0]) / M_PER_DEG
    lon = home_lon + (east + noise[1]) / (M_PER_DEG * np.cos(np.radians(home_lat)))
    # Each tag takes its fix at its own second of every minute: in a minute, devices in
    # the order of that second, so the flattened arrays are in time order.
    offset = rng.integers(0, MINUTE_MS, DEVICES)
    order = np.argsort(offset, kind="stable")
    t = (start_ms + np.arange(MINUTES, dtype=np.int64)[:, None] * MINUTE_MS
         + offset[order][None, :])
    day = Day(
        start_ms=start_ms, end_ms=end_ms, devices=devices, persons=persons, area=area,
        t=t.ravel(), dev=np.broadcast_to(order.astype(np.int32), (MINUTES, DEVICES)).ravel(),
        lat=lat[:, order].ravel(), lon=lon[:, order].ravel(), acc=acc[:, order].ravel(),
        enrolments=[], crimes=[],
    )
    fitted = start_ms - DAY_MS
    day.enrolments = [{
        "enrolment_id": f"E-gps-{d:05d}", "device_id": devices[d], "person_id": persons[d],
        "status": "FITTED", "effective_at": at(fitted), "monitoring_ends_at": None,
    } for d in range(DEVICES)]
    day.crimes = make_crimes(rng, day)
    return day


def crime_duration_ms(rng: np.random.Generator) -> int:
    """committed_to - committed_from: mostly under an hour, some a night (<= 12 h)."""
    r = rng.random()
    minutes = (rng.uniform(0, 60) if r < 0.6 else
               rng.uniform(60, 240) if r < 0.9 else rng.uniform(240, 720))
    return int(minutes * 60) * 1000


def crime_value(rng: np.random.Generator, ref: str, lat: float, lon: float, force: str,
                start_ms: int, end_ms: int, now_ms: int, accuracy: float | None = None
                ) -> dict[str, Any]:
    shares = np.array([o[3] for o in OFFENCES])
    offence, code, description, _ = OFFENCES[rng.choice(len(OFFENCES), p=shares / shares.sum())]
    if accuracy is None:
        accuracy = 0.0 if rng.random() < 0.7 else float(round(rng.uniform(5, 100)))
    reported = min(now_ms, end_ms + int(rng.uniform(1, 24) * 3600) * 1000)
    return {
        "crime_ref": ref, "version": 1, "offence": offence, "lat": lat, "lon": lon,
        "location_accuracy_m": accuracy, "committed_from": at(start_ms),
        "committed_to": at(end_ms), "reported_at": at(reported), "force": force,
        "type_description": description,
        "batch_id": f"{force[:4].upper()}-{at(end_ms):%Y%m%d}" if code else None,
        "crime_text": f"bench: synthetic {code or 'other'} crime",
    }


def near(rng: np.random.Generator, lat: float, lon: float, metres: float) -> tuple[float, float]:
    """A point up to ``metres`` from (lat, lon), uniformly over the disc."""
    r = metres * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    return (lat + r * math.cos(bearing) / M_PER_DEG,
            lon + r * math.sin(bearing) / (M_PER_DEG * math.cos(math.radians(lat))))


def make_crimes(rng: np.random.Generator, day: Day) -> list[dict[str, Any]]:
    now_ms = day.end_ms + 3600 * 1000
    crimes = []
    usable = np.flatnonzero(day.acc <= 60)
    for i in range(ON_TRAIL):  # within 50 m of a fix, a window around the fix's time
        k = int(usable[rng.integers(len(usable))])
        lat, lon = near(rng, float(day.lat[k]), float(day.lon[k]), 50.0)
        duration = crime_duration_ms(rng)
        before = int(rng.uniform(0, duration) / 1000) * 1000
        t = int(day.t[k]) // 1000 * 1000
        lo, hi = t - before, min(day.end_ms // 1000 * 1000, t - before + duration)
        force = AREAS[int(day.area[day.dev[k]])][1]
        crimes.append(crime_value(rng, f"BT/{i:05d}/26", lat, lon, force, lo, hi, now_ms))
    shares = np.array([a[6] for a in AREAS])
    for i in range(CRIMES - ON_TRAIL):  # anywhere in the area, any time of the day
        area = AREAS[rng.choice(len(AREAS), p=shares / shares.sum())]
        lat, lon = rng.uniform(area[2], area[3]), rng.uniform(area[4], area[5])
        duration = crime_duration_ms(rng)
        lo = int(rng.uniform(day.start_ms - 2 * 3600_000, day.end_ms - duration) / 1000) * 1000
        crimes.append(crime_value(rng, f"BR/{i:05d}/26", float(lat), float(lon), area[1], lo,
                                  lo + duration, now_ms))
    order = rng.permutation(len(crimes))
    return [crimes[i] for i in order]


# -- the oracle (and baseline): a brute-force scan of the contract's rule ----------------------


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def person_at(enrolments: Sequence[tuple[int, str, str, str, int | None]], t: int) -> str | None:
    """Rule 1: the latest enrolment of the device effective at t (ties: the greater
    enrolment_id) is FITTED, and monitoring has not ended before t."""
    live = [e for e in enrolments if e[0] <= t]
    if not live:
        return None
    _effective, _id, status, person, ends = max(live, key=lambda e: (e[0], e[1]))
    if status != "FITTED" or (ends is not None and ends < t):
        return None
    return person


class BruteForce:
    """Every fix of every crime's window, one crime at a time."""

    def __init__(self, day: Day) -> None:
        order = np.argsort(day.t, kind="stable")  # the time index
        self.t = day.t[order]
        self.lat = day.lat[order]
        self.lon = day.lon[order]
        self.acc = day.acc[order]
        self.dev = day.dev[order]
        self.phi = np.radians(self.lat)
        self.cos_phi = np.cos(self.phi)
        self.lam = np.radians(self.lon)
        self.devices = day.devices
        self.enrolments: dict[str, list[tuple[int, str, str, str, int | None]]] = {}
        for e in day.enrolments:
            ends = e["monitoring_ends_at"]
            self.enrolments.setdefault(e["device_id"], []).append(
                (ms_of(e["effective_at"]), e["enrolment_id"], e["status"], e["person_id"],
                 None if ends is None else ms_of(ends)))
        self.scanned = 0  # (fix, crime) pairs looked at

    def evidence(self, crime: dict[str, Any]) -> dict[str, set[int]]:
        """person_id -> recorded_at of every fix that is evidence for the crime."""
        i0 = int(np.searchsorted(self.t, ms_of(crime["committed_from"]) - WINDOW_MS, "left"))
        i1 = int(np.searchsorted(self.t, ms_of(crime["committed_to"]) + WINDOW_MS, "right"))
        self.scanned += max(0, i1 - i0)
        if i1 <= i0:
            return {}
        clat, clon, cacc = crime["lat"], crime["lon"], crime["location_accuracy_m"]
        phi = math.radians(clat)
        s1 = np.sin((self.phi[i0:i1] - phi) * 0.5)
        s2 = np.sin((self.lam[i0:i1] - math.radians(clon)) * 0.5)
        hav = s1 * s1 + self.cos_phi[i0:i1] * math.cos(phi) * (s2 * s2)
        dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(hav, 1.0)))
        acc = self.acc[i0:i1]
        close = (acc <= MAX_FIX_ACCURACY_M) & (dist <= BASE_RADIUS_M + acc + cacc + SLACK_M)
        found: dict[str, set[int]] = {}
        for k in (np.flatnonzero(close) + i0).tolist():
            fix_acc = float(self.acc[k])
            d = haversine_m(float(self.lat[k]), float(self.lon[k]), clat, clon)
            if not (fix_acc <= MAX_FIX_ACCURACY_M and d <= BASE_RADIUS_M + fix_acc + cacc):
                continue
            t = int(self.t[k])
            person = person_at(self.enrolments.get(self.devices[int(self.dev[k])], ()), t)
            if person is not None:
                found.setdefault(person, set()).add(t)
        return found

    def hits(self, crimes: Sequence[dict[str, Any]]) -> dict[str, frozenset[int]]:
        """hit_id -> evidence recorded_at: what iom.gps.hits must hold ACTIVE."""
        out = {}
        for crime in crimes:
            for person, times in self.evidence(crime).items():
                out[hit_id(crime["crime_ref"], person)] = frozenset(times)
        return out


# -- the broker side -----------------------------------------------------------------------


async def publish(settings: Settings, codec: Codec, spec: TopicSpec,
                  values: Sequence[dict[str, Any]]) -> None:
    assert spec.record is not None
    producer = kafka.producer(settings, linger_ms=20, max_batch_size=1024 * 1024,
                              client_id="bench")
    await producer.start()
    try:
        batches = await KeyedBatchProducer.for_topic(producer, spec.name,
                                                     headers=h.record_headers(spec.record))
        for value in values:
            await batches.send(value[spec.key].encode(), codec.encode(spec.record, value))
        await batches.flush()
    finally:
        await producer.stop()


async def publish_pings(settings: Settings, codec: Codec, day: Day, chunk: int = 100_000
                        ) -> float:
    """Every fix of the day in time order; returns pings/s (encode and publish)."""
    producer = kafka.producer(settings, linger_ms=20, max_batch_size=1024 * 1024,
                              client_id="bench")
    await producer.start()
    try:
        batches = await KeyedBatchProducer.for_topic(producer, TAG_PINGS.name,
                                                     headers=h.record_headers("TagPing"))
        keys = [d.encode() for d in day.devices]
        send, encode = batches.send, codec.encode
        started = time.perf_counter()
        for lo in range(0, FIXES, chunk):
            hi = min(FIXES, lo + chunk)
            for d, t, lat, lon, acc in zip(day.dev[lo:hi].tolist(), day.t[lo:hi].tolist(),
                                           day.lat[lo:hi].tolist(), day.lon[lo:hi].tolist(),
                                           day.acc[lo:hi].tolist(), strict=True):
                await send(keys[d], encode("TagPing", {
                    "device_id": day.devices[d], "recorded_at": t, "lat": lat, "lon": lon,
                    "accuracy_m": acc}))
        delivered = await batches.flush()
        seconds = time.perf_counter() - started
    finally:
        await producer.stop()
    if delivered != FIXES:
        raise RuntimeError(f"{delivered:,} of {FIXES:,} pings acknowledged")
    return FIXES / seconds


async def delete_topics(settings: Settings, names: Sequence[str]) -> None:
    """The worker's internal topics from an earlier run (on a --bootstrap broker)."""
    client = await kafka.admin(settings)
    try:
        stale = sorted(set(names) & set(await client.list_topics()))
        if stale:
            await client.delete_topics(stale)
            for _ in range(120):
                if not set(stale) & set(await client.list_topics()):
                    return
                await asyncio.sleep(0.5)
            raise RuntimeError(f"topics {stale} were not deleted within 60 s")
    finally:
        await client.close()


def pings_consumed(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0.0  # not serving yet
    match = PINGS_IN.search(text)
    return float(match.group(1)) if match else 0.0


@dataclass
class Replay:
    rate: float
    seconds: float
    first_ping_after_s: float  # from the worker's start to its first consumed ping


async def replay(worker: ServiceProcess) -> Replay:
    started = time.perf_counter()
    worker.start()
    first: tuple[float, float] | None = None
    last_change, last_count, reported = started, 0.0, started
    while True:
        if not worker.alive():
            raise RuntimeError(f"gps_stream exited: see {worker.log_file}")
        count = await asyncio.to_thread(pings_consumed, worker.port)
        now = time.perf_counter()
        if count != last_count:
            last_change, last_count = now, count
        elif now - last_change > STALL_S:
            raise RuntimeError(f"gps_stream consumed nothing for {STALL_S:.0f} s at "
                               f"{count:,.0f}/{FIXES:,}: see {worker.log_file}")
        if count and first is None:
            first = (now, count)
        if count >= FIXES:
            break
        if first is not None and now - reported >= 15:
            reported = now
            progress(f"gps: {count:,.0f}/{FIXES:,} pings consumed, "
                     f"{(count - first[1]) / max(now - first[0], 1e-9):,.0f}/s")
        await asyncio.sleep(0.25)
    assert first is not None
    seconds = now - first[0]
    return Replay((count - first[1]) / max(seconds, 1e-9), seconds, first[0] - started)


async def group_lag(settings: Settings, group: str, topics: Sequence[str]) -> int:
    client = await kafka.admin(settings)
    try:
        committed = await client.list_consumer_group_offsets(group)
    finally:
        await client.close()
    lag = 0
    for topic in topics:
        for tp, end in (await kafka.end_offsets(settings, topic)).items():
            done = committed.get(tp)
            lag += end - (done.offset if done is not None and done.offset >= 0 else 0)
    return lag


async def hits_end(settings: Settings) -> dict[Any, int]:
    return await kafka.end_offsets(settings, GPS_HITS.name)


async def wait_idle(settings: Settings, within: float = 120.0) -> float:
    """Until both consumer groups of the worker have no lag and the hits topic stopped
    growing; returns the seconds it took."""
    started = time.perf_counter()
    ends: dict[Any, int] | None = None
    while time.perf_counter() - started < within:
        devices = await group_lag(settings, DEVICE_GROUP, [TAG_PINGS.name, TAG_ENROLMENTS.name])
        evidence = await group_lag(settings, APP_ID, [EVIDENCE_TOPIC])
        now_ends = await hits_end(settings)
        if devices == 0 and evidence == 0 and now_ends == ends:
            return time.perf_counter() - started
        ends = now_ends if devices == 0 and evidence == 0 else None
        await asyncio.sleep(2.0)
    raise TimeoutError(f"gps_stream not idle within {within:.0f} s")


async def read_hits(settings: Settings, codec: Codec) -> list[tuple[dict[str, Any], int]]:
    """Every CrimeHit on the topic now, with its Kafka timestamp."""
    ends = await hits_end(settings)
    reader = kafka.consumer(settings, group_id=None, client_id="bench")
    await reader.start()
    out = []
    try:
        tps = [tp for tp, end in ends.items() if end > 0]
        if not tps:
            return []
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        pending = set(tps)
        while pending:
            for records in (await reader.getmany(*pending, timeout_ms=500,
                                                 max_records=5000)).values():
                for m in records:
                    out.append((codec.decode(m.value, expect="CrimeHit").value, m.timestamp))
            pending = {tp for tp in pending if await reader.position(tp) < ends[tp]}
    finally:
        await kafka.stop_consumer(reader)
    return out


def active_hits(hits: Sequence[tuple[dict[str, Any], int]]) -> dict[str, frozenset[int]]:
    """hit_id -> evidence recorded_at of the latest revision of every hit, if ACTIVE."""
    latest: dict[str, dict[str, Any]] = {}
    for hit, _ts in hits:
        known = latest.get(hit["hit_id"])
        if known is None or hit["revision"] > known["revision"]:
            latest[hit["hit_id"]] = hit
    return {k: frozenset(ms_of(f["recorded_at"]) for f in hit["fixes"])
            for k, hit in latest.items() if hit["status"] == "ACTIVE"}


# -- latency -----------------------------------------------------------------------------


def latency_crimes(day: Day, oracle: BruteForce, seed: int = SEED + 1
                   ) -> list[dict[str, Any]]:
    """Crimes at exactly one fix, a window around its time: each must match exactly one
    person (checked with the oracle)."""
    rng = np.random.default_rng(seed)
    now_ms = int(time.time() * 1000)
    crimes: list[dict[str, Any]] = []
    usable = np.flatnonzero(day.acc <= 30)
    while len(crimes) < LATENCY_CRIMES:
        k = int(usable[rng.integers(len(usable))])
        t = int(day.t[k]) // 1000 * 1000
        crime = crime_value(rng, f"LT/{len(crimes):05d}/26", float(day.lat[k]),
                            float(day.lon[k]), AREAS[int(day.area[day.dev[k]])][1],
                            t - 5 * MINUTE_MS, t + 5 * MINUTE_MS, now_ms, accuracy=0.0)
        if len(oracle.evidence(crime)) == 1:
            crimes.append(crime)
    return crimes


async def crime_to_hit(settings: Settings, codec: Codec, crimes: Sequence[dict[str, Any]]
                       ) -> list[float]:
    """Send the crimes at LATENCY_RATE; ms from each send to its first hit record."""
    reader = kafka.consumer(settings, GPS_HITS.name, group_id=None, client_id="bench")
    await reader.start()
    producer = kafka.producer(settings, linger_ms=0, client_id="bench")
    await producer.start()
    sent: dict[str, float] = {}
    delays: list[float] = []

    async def collect(until: float) -> None:
        while time.monotonic() < until and len(delays) < len(crimes):
            for records in (await reader.getmany(timeout_ms=100)).values():
                for m in records:
                    ref = codec.decode(m.value, expect="CrimeHit").value["crime_ref"]
                    if ref in sent:
                        delays.append(m.timestamp - sent.pop(ref) * 1000)

    try:
        headers = h.record_headers("CrimeReported")
        collector = asyncio.create_task(collect(time.monotonic() + 3600))
        started = time.perf_counter()
        for i, crime in enumerate(crimes):
            if (wait := started + i / LATENCY_RATE - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            value = codec.encode("CrimeReported", crime)
            sent[crime["crime_ref"]] = time.time()
            await producer.send(CRIMES_REPORTED.name, value, key=crime["crime_ref"].encode(),
                                headers=headers)
        await producer.flush()
        try:
            await asyncio.wait_for(collector, 30)
        except TimeoutError:
            pass
    finally:
        await producer.stop()
        await kafka.stop_consumer(reader)
    return delays


@dataclass
class Breaches:
    wired: bool
    delays: list[float]


def zone_around(zone_id: str, person: str, lat: float, lon: float, active_from: int
                ) -> dict[str, Any]:
    """A 400 m square exclusion zone centred on (lat, lon), from active_from on."""
    dlat = 200 / M_PER_DEG
    dlon = 200 / (M_PER_DEG * math.cos(math.radians(lat)))
    ring = [[lat - dlat, lon - dlon], [lat - dlat, lon + dlon], [lat + dlat, lon + dlon],
            [lat + dlat, lon - dlon], [lat - dlat, lon - dlon]]
    return {"zone_id": zone_id, "person_id": person, "kind": "EXCLUSION", "polygon": ring,
            "active_from": at(active_from), "active_to": None, "version": 1,
            "victim_safety": False}


def last_fixes(day: Day) -> dict[int, tuple[float, float]]:
    """device -> (lat, lon) of its last fix of the day."""
    tail = slice(FIXES - DEVICES, FIXES)  # the last minute holds one fix of every device
    return {d: (lat, lon) for d, lat, lon in zip(day.dev[tail].tolist(),
                                                day.lat[tail].tolist(),
                                                day.lon[tail].tolist(), strict=True)}


async def fix_to_breach(settings: Settings, codec: Codec, day: Day,
                        probe_s: float = 8.0) -> Breaches:
    """Zones (active from now, around each person's last position) and then one fresh ping
    inside each: the first a probe, the next ZONE_PINGS measured."""
    reader = kafka.consumer(settings, ZONE_BREACHES.name, group_id=None, client_id="bench")
    await reader.start()
    producer = kafka.producer(settings, linger_ms=0, client_id="bench")
    await producer.start()
    positions = last_fixes(day)
    zone_headers = h.record_headers("ExclusionZone")
    ping_headers = h.record_headers("TagPing")
    sent: dict[str, tuple[int, float]] = {}  # person -> (ping recorded_at, send time)
    delays: list[float] = []

    async def zones_and_pings(devices: Sequence[int], rate: float | None) -> None:
        now_ms = int(time.time() * 1000)
        for d in devices:
            lat, lon = positions[d]
            zone = zone_around(f"Z-bench-{d:05d}-{now_ms}", day.persons[d], lat, lon, now_ms)
            await producer.send(EXCLUSION_ZONES.name, codec.encode("ExclusionZone", zone),
                                key=zone["zone_id"].encode(), headers=zone_headers)
        await producer.flush()
        await asyncio.sleep(2.0)  # the zones reach the worker before the pings do
        started = time.perf_counter()
        for i, d in enumerate(devices):
            if rate and (wait := started + i / rate - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            lat, lon = positions[d]
            recorded = int(time.time() * 1000)
            value = codec.encode("TagPing", {"device_id": day.devices[d],
                                             "recorded_at": recorded, "lat": lat, "lon": lon,
                                             "accuracy_m": 8.0})
            sent[day.persons[d]] = (recorded, time.time())
            await producer.send(TAG_PINGS.name, value, key=day.devices[d].encode(),
                                headers=ping_headers)
        await producer.flush()

    async def collect(until: float, want: int) -> None:
        while time.monotonic() < until and len(delays) < want:
            for records in (await reader.getmany(timeout_ms=100)).values():
                for m in records:
                    breach = codec.decode(m.value, expect="ZoneBreach").value
                    mine = sent.get(breach["person_id"])
                    if mine is not None and ms_of(breach["first_fix_at"]) == mine[0]:
                        del sent[breach["person_id"]]
                        delays.append(m.timestamp - mine[1] * 1000)

    try:
        await zones_and_pings([0], None)
        await collect(time.monotonic() + probe_s, 1)
        if not delays:
            return Breaches(False, [])
        delays.clear()
        sent.clear()
        devices = list(range(1, ZONE_PINGS + 1))
        await zones_and_pings(devices, ZONE_RATE)
        await collect(time.monotonic() + 30, len(devices))
        return Breaches(True, delays)
    finally:
        await producer.stop()
        await kafka.stop_consumer(reader)


# -- the worker's memory ----------------------------------------------------------------------


def memory_of(pid: int) -> dict[str, Any]:
    """VmHWM / VmRSS (MiB) of the process, and what it runs (it must be the worker)."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += (task / "children").read_text().split()
        except OSError:  # a thread that ended meanwhile, or no CONFIG_PROC_CHILDREN
            pass
    return {
        "hwm_mib": int(fields["VmHWM"].split()[0]) / 1024,
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "cmdline": " ".join(part.decode() for part in cmdline if part),
        "children": children,
    }


# -- the suite ---------------------------------------------------------------------------------


def compare(found: dict[str, frozenset[int]], expected: dict[str, frozenset[int]]
            ) -> dict[str, int]:
    both = found.keys() & expected.keys()
    return {
        "missing": len(expected.keys() - found.keys()),
        "extra": len(found.keys() - expected.keys()),
        "evidence_differs": sum(found[k] != expected[k] for k in both),
        "exact": sum(found[k] == expected[k] for k in both),
    }


@dataclass(frozen=True)
class ExactRow(Row):
    """A row met only when ``exact``: the same hits, with the same evidence."""

    exact: bool = False

    @property
    def met(self) -> bool | None:
        return self.exact


async def run(ctx: Context) -> SuiteResult:
    result = SuiteResult(NAME)
    settings = ctx.settings
    codec = Codec(SchemaRegistry(ROOT / "schemas"))
    end_ms = (int(time.time()) // 60 - 60) * MINUTE_MS  # the day ends an hour ago
    progress(f"gps: generating the day: {DEVICES:,} tags x {MINUTES:,} fixes, {CRIMES:,} "
             "crimes")
    generated = time.perf_counter()
    day = make_day(end_ms)
    generate_s = time.perf_counter() - generated

    await delete_topics(settings, INTERNAL_TOPICS)
    await fresh_topics(settings, PUBLIC_TOPICS)
    await kafka.create_topics(settings, OPERATOR_TOPICS)  # dead letters, audit
    await publish(settings, codec, CRIMES_REPORTED, day.crimes)
    await publish(settings, codec, TAG_ENROLMENTS, day.enrolments)
    progress(f"gps: publishing {FIXES:,} pings")
    produce_rate = await publish_pings(settings, codec, day)
    progress(f"gps: pings published at {produce_rate:,.0f}/s; starting one gps_stream worker")

    with tempfile.TemporaryDirectory(prefix="bench-gps-") as tmp:
        env = {
            **await ctx.service_env("gps_stream"),
            "IOM_STORE_DIR": str(Path(tmp) / "state"), "IOM_LOG_LEVEL": "WARNING",
            "PATH": "/usr/bin:/bin",
        }
        worker = ServiceProcess("gps_stream", env, Path(tmp) / "gps_stream.log", free_port())
        try:
            clocked = await replay(worker)
            progress(f"gps: {clocked.rate:,.0f} fixes/s over {clocked.seconds:.1f} s; "
                     "waiting for the worker to be idle")
            idle_s = await wait_idle(settings)
            hits = await read_hits(settings, codec)
            found = active_hits(hits)

            progress(f"gps: brute force over {FIXES:,} fixes and {CRIMES:,} crimes")
            brute_started = time.perf_counter()
            oracle = BruteForce(day)
            expected = oracle.hits(day.crimes)
            brute_s = time.perf_counter() - brute_started
            scanned = oracle.scanned
            diff = compare(found, expected)
            progress(f"gps: worker {len(found)} ACTIVE hits, oracle {len(expected)}: {diff}; "
                     f"brute force {brute_s:.1f} s")

            progress(f"gps: crime-to-hit, {LATENCY_CRIMES} crimes at {LATENCY_RATE}/s")
            delays = await crime_to_hit(settings, codec, latency_crimes(day, oracle))
            progress(f"gps: {len(delays)} hits timed; zone-breach probe")
            breaches = await fix_to_breach(settings, codec, day)
            if not worker.alive():
                raise RuntimeError(f"gps_stream exited: see {worker.log_file}")
            assert worker.process is not None
            memory = memory_of(worker.process.pid)
        finally:
            worker.stop()
    if "services.gps_stream.app" not in memory["cmdline"]:
        raise RuntimeError(f"pid {memory} is not the worker itself")

    exact = diff["missing"] == diff["extra"] == diff["evidence_differs"] == 0
    brute_rate = FIXES / brute_s
    zone_note = ("" if breaches.wired else "zone breaches not wired in this build: nothing on "
                 "iom.zone-breaches for a fresh ping inside a fresh exclusion zone")
    result.rows += [
        Row("gps: fixes/s, one worker", clocked.rate, brute_rate, target=TARGET_RATE,
            unit="fixes/s", note="baseline: brute-force scan of the same day (numpy), "
            "in the bench process"),
        ExactRow("gps: hits found / oracle", len(found), len(expected), target=len(expected),
                 unit="hits", exact=exact,
                 note=f"missing {diff['missing']}, extra {diff['extra']}, "
                 f"evidence differs {diff['evidence_differs']}"),
        Row(f"gps: crime-to-hit p50 at {LATENCY_RATE} crimes/s", percentile(delays, 0.5), None,
            unit="ms"),
        Row(f"gps: crime-to-hit p99 at {LATENCY_RATE} crimes/s", percentile(delays, 0.99),
            None, target=TARGET_P99_MS, unit="ms", lower_is_better=True),
        Row("gps: fix-to-breach p99", percentile(breaches.delays, 0.99), None,
            target=TARGET_P99_MS, unit="ms", lower_is_better=True, note=zone_note),
        Row("gps: peak RSS, one worker", memory["hwm_mib"], None, target=TARGET_RSS_MIB,
            unit="MiB", lower_is_better=True, note="VmHWM of the worker process"),
    ]
    if zone_note:
        result.notes.append(zone_note)
    if len(delays) < LATENCY_CRIMES:
        result.notes.append(f"crime-to-hit: only {len(delays)} of {LATENCY_CRIMES} crimes "
                            "produced a hit within 30 s")
    result.facts.update({
        "devices": DEVICES, "fixes": FIXES, "crimes": CRIMES, "crimes_on_trails": ON_TRAIL,
        "vague_fixes": int((day.acc > MAX_FIX_ACCURACY_M).sum()),
        "day": f"{at(day.start_ms).isoformat()} .. {at(day.end_ms).isoformat()}",
        "hits_exact": exact, "oracle_hits": len(expected),
        "worker_active_hits": len(found), "hit_records": len(hits), **diff,
        "generate_seconds": round(generate_s, 1),
        "publish_pings_per_s": round(produce_rate),
        "worker_first_ping_after_s": round(clocked.first_ping_after_s, 1),
        "replay_seconds": round(clocked.seconds, 1),
        "idle_wait_seconds": round(idle_s, 1),
        "brute_force_seconds": round(brute_s, 2),
        "brute_force_pairs": scanned,
        "latency_hits_timed": len(delays),
        "zone_breaches_wired": breaches.wired,
        "breaches_timed": len(breaches.delays),
        "worker_rss_end_mib": round(memory["rss_mib"]),
        "worker_pid_runs": memory["cmdline"],
        "worker_children": memory["children"],
    })
    return result
