"""The simulator: deterministic by seed, records the schemas accept, a crime file that
parses into the same crimes, and a ground truth that is the contract's hit rule (checked
against the brute-force oracle of the gps_stream tests)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from iomkit import crimefile
from iomkit.codec import Codec, SchemaRegistry
from iomkit.simulator import (
    FAR_M,
    LATE_MS,
    LONDON,
    TOPICS,
    World,
    distance_m,
    hit_truth,
    is_late,
    ms,
    simulate,
)
from services.gps_stream.hitrule import Crime, Enrolment
from services.gps_stream.trail import Fix
from tests.unit.gps_stream.test_oracle import contract_distance_m, contract_hit_id, oracle

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
START = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def world() -> World:
    return simulate(11, START)


@pytest.fixture(scope="module")
def small() -> World:
    return simulate(3, START, people=6, hours=6, crimes_per_day=160, on_trail_share=0.5)


def fixes_of(w: World) -> list[dict[str, Any]]:
    return [p for _, p in w.pings]


def hit_ids(truth: dict[str, set[str]]) -> set[str]:
    return {contract_hit_id(ref, person) for ref, people in truth.items() for person in people}


def oracle_hit_ids(
    enrolments: list[dict[str, Any]], pings: list[dict[str, Any]], crimes: list[dict[str, Any]]
) -> set[str]:
    return set(oracle(
        [Enrolment(e["enrolment_id"], e["device_id"], e["person_id"], e["status"],
                   ms(e["effective_at"]), None) for e in enrolments],
        [Fix(p["device_id"], ms(p["recorded_at"]), p["lat"], p["lon"], p["accuracy_m"])
         for p in pings],
        [Crime(c["crime_ref"], c["version"], c["offence"], c["lat"], c["lon"],
               c["location_accuracy_m"], ms(c["committed_from"]), ms(c["committed_to"]))
         for c in crimes],
    ))


def probe(ref: str, ping: dict[str, Any], lat: float | None = None, lon: float | None = None,
          before: timedelta = timedelta(0), after: timedelta = timedelta(0)) -> dict[str, Any]:
    """A crime at a fix (or at lat/lon) whose window is the fix time, widened."""
    at = ping["recorded_at"]
    return {"crime_ref": ref, "version": 1, "offence": "ROBBERY",
            "lat": ping["lat"] if lat is None else lat,
            "lon": ping["lon"] if lon is None else lon, "location_accuracy_m": 0.0,
            "committed_from": at - before, "committed_to": at + after}


# -- determinism and records -----------------------------------------------------------------


def test_same_seed_same_world_other_seed_other_world() -> None:
    a = simulate(42, START, people=5, hours=3)
    assert a == simulate(42, START, people=5, hours=3)
    other = simulate(43, START, people=5, hours=3)
    assert other != a
    assert [p for _, p in other.pings] != [p for _, p in a.pings]
    assert other.crime_file != a.crime_file


DIGEST = """
import hashlib, sys
from datetime import datetime
from iomkit.simulator import simulate
w = simulate(42, datetime.fromisoformat(sys.argv[1]), people=3, hours=2)
text = repr((w.people, w.enrolments, w.pings, w.crimes, w.crime_file,
             sorted((ref, sorted(people)) for ref, people in w.truth.items())))
