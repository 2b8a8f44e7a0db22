"""The matcher against a brute-force oracle written straight from the contract's hit rule.

The oracle loops over every crime x fix and reads the device's whole enrolment history; it
shares no code with the matcher (its haversine, person lookup and hit_id are written out
here from the contract). Hypothesis builds small worlds where matches are likely: fixes
exactly 0.5 m inside and outside 100 m + accuracies, at the window edges and 1 s either side,
on H3 cell corners, with accuracy 200 and 200.5; enrolment histories that fit, remove,
refit to another person and end monitoring, some exactly at fix times; crimes with several
versions, some moved away. Records (with duplicate deliveries) go to the matcher in any
order, or split over two matchers by device, and the ACTIVE hits must be the oracle's.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import h3
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.gps_stream.geometry import RESOLUTION
from services.gps_stream.hitrule import Crime, Enrolment
from services.gps_stream.matcher import ACTIVE, WITHDRAWN, HitMatcher, HitUpdate
from services.gps_stream.trail import Fix
from tests.unit.gps_stream.support import MIN, T0, destination

# ---------------------------------------------------------------------------------------
# The oracle: the contract's four conditions, nothing else.

WINDOW_MS = 15 * 60_000
MAX_ACCURACY_M = 200.0
BASE_M = 100.0


def contract_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine with R = 6,371,008.8 m, as the contract writes it."""
    r = 6_371_008.8
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def fitted_to(history: Sequence[Enrolment], at_ms: int) -> str | None:
    """Condition 1. Enrolment ids are unique here, so (effective_at, id) orders them."""
    started = [e for e in history if e.effective_at_ms <= at_ms]
    if not started:
        return None
    latest = max(started, key=lambda e: (e.effective_at_ms, e.enrolment_id))
    if latest.status != "FITTED":
        return None
    if latest.monitoring_ends_at_ms is not None and latest.monitoring_ends_at_ms < at_ms:
        return None
    return latest.person_id


def contract_hit_id(crime_ref: str, person_id: str) -> str:
    return hashlib.sha256(f"{crime_ref}|{person_id}".encode()).hexdigest()[:32]


FixKey = tuple[int, float, float, float]  # recorded_at, lat, lon, accuracy: CrimeHit.fixes


@dataclass
class OracleHit:
    evidence: dict[FixKey, float]  # fix -> distance
    devices_by_distance: dict[float, set[str]]


def oracle(
    enrolments: Iterable[Enrolment], fixes: Iterable[Fix], crimes: Iterable[Crime]
) -> dict[str, OracleHit]:
    history: dict[str, list[Enrolment]] = defaultdict(list)
    for e in set(enrolments):
        history[e.device_id].append(e)
    hits: dict[str, OracleHit] = {}
    for c in crimes:
        for f in set(fixes):
            person = fitted_to(history[f.device_id], f.recorded_at_ms)
            if person is None:
                continue
            if (
                not c.committed_from_ms - WINDOW_MS
                <= f.recorded_at_ms
                <= c.committed_to_ms + WINDOW_MS
            ):
                continue
            if f.accuracy_m > MAX_ACCURACY_M:
                continue
            d = contract_distance_m(f.lat, f.lon, c.lat, c.lon)
            if d > BASE_M + f.accuracy_m + c.location_accuracy_m:
                continue
            hit = hits.setdefault(contract_hit_id(c.crime_ref, person), OracleHit({}, {}))
            hit.evidence[(f.recorded_at_ms, f.lat, f.lon, f.accuracy_m)] = d
            hit.devices_by_distance.setdefault(d, set()).add(f.device_id)
    return hits


def latest_versions(crimes: Iterable[Crime]) -> list[Crime]:
    latest: dict[str, Crime] = {}
    for c in crimes:
        if c.crime_ref not in latest or c.version > latest[c.crime_ref].version:
            latest[c.crime_ref] = c
    return list(latest.values())


# ---------------------------------------------------------------------------------------
# Worlds

CENTRE = (51.5145, -0.1226)
DEVICES = ("D0", "D1", "D2")
PERSONS = ("P0", "P1", "P2")
OFFENCES = ("ROBBERY", "BURGLARY_DWELLING", "THEFT_FROM_PERSON")
ACCURACIES = st.one_of(
    st.sampled_from([3.0, 20.0, 75.0, 199.5, 200.0, 200.5]),
    st.floats(0.5, 260.0, allow_nan=False),
)


@dataclass
class World:
    enrolments: list[Enrolment]
    fixes: list[Fix]
    crimes: list[Crime]  # every version

    def records(self) -> list[Enrolment | Fix | Crime]:
        return [*self.enrolments, *self.fixes, *self.crimes]


