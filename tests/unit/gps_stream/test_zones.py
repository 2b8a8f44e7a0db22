"""services.gps_stream.zones: zone validation, point-in-zone (with its H3 shortcut), breaches."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any

import h3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.gps_stream.geometry import RESOLUTION
from services.gps_stream.trail import Fix
from services.gps_stream.zones import (
    BreachTracker,
    Zone,
    ZoneError,
    ZoneIndex,
    point_in_ring,
    validate_zone,
)
from tests.unit.gps_stream.support import DAY, HOUR, MIN, T0, destination

# A 0.01 x 0.01 degree square near Southampton (about 1.1 km x 0.7 km).
SQUARE = [[50.91, -1.41], [50.91, -1.40], [50.90, -1.40], [50.90, -1.41], [50.91, -1.41]]
IN = (50.905, -1.405)
OUT = (50.92, -1.405)
OUT2 = (50.89, -1.405)


def zone_value(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "zone_id": "Z-1",
        "person_id": "P-1",
        "kind": "EXCLUSION",
        "polygon": SQUARE,
        "active_from": datetime(2023, 1, 1, tzinfo=UTC),
        "active_to": None,
        "version": 1,
    }
    value.update(changes)
    return value


def make_zone(**changes: Any) -> Zone:
    return validate_zone(zone_value(**changes))


# --- validation -------------------------------------------------------------------------


def test_valid_zone() -> None:
    zone = make_zone(active_to=datetime(2024, 1, 1, tzinfo=UTC))
    assert zone.zone_id == "Z-1" and zone.kind == "EXCLUSION" and zone.version == 1
    assert zone.polygon[0] == (50.91, -1.41) and len(zone.polygon) == 5
    assert zone.active_from_ms == 1_672_531_200_000
    assert zone.active_to_ms == 1_704_067_200_000
    assert make_zone(active_from=5, active_to=5).is_active(5)  # ms ints are accepted too


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"polygon": [[50.91, -1.41], [50.91, -1.40], [50.91, -1.41]]}, "at least 4"),
        ({"polygon": [*SQUARE[:-1], [50.905, -1.41]]}, "not closed"),
        ({"polygon": [[91.0, -1.41], *SQUARE[1:-1], [91.0, -1.41]]}, "impossible latitude"),
        ({"polygon": [*SQUARE[:2], [50.90, 180.5], *SQUARE[3:]]}, "impossible longitude"),
        ({"polygon": [*SQUARE[:2], [math.nan, -1.4], *SQUARE[3:]]}, "impossible latitude"),
        ({"polygon": [*SQUARE[:2], ["50.9", -1.4], *SQUARE[3:]]}, "not a [lat, lon] pair"),
        ({"polygon": [*SQUARE[:2], [50.9], *SQUARE[3:]]}, "not a [lat, lon] pair"),
        # a bow tie: edges 0 and 2 cross
        (
            {"polygon": [[50.91, -1.41], [50.91, -1.40], [50.90, -1.41], [50.90, -1.40],
                         [50.91, -1.41]]},
            "self-intersecting",
        ),
        # a ring that passes through one of its own vertices (touching, not crossing)
        (
            {"polygon": [[0.0, 0.0], [0.0, 2.0], [1.0, 1.0], [2.0, 2.0], [2.0, 0.0],
                         [1.0, 1.0], [0.0, 0.0]]},
            "self-intersecting",
        ),
        # collinear overlap of two non-adjacent edges
        (
            {"polygon": [[0.0, 0.0], [0.0, 3.0], [1.0, 3.0], [1.0, 2.0], [0.0, 2.0],
                         [0.0, 1.0], [-1.0, 1.0], [-1.0, 0.0], [0.0, 0.0]]},
            "self-intersecting",
        ),
        # a spike: the ring turns straight back over its previous edge
        (
            {"polygon": [[0.0, 0.0], [0.0, 2.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]},
            "self-intersecting",
        ),
        # exactly collinear (these floats are exact binary fractions)
        ({"polygon": [[50.5, -1.5], [50.75, -1.25], [51.0, -1.0], [50.5, -1.5]]}, "zero area"),
        # collinear in decimal, a sliver of ~1e-9 m2 in binary floats
        ({"polygon": [[50.90, -1.41], [50.91, -1.40], [50.92, -1.39], [50.90, -1.41]]},
         "zero area"),
        ({"polygon": [[50.90, -1.41], [50.91, -1.40], [50.90, -1.41], [50.90, -1.41]]},
         "zero area"),
        ({"active_from": datetime(2024, 1, 2, tzinfo=UTC),
          "active_to": datetime(2024, 1, 1, tzinfo=UTC)}, "active_to is before active_from"),
        ({"version": 0}, "version"),
        ({"kind": "UNKNOWN"}, "kind"),
        ({"zone_id": ""}, "zone_id"),
        ({"polygon": [[0.0, 179.0], [1.0, -179.0], [1.0, 179.5], [0.0, 179.0]]}, "180 degrees"),
    ],
)
def test_invalid_zones(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ZoneError) as caught:
        make_zone(**changes)
    assert reason in caught.value.reason


def test_missing_field() -> None:
    value = zone_value()
    del value["polygon"]
    with pytest.raises(ZoneError, match="polygon is missing"):
        validate_zone(value)


def test_repeated_points_are_allowed() -> None:
    ring = [SQUARE[0], SQUARE[0], *SQUARE[1:3], SQUARE[2], *SQUARE[3:]]
    index = ZoneIndex()
    index.update(make_zone(polygon=ring))
    assert index.inside("Z-1", *IN) and not index.inside("Z-1", *OUT)


# --- point in zone ----------------------------------------------------------------------


def test_square_inside_outside_and_on_the_edge_near_a_vertex() -> None:
    index = ZoneIndex()
    zone = make_zone()
    index.update(zone)
    assert index.inside(zone, *IN)
    assert not index.inside(zone, *OUT)
    assert not index.inside(zone, 50.905, -1.42)
    # on the north edge, 1e-7 degrees (7 mm) from the north-east vertex: on the boundary
    assert index.inside(zone, 50.91, -1.4000001)
    assert index.inside(zone, 50.91, -1.40)  # the vertex itself
    assert index.inside(zone, 50.9099999, -1.4000001)  # just inside the corner
    assert not index.inside(zone, 50.9100001, -1.4000001)  # just above the north edge
    assert not index.inside(zone, 50.91, -1.3999999)  # on the edge's line, past the vertex
    assert not index.inside(zone, 50.9100001, -1.3999999)  # diagonally out of the corner


def test_point_in_ring_on_a_diagonal_edge_is_exact() -> None:
    ring = [(0.0, 0.0), (0.0, 0.3), (0.3, 0.0), (0.0, 0.0)]  # edge from (0, .3) to (.3, 0)
    assert point_in_ring(ring, 0.1, 0.1)
    assert not point_in_ring(ring, 0.2, 0.2)
    # (0.15, 0.15) is not exactly on the float edge; whatever side it is on, the answer is
    # the exact one, and the same as for the ring reversed
    assert point_in_ring(ring, 0.15, 0.15) == point_in_ring(ring[::-1], 0.15, 0.15)
    assert point_in_ring(ring, 0.0, 0.15)  # on the horizontal (lat = 0) edge


def test_big_zone_has_interior_cells_that_are_wholly_inside() -> None:
    big = [[51.0, -1.1], [51.0, -1.0], [50.95, -1.0], [50.95, -1.1], [51.0, -1.1]]
    index = ZoneIndex()
    index.update(make_zone(polygon=big))
    ring = [tuple(p) for p in big]
    interior = index.interior("Z-1")
    assert len(interior) > 200
    for cell in interior:
        assert h3.get_resolution(cell) == RESOLUTION
        assert all(point_in_ring(ring, lat, lon) for lat, lon in h3.cell_to_boundary(cell))


def star(lat0: float, lon0: float, radii: list[float], phase: float) -> list[list[float]]:
    """A simple (star-shaped) ring around (lat0, lon0), closed."""
    n = len(radii)
    points = [list(destination(lat0, lon0, phase + 360.0 * i / n, r)) for i, r in enumerate(radii)]
    return [*points, points[0]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat0=st.floats(50.0, 58.0),
    lon0=st.floats(-5.0, 1.5),
    radii=st.lists(st.floats(300.0, 4000.0), min_size=3, max_size=14),
    phase=st.floats(0.0, 360.0),
    samples=st.lists(
        st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=40, max_size=80
    ),
)
def test_interior_shortcut_agrees_with_exact_point_in_polygon(
    lat0: float, lon0: float, radii: list[float], phase: float,
    samples: list[tuple[float, float]],
) -> None:
    polygon = star(lat0, lon0, radii, phase)
    zone = make_zone(polygon=polygon)
    index = ZoneIndex()
    index.update(zone)
    ring = [tuple(p) for p in polygon]
    interior = index.interior("Z-1")
    lats = [p[0] for p in polygon]
    lons = [p[1] for p in polygon]
    points = [
        (min(lats) - 0.005 + u * (max(lats) - min(lats) + 0.01),
         min(lons) - 0.008 + v * (max(lons) - min(lons) + 0.016))
        for u, v in samples
    ]
    # points near the edges of interior cells: the shortcut's hardest cases
    for cell in sorted(interior)[:: max(1, len(interior) // 20)]:
        clat, clon = h3.cell_to_latlng(cell)
        for vlat, vlon in h3.cell_to_boundary(cell):
            for f in (0.9, 0.999, 1.001):
                points.append((clat + (vlat - clat) * f, clon + (vlon - clon) * f))
    for lat, lon in points:
        exact = point_in_ring(ring, lat, lon)
        if h3.latlng_to_cell(lat, lon, RESOLUTION) in interior:
            assert exact, (lat, lon)
        assert index.inside(zone, lat, lon) == exact


# --- the index ----------------------------------------------------------------------------


def test_versions_and_activity() -> None:
    index = ZoneIndex()
    assert index.update(make_zone(version=2))
    assert not index.update(make_zone(version=1, kind="INCLUSION"))  # older: ignored
    assert not index.update(make_zone(version=2, kind="INCLUSION"))  # equal: ignored
    assert index.get("Z-1").kind == "EXCLUSION"  # type: ignore[union-attr]
    assert index.update(make_zone(version=3, person_id="P-2"))
    assert index.zones_for("P-1", T0) == []
    assert [z.version for z in index.zones_for("P-2", T0)] == [3]
    index.update(make_zone(zone_id="Z-0", person_id="P-2", active_from=T0, active_to=T0 + HOUR))
    assert [z.zone_id for z in index.zones_for("P-2", T0)] == ["Z-0", "Z-1"]
    assert [z.zone_id for z in index.zones_for("P-2", T0 - 1)] == ["Z-1"]
    assert [z.zone_id for z in index.zones_for("P-2", T0 + HOUR + 1)] == ["Z-1"]
    index.remove("Z-1")
    assert index.get("Z-1") is None
    assert not index.update(make_zone(version=3))  # still outdated after the tombstone
    assert index.update(make_zone(version=4))


# --- breaches -----------------------------------------------------------------------------


def fix(t: int, where: tuple[float, float], accuracy: float = 10.0, device: str = "D-1") -> Fix:
    return Fix(device, t, where[0], where[1], accuracy)


def tracker(*zones: Zone) -> BreachTracker:
    index = ZoneIndex()
    for zone in zones:
        index.update(zone)
    return BreachTracker(index)


def expected_id(zone_id: str, person_id: str, first_ms: int) -> str:
    return hashlib.sha256(f"{zone_id}|{person_id}|{first_ms}".encode()).hexdigest()[:32]


def feed(tr: BreachTracker, fixes: list[Fix], now: int = T0 + DAY) -> list[dict[str, Any]]:
    out = []
    for f in fixes:
        out += tr.observe_fix(f, "P-1", now)
    return out


def test_enter_stay_leave_enter() -> None:
    tr = tracker(make_zone())
    now = T0 + 5 * MIN
    assert tr.observe_fix(fix(T0, OUT), "P-1", now) == []
    first = tr.observe_fix(fix(T0 + MIN, IN), "P-1", now)
    assert first == [{
        "breach_id": expected_id("Z-1", "P-1", T0 + MIN),
        "zone_id": "Z-1",
        "person_id": "P-1",
        "device_id": "D-1",
        "kind": "ENTERED_EXCLUSION",
        "first_fix_at": datetime.fromtimestamp((T0 + MIN) / 1000, UTC),
        "detected_at": datetime.fromtimestamp(now / 1000, UTC),
        "victim_safety": False,
    }]
    assert feed(tr, [fix(T0 + 2 * MIN, IN), fix(T0 + 3 * MIN, IN)]) == []  # staying
    assert feed(tr, [fix(T0 + 4 * MIN, OUT)]) == []  # leaving re-arms
    second = feed(tr, [fix(T0 + 5 * MIN, IN, device="D-2")])
    assert [b["breach_id"] for b in second] == [expected_id("Z-1", "P-1", T0 + 5 * MIN)]
    assert second[0]["device_id"] == "D-2"
    assert feed(tr, [fix(T0 + 5 * MIN, IN)]) == []  # a redelivered fix


def test_a_victim_safety_zone_marks_its_breaches_and_a_zone_without_the_flag_does_not() -> None:
    assert make_zone().victim_safety is False  # a zone from a writer before the flag
    victim = tracker(make_zone(victim_safety=True))
    breaches = feed(victim, [fix(T0, OUT), fix(T0 + MIN, IN)])
    assert [b["victim_safety"] for b in breaches] == [True]
    other = tracker(make_zone(victim_safety=False))
    assert [b["victim_safety"] for b in feed(other, [fix(T0 + MIN, IN)])] == [False]


def test_vague_fixes_neither_start_nor_end_episodes() -> None:
    tr = tracker(make_zone())
    assert feed(tr, [fix(T0, IN, accuracy=250.0)]) == []
    assert len(feed(tr, [fix(T0 + MIN, IN, accuracy=200.0)])) == 1
    assert feed(tr, [fix(T0 + 2 * MIN, OUT, accuracy=250.0)]) == []  # does not end it
    assert feed(tr, [fix(T0 + 3 * MIN, IN)]) == []  # so this is the same episode
    assert feed(tr, [fix(T0 + 4 * MIN, OUT, accuracy=math.nan)]) == []
    assert feed(tr, [fix(T0 + 5 * MIN, IN)]) == []


def test_inclusion_zone_left() -> None:
    tr = tracker(make_zone(kind="INCLUSION"))
    assert feed(tr, [fix(T0, IN), fix(T0 + MIN, IN)]) == []
    out = feed(tr, [fix(T0 + 2 * MIN, OUT), fix(T0 + 3 * MIN, OUT2)])
    assert [(b["kind"], b["first_fix_at"]) for b in out] == [
        ("LEFT_INCLUSION", datetime.fromtimestamp((T0 + 2 * MIN) / 1000, UTC))
    ]
    assert feed(tr, [fix(T0 + 4 * MIN, IN)]) == []
    assert len(feed(tr, [fix(T0 + 5 * MIN, OUT)])) == 1


def test_inactive_zone_is_ignored() -> None:
    tr = tracker(make_zone(active_from=T0, active_to=T0 + HOUR))
    assert feed(tr, [fix(T0 - 1, IN)]) == []  # before active_from
    assert feed(tr, [fix(T0 + HOUR + 1, IN)]) == []  # after active_to
    assert len(feed(tr, [fix(T0 + HOUR, IN)])) == 1  # active_to itself is active
    assert feed(tr, [fix(T0 + 30 * MIN, IN)], now=T0 + 2 * HOUR) == []  # same episode


def test_other_persons_zone_is_ignored() -> None:
    tr = tracker(make_zone(person_id="P-2"))
    assert feed(tr, [fix(T0, IN)]) == []


def test_version_replacement_applies_from_then_on() -> None:
    moved = [[p[0] + 0.05, p[1]] for p in SQUARE]  # the square 5.5 km further north
    tr = tracker(make_zone(version=2))
    assert len(feed(tr, [fix(T0, IN)])) == 1
    assert not tr.zones.update(make_zone(version=1, polygon=moved))  # older: ignored
    assert feed(tr, [fix(T0 + MIN, IN)]) == []  # still the same episode under version 2
    assert tr.zones.update(make_zone(version=3, polygon=moved))
    # IN is now compliant: the episode ends (nothing is withdrawn); inside the moved square
    # is a new episode
    assert feed(tr, [fix(T0 + 2 * MIN, IN)]) == []
    moved_in = (IN[0] + 0.05, IN[1])
    assert [b["first_fix_at"] for b in feed(tr, [fix(T0 + 3 * MIN, moved_in)])] == [
        datetime.fromtimestamp((T0 + 3 * MIN) / 1000, UTC)
    ]
    # a late fix from before version 3 is judged against version 3: in the gap between the
    # first episode (T0..T0+1min) and the compliant fix at T0+2min, IN is compliant now
    assert feed(tr, [fix(T0 + 90_000, IN)]) == []
    # a kind change resets the (person, zone) state
    tr.zones.update(make_zone(version=4, kind="INCLUSION"))
    assert [b["kind"] for b in feed(tr, [fix(T0 + 4 * MIN, OUT)])] == ["LEFT_INCLUSION"]


def test_out_of_order_late_fix_inside_a_reported_episode_changes_nothing() -> None:
    tr = tracker(make_zone())
    feed(tr, [fix(T0, OUT), fix(T0 + 10 * MIN, IN), fix(T0 + 20 * MIN, IN), fix(T0 + HOUR, OUT)])
    [episode] = tr.episodes("P-1", "Z-1")
    assert feed(tr, [fix(T0 + 15 * MIN, IN)]) == []  # violating, inside: nothing
    assert feed(tr, [fix(T0 + 12 * MIN, OUT)]) == []  # compliant, inside: not split
    assert feed(tr, [fix(T0 + 30 * MIN, IN)]) == []  # after its last fix, before the end
    assert tr.episodes("P-1", "Z-1")[0].breach_id == episode.breach_id
    assert tr.episodes("P-1", "Z-1")[0].last_ms == T0 + 30 * MIN


def test_out_of_order_late_fix_before_the_first_fix_keeps_the_id() -> None:
    tr = tracker(make_zone())
    [breach] = feed(tr, [fix(T0, OUT), fix(T0 + 10 * MIN, IN)])
    assert feed(tr, [fix(T0 + 5 * MIN, IN)]) == []  # earlier violating fix: nothing new
    [episode] = tr.episodes("P-1", "Z-1")
    assert episode.breach_id == breach["breach_id"] == expected_id("Z-1", "P-1", T0 + 10 * MIN)
    assert episode.first_ms == T0 + 5 * MIN
    # a violating fix before any known fix joins the episode too
    tr2 = tracker(make_zone())
    [b2] = feed(tr2, [fix(T0 + 10 * MIN, IN)])
    assert feed(tr2, [fix(T0, IN)]) == []
    assert tr2.episodes("P-1", "Z-1")[0].breach_id == b2["breach_id"]


def test_out_of_order_late_fix_between_two_episodes() -> None:
    tr = tracker(make_zone())
    fixes = [fix(T0, IN), fix(T0 + 10 * MIN, OUT), fix(T0 + 50 * MIN, OUT),
             fix(T0 + HOUR, IN), fix(T0 + 70 * MIN, OUT)]
    assert len(feed(tr, fixes)) == 2
    # in the gap right after the first episode (before the compliant fix at 10 min): joins it
    assert feed(tr, [fix(T0 + 5 * MIN, IN)]) == []
    # in the gap right before the second (after the compliant fix at 50 min): joins it
    assert feed(tr, [fix(T0 + 55 * MIN, IN)]) == []
    # strictly inside the compliant run (10..50 min): compliant fixes on both sides, new
    late = feed(tr, [fix(T0 + 30 * MIN, IN)])
    assert [b["breach_id"] for b in late] == [expected_id("Z-1", "P-1", T0 + 30 * MIN)]
    # a later late violating fix between 10 and 50 min joins that episode (the compliant
    # fixes inside the run were not kept), a late compliant one after it just sits there
    assert feed(tr, [fix(T0 + 20 * MIN, IN)]) == []
    assert feed(tr, [fix(T0 + 40 * MIN, OUT), fix(T0 + 35 * MIN, IN)]) == []
    assert [(e.first_ms - T0, e.last_ms - T0) for e in tr.episodes("P-1", "Z-1")] == [
        (0, 5 * MIN), (20 * MIN, 35 * MIN), (55 * MIN, HOUR)
    ]
    # same millisecond as a known compliant fix: that verdict stands
    assert feed(tr, [fix(T0 + 50 * MIN, IN)]) == []


def test_buffered_upload_after_live_fixes() -> None:
    """A tag loses signal, the person enters and leaves; the buffer is uploaded in order."""
    tr = tracker(make_zone())
    assert feed(tr, [fix(T0, OUT), fix(T0 + 50 * MIN, OUT)]) == []
    out = []
    for m in range(1, 50):
        out += feed(tr, [fix(T0 + m * MIN, IN if 10 <= m <= 40 else OUT)])
    assert [b["first_fix_at"] for b in out] == [datetime.fromtimestamp((T0 + 600_000) / 1000, UTC)]
    assert [(e.first_ms - T0, e.last_ms - T0) for e in tr.episodes("P-1", "Z-1")] == [
        (10 * MIN, 40 * MIN)
    ]


def test_state_stays_small_and_purge_keeps_what_later_fixes_need() -> None:
    tr = tracker(make_zone())
    out = []
    for m in range(0, 3 * 24 * 60):  # three days, one fix a minute, in and out every 2 hours
        where = IN if (m // 120) % 2 else OUT
        out += feed(tr, [fix(T0 + m * MIN, where)])
    assert len(out) == 18
    assert tr.state_size() == 36
    tr.purge_before(T0 + 2 * DAY)
    assert tr.state_size() == 13  # the runs from day 2 on, plus the one before
    assert feed(tr, [fix(T0 + 2 * DAY - 10 * MIN, IN)]) == []  # before the cutoff: refused
    assert len(tr.episodes("P-1", "Z-1")) == 7  # the newest before the cutoff is kept


def test_purge_keeps_an_open_episode() -> None:
    tr = tracker(make_zone())
    assert len(feed(tr, [fix(T0, IN)])) == 1
    tr.purge_before(T0 + DAY)
    assert feed(tr, [fix(T0 + 2 * DAY, IN)]) == []  # still the same episode
    tr.purge_before(T0 + 3 * DAY)
    assert tr.state_size() == 1


def test_huge_zone_gets_no_shortcut_but_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import services.gps_stream.zones as zones

    big = [[51.0, -1.1], [51.0, -1.0], [50.95, -1.0], [50.95, -1.1], [51.0, -1.1]]
    monkeypatch.setattr(zones, "MAX_INTERIOR_CELLS", 10)
    index = ZoneIndex()
    index.update(make_zone(polygon=big))
    assert index.interior("Z-1") == frozenset()
    assert index.inside("Z-1", 50.97, -1.05) and not index.inside("Z-1", 50.94, -1.05)


def test_zones_that_ended_before_retention_are_forgotten_with_their_versions() -> None:
    index = ZoneIndex()
    ended = datetime(2023, 3, 1, tzinfo=UTC)
    index.update(make_zone(zone_id="Z-old", active_to=ended))
    index.update(make_zone(zone_id="Z-open"))  # no end: kept whatever the cutoff
    index.update(make_zone(zone_id="Z-later", active_to=datetime(2023, 6, 1, tzinfo=UTC)))
    cutoff_ms = int(datetime(2023, 4, 1, tzinfo=UTC).timestamp() * 1000)
    assert index.purge_before(cutoff_ms) == 1
    assert index.get("Z-old") is None and len(index) == 2
    assert index.zones_for("P-1", cutoff_ms) == [index.get("Z-later"), index.get("Z-open")]
    assert index.update(make_zone(zone_id="Z-old", active_to=ended))  # held again until the
    assert index.purge_before(cutoff_ms) == 1                          # next purge