print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_same_seed_same_world_in_another_process_with_another_hash_seed() -> None:
    digests = {
        subprocess.run([sys.executable, "-c", DIGEST, START.isoformat()], check=True,
                       capture_output=True, text=True, cwd=SCHEMAS.parent,
                       env={**os.environ, "PYTHONHASHSEED": str(hash_seed)}).stdout
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


def test_start_must_be_aware_and_sizes_sensible() -> None:
    with pytest.raises(ValueError):
        simulate(1, datetime(2026, 3, 10))
    with pytest.raises(ValueError):
        simulate(1, START, people=0)


def test_every_record_encodes_and_decodes_unchanged(world: World) -> None:
    codec = Codec(SchemaRegistry(SCHEMAS))
    for name, values in (("Person", world.people), ("TagEnrolment", world.enrolments),
                         ("TagPing", fixes_of(world)), ("CrimeReported", world.crimes)):
        assert values
        for value in values:
            decoded = codec.decode(codec.encode(name, value), expect=name)
            assert decoded.value == value, name


def test_people_have_ogrs3_facts_that_make_sense(world: World) -> None:
    today = world.start.date()
    assert [p["person_id"] for p in world.people] == [f"SIM-P-{i:04d}" for i in range(1, 51)]
    for p in world.people:
        assert p["force"] == "Hampshire"
        assert p["date_of_birth"].replace(year=p["date_of_birth"].year + 10, day=28) \
            <= p["first_sanction_date"] <= p["current_conviction_date"] < today
        assert p["licence_end_date"] > today
        assert p["previous_sanctions"] >= 0


def test_messages_name_topics_and_keys_in_time_order(world: World) -> None:
    messages = world.messages()
    assert len(messages) == (len(world.people) + len(world.enrolments) + len(world.pings)
                             + len(world.crimes))
    assert [m.at_ms for m in messages] == sorted(m.at_ms for m in messages)
    for m in messages:
        topic, key = TOPICS[m.record]
        assert (m.topic, m.key) == (topic, m.value[key])
    first_enrolment = next(i for i, m in enumerate(messages) if m.record == "TagEnrolment")
    assert {m.record for m in messages[:first_enrolment]} == {"Person"}


# -- the crime file ---------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "per_day"), [
    (START, 40),
    (datetime(2028, 2, 29, 0, 0, tzinfo=UTC), 80),  # a leap day
    (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 300),  # clocks go back at 02:00 BST
    (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), 300),  # clocks go forward at 01:00 GMT
])
def test_crime_file_parses_into_the_same_crimes(start: datetime, per_day: int) -> None:
    w = simulate(5, start, people=10, hours=24, crimes_per_day=per_day)
    parsed = crimefile.parse(w.crime_file, now=w.end)
    assert parsed.refused == []
    assert len(w.crime_file.splitlines()) == len(w.crimes) == per_day
    assert len(parsed.accepted) == len(w.crimes)
    for got, crime in zip(parsed.accepted, w.crimes, strict=True):
        assert got["reported_at"] == w.end
        assert {k: v for k, v in got.items() if k != "reported_at"} == \
            {k: v for k, v in crime.items() if k not in ("version", "reported_at")}
        assert crime["committed_to"] < crime["reported_at"] <= w.end
        assert crime["committed_from"] <= crime["committed_to"]


def test_crimes_across_29_february_say_so_in_the_file() -> None:
    w = simulate(5, datetime(2028, 2, 28, 12, 0, tzinfo=UTC), people=10, hours=48,
                 crimes_per_day=80)
    days = {row[5][:8] for row in csv.reader(io.StringIO(w.crime_file))}
    assert days == {"20280228", "20280229", "20280301"}
    parsed = crimefile.parse(w.crime_file, now=w.end)
    assert parsed.refused == [] and len(parsed.accepted) == 160


def test_crimes_cross_the_autumn_clock_change_but_avoid_its_repeated_hour() -> None:
    w = simulate(5, datetime(2026, 10, 24, 12, 0, tzinfo=UTC), people=10, crimes_per_day=300)
    change = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 BST becomes 01:00 GMT
    offsets = {c["committed_from"].astimezone(LONDON).utcoffset() for c in w.crimes}
    assert offsets == {timedelta(hours=1), timedelta(0)}
    assert any(c["committed_from"] < change < c["committed_to"] for c in w.crimes)
    for c in w.crimes:  # the second 01:xx cannot be written in a crime file
        for at in (c["committed_from"], c["committed_to"]):
            assert not change <= at < change + timedelta(hours=1)


# -- the ground truth -------------------------------------------------------------------------


def test_truth_is_the_oracles(small: World) -> None:
    assert len(small.crimes) == 40 and small.truth
    assert hit_ids(small.truth) == oracle_hit_ids(
        list(small.enrolments), fixes_of(small), list(small.crimes))