@st.composite
def crimes_strategy(draw: st.DrawFn) -> list[Crime]:
    crimes: list[Crime] = []
    for i in range(draw(st.integers(1, 3))):
        lat, lon = destination(*CENTRE, draw(st.floats(0, 360)), draw(st.floats(0, 400)))
        version = 0
        for _ in range(draw(st.integers(1, 3))):
            version += draw(st.sampled_from([1, 1, 5]))  # versions increase, with gaps
            move = draw(st.sampled_from(["same", "same", "jitter", "far"]))
            if move == "jitter":
                lat, lon = destination(lat, lon, draw(st.floats(0, 360)), draw(st.floats(0, 250)))
            elif move == "far":
                lat, lon = destination(lat, lon, draw(st.floats(0, 360)), 3_000.0)
            start = T0 + draw(st.integers(0, 120)) * MIN + draw(st.integers(0, 59_999))
            crimes.append(
                Crime(
                    crime_ref=f"C{i}",
                    version=version,
                    offence=draw(st.sampled_from(OFFENCES)),
                    lat=lat,
                    lon=lon,
                    location_accuracy_m=draw(st.sampled_from([0.0, 0.0, 25.0, 60.0])),
                    committed_from_ms=start,
                    committed_to_ms=start + draw(st.integers(0, 60)) * MIN,
                )
            )
    return crimes


@st.composite
def fix_strategy(draw: st.DrawFn, crimes: Sequence[Crime]) -> Fix:
    anchor = draw(st.sampled_from(crimes))
    accuracy = draw(ACCURACIES)
    place = draw(st.sampled_from(["edge-in", "edge-out", "inside", "random", "vertex", "on"]))
    if place in ("edge-in", "edge-out"):
        radius = BASE_M + accuracy + anchor.location_accuracy_m
        d = radius - 0.5 if place == "edge-in" else radius + 0.5
        lat, lon = destination(anchor.lat, anchor.lon, draw(st.floats(0, 360)), d)
    elif place == "inside":
        radius = BASE_M + accuracy + anchor.location_accuracy_m
        lat, lon = destination(
            anchor.lat, anchor.lon, draw(st.floats(0, 360)), draw(st.floats(0, radius - 0.5))
        )
    elif place == "random":
        lat, lon = destination(
            anchor.lat, anchor.lon, draw(st.floats(0, 360)), draw(st.floats(0, 700))
        )
    elif place == "vertex":
        around = sorted(h3.grid_disk(h3.latlng_to_cell(anchor.lat, anchor.lon, RESOLUTION), 3))
        cell = draw(st.sampled_from(around))
        vlat, vlon = draw(st.sampled_from(h3.cell_to_boundary(cell)))
        lat = vlat + draw(st.floats(-1e-7, 1e-7))
        lon = vlon + draw(st.floats(-1e-7, 1e-7))
    else:
        lat, lon = anchor.lat, anchor.lon
    lo = anchor.committed_from_ms - WINDOW_MS
    hi = anchor.committed_to_ms + WINDOW_MS
    at = draw(
        st.one_of(
            st.sampled_from([lo - 1000, lo, lo + 1000, hi - 1000, hi, hi + 1000]),
            st.integers(lo - 30 * MIN, hi + 30 * MIN),
        )
    )
    return Fix(draw(st.sampled_from(DEVICES)), at, lat, lon, accuracy)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    crimes = draw(crimes_strategy())
    fixes = [draw(fix_strategy(crimes)) for _ in range(draw(st.integers(0, 25)))]
    fix_times = sorted({f.recorded_at_ms for f in fixes}) or [T0]
    when = st.one_of(
        st.integers(T0 - 60 * MIN, T0 + 200 * MIN),
        st.builds(lambda t, d: t + d, st.sampled_from(fix_times), st.sampled_from([-1, 0, 1])),
    )
    enrolments: list[Enrolment] = []
    for device in DEVICES:
        if draw(st.integers(0, 4)):  # mostly fitted from before it all, then changes
            person = draw(st.sampled_from(PERSONS))
            enrolments.append(Enrolment(f"E{device}-0", device, person, "FITTED", T0 - 120 * MIN))
        for i in range(1, draw(st.integers(1, 4))):
            status = draw(st.sampled_from(["FITTED", "FITTED", "REMOVED"]))
            ends = draw(st.one_of(st.none(), when)) if status == "FITTED" else None
            enrolments.append(
                Enrolment(
                    f"E{device}-{i}",
                    device,
                    draw(st.sampled_from(PERSONS)),
                    status,
                    draw(when),
                    ends,
                )
            )
    return World(enrolments, fixes, crimes)


def feed(matcher: HitMatcher, records: Iterable[Enrolment | Fix | Crime]) -> list[HitUpdate]:
    updates: list[HitUpdate] = []
    for r in records:
        if isinstance(r, Fix):
            updates += matcher.add_fix(r)
        elif isinstance(r, Enrolment):
            updates += matcher.add_enrolment(r)
        else:
            updates += matcher.add_crime(r)
    return updates


