"""services.gps_stream.geometry: the contract's distance and the H3 cover of a search radius.

Expected distances are computed here from the contract's numbers, not from the module.
"""

from __future__ import annotations

import math
import random

import h3
import pytest

from services.gps_stream.geometry import (
    EARTH_RADIUS_M,
    RESOLUTION,
    cover_cells,
    disk_k,
    haversine_m,
    max_search_radius_m,
    min_separation_m,
    search_radius_m,
)
from services.gps_stream.hitrule import HitRuleSettings
from tests.unit.gps_stream.support import destination

R = 6_371_008.8  # the contract's radius, written out again
GB_LAT = (49.8, 60.9)
GB_LON = (-8.7, 1.8)


def test_radius_is_the_contracts() -> None:
    assert EARTH_RADIUS_M == 6_371_008.8


def test_one_degree_of_latitude() -> None:
    expected = R * math.pi / 180.0  # 111,195.08 m: an arc of 1 degree on a meridian
    assert expected == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(51.0, -1.0, 52.0, -1.0) == pytest.approx(expected, rel=1e-12)
    assert haversine_m(-0.5, 30.0, 0.5, 30.0) == pytest.approx(expected, rel=1e-12)


def test_one_degree_of_longitude_on_the_equator_and_at_60_north() -> None:
    assert haversine_m(0.0, 10.0, 0.0, 11.0) == pytest.approx(R * math.pi / 180.0, rel=1e-12)
    # Along a parallel the great circle is shorter than the parallel; closed form:
    # d = 2R asin(cos(lat) sin(dlon/2)).
    expected = 2 * R * math.asin(math.cos(math.radians(60.0)) * math.sin(math.radians(0.5)))
    assert haversine_m(60.0, 0.0, 60.0, 1.0) == pytest.approx(expected, rel=1e-12)


def test_known_pair_and_symmetry() -> None:
    # London (51.5074, -0.1278) to Manchester (53.4808, -2.2426): ~262 km.
    d = haversine_m(51.5074, -0.1278, 53.4808, -2.2426)
    assert d == pytest.approx(262_000, rel=0.01)
    assert haversine_m(53.4808, -2.2426, 51.5074, -0.1278) == pytest.approx(d, rel=1e-15)
    assert haversine_m(51.5, -0.1, 51.5, -0.1) == 0.0
    # Antipodes: half the circumference and no domain error from rounding (the haversine
    # formula is ill-conditioned there, so only to within a metre).
    assert haversine_m(10.0, 20.0, -10.0, -160.0) == pytest.approx(math.pi * R, abs=1.0)


def test_search_radius() -> None:
    s = HitRuleSettings()
    assert search_radius_m(15.0, 40.0, s) == 155.0
    assert max_search_radius_m(0.0, s) == 300.0
    assert max_search_radius_m(250.0, s) == 550.0


def test_disk_k_rule() -> None:
    sep = min_separation_m(RESOLUTION)
    assert sep == pytest.approx(0.5 * h3.average_hexagon_edge_length(RESOLUTION, "m"))
    assert disk_k(0.0) == 1
    assert disk_k(sep * 0.999) == 1
    assert disk_k(sep) == 2
    assert disk_k(300.0) == 3  # the usual largest radius at res 9: 37 cells
    assert len(cover_cells(51.5, -0.12, 300.0)) == 37
    assert disk_k(-1.0) == 0
    with pytest.raises(ValueError):
        disk_k(math.inf)


def _coverage_failures(radius_m: float, resolution: int, centres: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    failures: list[str] = []
    k = disk_k(radius_m, resolution)
    for _ in range(centres):
        lat, lon = rng.uniform(*GB_LAT), rng.uniform(*GB_LON)
        disk = set(h3.grid_disk(h3.latlng_to_cell(lat, lon, resolution), k))
        offset = rng.uniform(0.0, 1.0)
        for i in range(360):
            p = destination(lat, lon, i + offset, radius_m)
            assert haversine_m(lat, lon, *p) == pytest.approx(radius_m, abs=1e-6)
            if h3.latlng_to_cell(*p, resolution) not in disk:
                failures.append(f"{lat},{lon} bearing {i + offset} r={radius_m} res={resolution}")
    return failures


@pytest.mark.parametrize("radius_m", [100.0, 300.0, 350.0, 600.0, 2_000.0])
def test_disk_covers_every_point_at_the_radius(radius_m: float) -> None:
    """Points exactly at the radius, one per degree of bearing, all land in the disk."""
    assert _coverage_failures(radius_m, RESOLUTION, centres=60, seed=int(radius_m)) == []


def test_disk_covers_around_cell_vertices() -> None:
    """Crimes placed on cell corners (the worst case for the centre cell) are covered too."""
    rng = random.Random(11)
    k = disk_k(300.0)
    for _ in range(60):
        cell = h3.latlng_to_cell(rng.uniform(*GB_LAT), rng.uniform(*GB_LON), RESOLUTION)
        for vlat, vlon in h3.cell_to_boundary(cell):
            lat, lon = vlat + rng.uniform(-1e-7, 1e-7), vlon + rng.uniform(-1e-7, 1e-7)
            disk = set(h3.grid_disk(h3.latlng_to_cell(lat, lon, RESOLUTION), k))
            for i in range(0, 360, 3):
                p = destination(lat, lon, float(i), 300.0)
                assert h3.latlng_to_cell(*p, RESOLUTION) in disk


@pytest.mark.parametrize("resolution", [8, 10, 11])
def test_rule_holds_at_other_resolutions(resolution: int) -> None:
    assert _coverage_failures(300.0, resolution, centres=15, seed=resolution) == []