def test_truth_agrees_with_the_oracle_at_the_edges(small: World) -> None:
    """Probe crimes just inside and outside 100 m + accuracy and the window, on good,
    multipath, unusable and removed fixes."""
    pings = fixes_of(small)
    crimes = []
    for i, p in enumerate(pings[::15]):
        reach = 100 + p["accuracy_m"]
        for j, (d, before, after) in enumerate([
            (reach - 0.5, 15 * MINUTE, -15 * MINUTE), (reach + 0.5, 0 * MINUTE, 0 * MINUTE),
            (0.0, -15 * MINUTE - timedelta(seconds=1), 20 * MINUTE),
        ]):
            lat = p["lat"] + d / 111_195.0  # due north, d metres (within a few mm)
            crimes.append(probe(f"E{i}-{j}", p, lat=lat, before=before, after=after))
    truth = hit_truth(small.enrolments, pings, crimes)
    assert hit_ids(truth) == oracle_hit_ids(list(small.enrolments), pings, crimes)
    assert any(truth.values()) and not all(truth.values())


def test_share_on_trail_have_hits_and_far_crimes_have_none(world: World) -> None:
    crimes = {c["crime_ref"]: c for c in world.crimes}
    assert len(world.crimes) == 40 and len(world.on_trail) == 10
    with_hits = [ref for ref, people in world.truth.items() if people]
    assert abs(len(with_hits) / len(world.crimes) - 0.25) <= 0.1
    found = sum(person in world.truth[ref] for ref, person in world.on_trail.items())
    assert found >= 0.8 * len(world.on_trail)
    pings = fixes_of(world)
    for ref, c in crimes.items():
        if ref in world.on_trail:
            continue
        assert world.truth[ref] == set()
        lo = c["committed_from"] - 15 * MINUTE
        hi = c["committed_to"] + 15 * MINUTE
        assert all(contract_distance_m(p["lat"], p["lon"], c["lat"], c["lon"]) > FAR_M
                   for p in pings if lo <= p["recorded_at"] <= hi)


def test_on_trail_crimes_are_tens_of_metres_from_a_fix_of_their_person(world: World) -> None:
    device = {e["person_id"]: e["device_id"] for e in world.enrolments}
    crimes = {c["crime_ref"]: c for c in world.crimes}
    for ref, person in world.on_trail.items():
        c = crimes[ref]
        nearest = min(distance_m(p["lat"], p["lon"], c["lat"], c["lon"])
                      for p in fixes_of(world) if p["device_id"] == device[person]
                      and c["committed_from"] <= p["recorded_at"] <= c["committed_to"]
                      and p["accuracy_m"] <= 200)
        assert nearest < 120


def test_a_larger_share_on_trail() -> None:
    w = simulate(8, START, people=20, hours=12, crimes_per_day=80, on_trail_share=0.6)
    assert len(w.on_trail) == 24
    share = sum(bool(people) for people in w.truth.values()) / len(w.crimes)
    assert abs(share - 0.6) <= 0.1


# -- fixes ------------------------------------------------------------------------------------


def test_fix_accuracies_are_mostly_good_some_multipath_some_unusable(world: World) -> None:
    accuracies = [p["accuracy_m"] for p in fixes_of(world)]
    assert len(accuracies) == 50 * 24 * 60
    assert sum(5 <= a <= 25 for a in accuracies) / len(accuracies) >= 0.85
    assert sum(100 <= a <= 200 for a in accuracies) >= 500  # multipath, still evidence
    assert sum(a > 200 for a in accuracies) >= 500  # unusable
    assert all(float(a) * 2 == int(a * 2) for a in accuracies)  # exact as an Avro float


def test_one_fix_a_minute_per_tag_inside_the_run(world: World) -> None:
    by_device: dict[str, list[datetime]] = defaultdict(list)
    for p in fixes_of(world):
        by_device[p["device_id"]].append(p["recorded_at"])
        assert world.start <= p["recorded_at"] < world.end
        assert 50.85 < p["lat"] < 51.0 and -1.52 < p["lon"] < -1.29
    assert sorted(by_device) == [f"SIM-TAG-{i:04d}" for i in range(1, 51)]
    for times in by_device.values():
        times.sort()
        assert all(b - a == MINUTE for a, b in pairwise(times))


