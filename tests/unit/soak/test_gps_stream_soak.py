"""Soak of gps_stream's in-memory state: 40 simulated days through ``PartitionMatchers``
(its four partitions' hit matchers, zone-breach trackers and tag health) and the views'
published hits and aligned ids (``assembly.settled``), with no broker.

Driven: 40 tags over two partitions, each fitted to a person, pinging every 30 minutes
while walking about a 2.2 x 1.4 km patch of Southampton (1 in 40 fixes too vague to use);
2 crimes an hour in the same patch (so many meet a trail and make hits); an exclusion zone
for one person in ten; ``purge`` and ``settled`` every simulated hour (as the purge timer,
``IOM_GPS_PURGE_INTERVAL_S`` 3600) and ``TagHealth.check`` hourly, all on the simulated
clock, with 30 days' retention. Sizes are sampled every hour. (The rate is small so the
test takes about 4 s; the fix index scales with tags x pings a day.)

Figures (peak over days 31-35 -> peak over days 36-40; ``pytest -s`` prints them):
fixes held 57,603 -> 57,603 (40 tags x 48 a day x 30 days); live crimes 1,441 -> 1,441
(each partition's matcher holds them too: 2,882); matcher hits 2,063 -> 2,060, with as
many published hits and aligned ids in the views; breach runs 91 -> 91. Before the
matcher forgot crimes past retention with their hits, its crimes grew 10,368 -> 11,520
over those days (48 tags, 3 crimes an hour, four partitions) and the test failed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import Settings
from services.gps_stream.assembly import settled
from services.gps_stream.config import GpsSettings
from services.gps_stream.matcher import HitUpdate
from services.gps_stream.partitions import PartitionMatchers, crime_of
from services.gps_stream.taghealth import TagHealth
from services.gps_stream.trail import epoch_ms
from services.gps_stream.zones import validate_zone
from tests.unit.soak.plateau import Sizes

ROOT = Path(__file__).resolve().parents[3]
START = datetime(2028, 1, 3, tzinfo=UTC)
DAYS = 40
TAGS = 40
PING_MIN = 30
CRIMES_PER_HOUR = 2
PARTITIONS = 2
LAT0, LON0 = 50.90, -1.42
SPAN = 0.02  # degrees: about 2.2 km north-south, 1.4 km east-west


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def square(lat: float, lon: float, half: float) -> list[list[float]]:
    return [[lat - half, lon - half], [lat - half, lon + half], [lat + half, lon + half],
            [lat + half, lon - half], [lat - half, lon - half]]


def test_gps_stream_state_is_flat_once_the_retention_window_is_full() -> None:
    rng = random.Random(14)
    gps = GpsSettings()
    clock = Clock()
    matchers = PartitionMatchers(
        Settings(), Codec(SchemaRegistry(ROOT / "schemas")), gps.rule(), gps.retention_ms,
        clock, health=lambda: TagHealth(int(gps.silence_s * 1000), gps.unusable_after,
                                        gps.max_fix_accuracy_m))
    for n in range(PARTITIONS):
        matchers.partitions[n] = matchers._new_partition(n)
    published: dict[bytes, dict[str, Any]] = {}  # as app.follow_hits keeps it
    aligned: set[bytes] = set()  # as app.evidence_found keeps it

    def deliver(updates: list[tuple[int, HitUpdate]] | list[HitUpdate]) -> None:
        for update in updates:
            u = update[1] if isinstance(update, tuple) else update
            key = u.hit_id.encode()
            aligned.add(key)
            published[key] = {"crime_ref": u.crime_ref, "nearest_fix_at": datetime.fromtimestamp(
                u.nearest_fix_at_ms / 1000, UTC)}

    tags = [f"TAG-{i:04d}" for i in range(TAGS)]
    where = {t: [LAT0 + rng.random() * SPAN, LON0 + rng.random() * SPAN] for t in tags}
    offset = 0
    for i, tag in enumerate(tags):
        offset += 1
        matchers.device_input(i % PARTITIONS, offset, "TagEnrolment", {
            "enrolment_id": f"E-{i}", "device_id": tag, "person_id": f"P-{i:04d}",
            "status": "FITTED", "effective_at": START, "monitoring_ends_at": None})
        if i % 10 == 0:
            lat, lon = where[tag]
            matchers.zones.update(validate_zone({
                "zone_id": f"Z-{i}", "person_id": f"P-{i:04d}", "kind": "EXCLUSION",
                "polygon": square(lat + 0.004, lon + 0.004, 0.002), "version": 1,
                "active_from": START, "active_to": None}))

    parts = matchers.partitions.values()
    sizes = Sizes({
        "fixes held (all partitions)": lambda: sum(p.matcher.fix_count for p in parts),
        "matcher cells with fixes": lambda: sum(len(p.matcher._cells) for p in parts),
        "matcher device trails": lambda: sum(len(p.matcher._devices) for p in parts),
        "matcher crimes (all partitions)": lambda: sum(len(p.matcher._crimes) for p in parts),
        "matcher crimes registered": lambda: sum(len(p.matcher._registered) for p in parts),
        "matcher crime cells": lambda: sum(len(p.matcher._crime_cells) for p in parts),
        "matcher hits": lambda: sum(len(p.matcher._hits) for p in parts),
        "matcher persons of crime": lambda: sum(len(p.matcher._persons_of_crime)
                                                for p in parts),
        "matcher evidence of fix": lambda: sum(len(p.matcher._evidence_of_fix) for p in parts),
        "live crimes (PartitionMatchers.crimes)": lambda: len(matchers.crimes),
        "breach runs": lambda: sum(p.breaches.state_size() for p in parts),
        "breach pairs": lambda: sum(len(p.breaches._pairs) for p in parts),
        "tag health devices": lambda: sum(len(p.health._devices) for p in parts),
        "published hits (views)": lambda: len(published),
        "aligned hit ids": lambda: len(aligned),
    })
    # Sizes bounded by the tags and the square alone, not by time: full from the first days.
    by_tags = ("matcher device trails", "matcher cells with fixes", "breach pairs",
               "tag health devices")

    step = timedelta(minutes=PING_MIN)
    per_hour = 60 // PING_MIN
    crime_no = 0
    ticks = DAYS * 24 * per_hour
    for tick in range(ticks):
        clock.now = START + tick * step
        day = tick // (24 * per_hour)
        for i, tag in enumerate(tags):
            pos = where[tag]
            pos[0] = min(max(pos[0] + rng.gauss(0, 0.0008), LAT0), LAT0 + SPAN)
            pos[1] = min(max(pos[1] + rng.gauss(0, 0.0012), LON0), LON0 + SPAN)
            offset += 1
            recorded = clock.now - timedelta(seconds=rng.randrange(60))
            updates, _breaches, _alerts = matchers.device_input(i % PARTITIONS, offset, "TagPing", {
                "device_id": tag, "recorded_at": recorded, "lat": pos[0], "lon": pos[1],
                "accuracy_m": 400.0 if rng.random() < 1 / 40 else 5.0 + rng.random() * 30})
            deliver(updates)
        if tick % per_hour == 0:  # the hour's crimes, the purge timer, the health timer
            for _ in range(CRIMES_PER_HOUR):
                crime_no += 1
                began = clock.now - timedelta(minutes=rng.randrange(30, 180))
                deliver(matchers.add_crime(crime_of({
                    "crime_ref": f"44/{crime_no}/28", "version": 1, "offence": "BURGLARY",
                    "lat": LAT0 + rng.random() * SPAN, "lon": LON0 + rng.random() * SPAN,
                    "location_accuracy_m": 50.0, "committed_from": began,
                    "committed_to": began + timedelta(minutes=30)})))
            matchers.purge()
            cutoff = datetime.fromtimestamp(matchers.cutoff_ms() / 1000, UTC)
            for key in settled(published, matchers.crimes, cutoff):
                published.pop(key, None)
                aligned.discard(key)
            for partition in parts:
                partition.health.check(epoch_ms(clock.now))
            sizes.sample(day)

    assert published, "no crime ever met a trail: the soak tested nothing"
    figures = sizes.assert_flat(early=range(0, 5), full=range(31, 36), late=range(DAYS - 5, DAYS),
                                grows=tuple(n for n in sizes.probes if n not in by_tags))
    sizes.report(f"gps_stream, {TAGS} tags every {PING_MIN} min, {CRIMES_PER_HOUR} crimes/h, "
                 f"{DAYS} days (peak days 31-35 -> days {DAYS - 4}-{DAYS})", figures)