def final_states(updates: Sequence[HitUpdate]) -> dict[str, HitUpdate]:
    """The last update of each hit, checking revisions go 1, 2, 3... in publish order."""
    last: dict[str, HitUpdate] = {}
    for u in updates:
        previous = last.get(u.hit_id)
        assert u.revision == (previous.revision + 1 if previous else 1), (previous, u)
        assert u.rule_version == 1
        if u.status == WITHDRAWN:
            assert u.fixes == ()
        else:
            assert u.fixes
        last[u.hit_id] = u
    return last


def active(last: dict[str, HitUpdate]) -> dict[str, set[FixKey]]:
    return {
        h: {(f.recorded_at_ms, f.lat, f.lon, f.accuracy_m) for f in u.fixes}
        for h, u in last.items()
        if u.status == ACTIVE
    }


def check_against_oracle(last: dict[str, HitUpdate], expected: dict[str, OracleHit]) -> None:
    assert active(last) == {h: set(o.evidence) for h, o in expected.items()}
    for h, o in expected.items():
        u = last[h]
        for f in u.fixes:
            assert math.isclose(
                f.distance_m,
                o.evidence[(f.recorded_at_ms, f.lat, f.lon, f.accuracy_m)],
                abs_tol=1e-6,
            )
        nearest = min(o.evidence.values())
        assert math.isclose(u.distance_m, nearest, abs_tol=1e-6)
        assert u.device_id in set().union(
            *(devs for d, devs in o.devices_by_distance.items() if abs(d - nearest) <= 1e-6)
        )


COMMON = settings(
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(COMMON, max_examples=400)
@given(world=worlds(), data=st.data())
def test_any_arrival_order_gives_the_oracles_hits(world: World, data: st.DataObject) -> None:
    records = world.records()
    duplicates = data.draw(st.lists(st.sampled_from(records), max_size=4)) if records else []
    order = data.draw(st.permutations(records + duplicates))
    matcher = HitMatcher()
    last = final_states(feed(matcher, order))
    expected = oracle(world.enrolments, world.fixes, latest_versions(world.crimes))
    check_against_oracle(last, expected)
    assert {
        h: {(f.recorded_at_ms, f.lat, f.lon, f.accuracy_m) for f in fixes}
        for h, fixes in matcher.active_hits().items()
    } == active(last)
    # Whatever was published and is not a hit now has been withdrawn (no stale ACTIVE).
    withdrawn = {h for h, u in last.items() if u.status == WITHDRAWN}
    assert withdrawn == set(last) - set(expected)
    event(f"active hits: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")
    event(f"evidence fixes: {min(sum(len(o.evidence) for o in expected.values()), 5)}")
    event(f"withdrawn: {'yes' if withdrawn else 'no'}")


@settings(COMMON, max_examples=200)
@given(world=worlds(), data=st.data())
def test_versions_in_order_withdraw_exactly_what_stopped_matching(
    world: World, data: st.DataObject
) -> None:
    """Enrolments and fixes first (any order), then crime versions in version order: a hit
    is WITHDRAWN exactly when it matched some earlier version but not the latest.

    (In a fully shuffled order a version can be skipped, or a hit can show briefly for a
    person the tag was not on, before a late enrolment says so: which hits were ever
    published then depends on order; only the ACTIVE set does not.)"""
    trails = data.draw(st.permutations([*world.enrolments, *world.fixes]))
    crimes = sorted(world.crimes, key=lambda c: (c.version, c.crime_ref))
    last = final_states(feed(HitMatcher(), [*trails, *crimes]))
    latest = latest_versions(world.crimes)
    expected = oracle(world.enrolments, world.fixes, latest)
    check_against_oracle(last, expected)
    ever = set()
    for c in world.crimes:
        ever |= set(oracle(world.enrolments, world.fixes, [c]))
    withdrawn = {h for h, u in last.items() if u.status == WITHDRAWN}
    assert withdrawn == ever - set(expected)
    event(f"withdrawn by a later version: {'yes' if withdrawn else 'no'}")


@settings(COMMON, max_examples=200)
@given(world=worlds(), data=st.data())
def test_two_workers_split_by_device_find_the_oracles_hits(
    world: World, data: st.DataObject
) -> None:
    """Each worker gets its devices' pings and enrolments and every crime, in its own order.
    One person's devices can sit on both workers: their evidence is then split, and the union
    per hit_id is the oracle's."""
    mine = data.draw(st.sets(st.sampled_from(DEVICES)))
    union: dict[str, set[FixKey]] = defaultdict(set)
    for part in (mine, set(DEVICES) - mine):
        records = [
            *(e for e in world.enrolments if e.device_id in part),
            *(f for f in world.fixes if f.device_id in part),
            *world.crimes,
        ]
        last = final_states(feed(HitMatcher(), data.draw(st.permutations(records))))
        for h, keys in active(last).items():
            union[h] |= keys
    expected = oracle(world.enrolments, world.fixes, latest_versions(world.crimes))
    assert dict(union) == {h: set(o.evidence) for h, o in expected.items()}