def test_late_fixes_arrive_after_later_ones_in_bursts(world: World) -> None:
    arrivals = [a for a, _ in world.pings]
    assert arrivals == sorted(arrivals)
    late = [(a, p) for a, p in world.pings if is_late(a, p)]
    assert 0.005 < len(late) / len(world.pings) < 0.1
    for a, p in world.pings:
        delay = a - ms(p["recorded_at"])
        assert 0 < delay and (delay <= 10_000 or delay > LATE_MS)
    bursts: dict[str, list[list[int]]] = defaultdict(list)
    for a, p in late:  # a burst: one tag's held-back pings, 250 ms apart
        runs = bursts[p["device_id"]]
        if runs and a - runs[-1][-1] <= 1000:
            runs[-1].append(a)
        else:
            runs.append([a])
    sizes = [len(run) for runs in bursts.values() for run in runs]
    assert sum(size >= 9 for size in sizes) >= 0.8 * len(sizes)
    assert sum(sizes) == len(late)
    last_on_time: dict[str, datetime] = {}
    overtaken = 0
    for a, p in world.pings:
        if is_late(a, p):
            overtaken += p["recorded_at"] < last_on_time.get(p["device_id"], p["recorded_at"])
        else:
            last_on_time[p["device_id"]] = p["recorded_at"]
    assert overtaken >= len(late) // 2  # out of order: later fixes got there first


# -- tags removed and refitted ----------------------------------------------------------------


def removals(w: World) -> dict[str, tuple[datetime, datetime]]:
    out = {}
    for e in w.enrolments:
        if e["status"] == "REMOVED":
            refit = next(f for f in w.enrolments if f["device_id"] == e["device_id"]
                         and f["status"] == "FITTED" and f["effective_at"] > e["effective_at"])
            assert refit["person_id"] == e["person_id"]
            out[e["device_id"]] = (e["effective_at"], refit["effective_at"])
    return out


def test_every_tag_fitted_a_day_before_and_one_or_two_refitted(world: World) -> None:
    first = [e for e in world.enrolments if e["enrolment_id"].endswith("-1")]
    assert len(first) == 50
    assert all(e["status"] == "FITTED" and e["effective_at"] == world.start - timedelta(days=1)
               and e["monitoring_ends_at"] is None for e in first)
    off = removals(world)
    assert 1 <= len(off) <= 2
    for removed, refitted in off.values():
        assert world.start < removed < refitted < world.end


def test_fixes_while_removed_belong_to_nobody(small: World) -> None:
    off = removals(small)
    assert off
    for device, (removed, refitted) in off.items():
        own = [p for p in fixes_of(small) if p["device_id"] == device]
        # fixes whose whole window (+-15 min) is while the tag was off
        while_off = [p for p in own if removed + 15 * MINUTE <= p["recorded_at"]
                     <= refitted - 16 * MINUTE and p["accuracy_m"] <= 200]
        assert while_off
        crimes = [probe(f"R{i}", p) for i, p in enumerate(while_off)]
        assert not any(hit_truth(small.enrolments, own, crimes).values())
        assert oracle_hit_ids(list(small.enrolments), own, crimes) == set()
        fitted_throughout = [e for e in small.enrolments if e["status"] == "FITTED"]
        assert all(hit_truth(fitted_throughout, own, crimes).values())  # else they would hit


# -- bounds and speed -------------------------------------------------------------------------


def test_nothing_before_start_less_a_day_or_after_the_end(world: World) -> None:
    earliest = world.start - timedelta(days=1)
    assert world.end - world.start == timedelta(hours=24)
    assert all(earliest <= e["effective_at"] < world.end for e in world.enrolments)
    assert all(world.start <= c["committed_from"] and c["reported_at"] <= world.end
               for c in world.crimes)
    last_arrival = max(a for a, _ in world.pings)
    assert last_arrival <= ms(world.end) + 61 * 60_000 + 60 * 250


def test_summary_counts(world: World) -> None:
    s = world.summary()
    assert s["people"] == 50 and s["fixes"] == 72_000 and s["crimes"] == 40
    assert s["usable_fixes"] == sum(p["accuracy_m"] <= 200 for p in fixes_of(world))
    assert 0 < s["late_fixes"] < s["fixes"]
    assert s["crimes_with_hits"] == sum(bool(v) for v in world.truth.values())


def test_fifty_people_for_a_day_in_well_under_ten_seconds() -> None:
    began = time.perf_counter()
    simulate(99, datetime(2026, 6, 1, 4, 0, tzinfo=UTC))
    assert time.perf_counter() - began < 10
