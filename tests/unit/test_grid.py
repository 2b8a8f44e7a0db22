"""iomkit.grid: OSTN15 against the Ordnance Survey's published test points, the round trip,
and what is refused (outside the grid, off Great Britain, Ireland)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from iomkit.grid import grid_reference, grid_to_wgs84, wgs84_to_grid
from tests.unit.ostn15_points import ETRS_TO_OSGB, OSGB_TO_ETRS

PRECISION_M = 0.1  # what the crime file README promises
ROUND_TRIP_M = 0.01


def metres_apart(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Ground distance on the GRS80 ellipsoid for points a few metres apart (local
    radii of curvature): exact to far better than a millimetre at these separations."""
    a, e2 = 6_378_137.0, 0.00669438002290
    phi = math.radians((lat1 + lat2) / 2)
    w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
    north = math.radians(lat2 - lat1) * a * (1 - e2) / w**3
    east = math.radians(lon2 - lon1) * a / w * math.cos(phi)
    return math.hypot(north, east)


def test_grid_to_wgs84_matches_every_os_test_point_to_a_tenth_of_a_metre():
    east = [p[1] for p in OSGB_TO_ETRS]
    north = [p[2] for p in OSGB_TO_ETRS]
    converted = grid_to_wgs84(east, north)
    assert converted.refused == (None,) * 40
    errors = {point: metres_apart(lat, lon, converted.lat[i], converted.lon[i])
              for i, (point, _, _, lat, lon) in enumerate(OSGB_TO_ETRS)}
    assert max(errors.values()) <= PRECISION_M, errors
    # what the implementation reaches, so a regression shows: a few millimetres at most
    assert max(errors.values()) <= 0.005, errors


def test_wgs84_to_grid_matches_every_os_test_point_to_a_tenth_of_a_metre():
    lat = [p[1] for p in ETRS_TO_OSGB]
    lon = [p[2] for p in ETRS_TO_OSGB]
    converted = wgs84_to_grid(lat, lon)
    assert converted.refused == (None,) * 40
    errors = {point: math.hypot(converted.easting[i] - e, converted.northing[i] - n)
              for i, (point, _, _, e, n) in enumerate(ETRS_TO_OSGB)}
    assert max(errors.values()) <= PRECISION_M, errors
    assert max(errors.values()) <= 0.005, errors


def test_os_test_points_round_trip_grid_wgs84_grid_within_a_centimetre():
    east = np.array([p[1] for p in OSGB_TO_ETRS])
    north = np.array([p[2] for p in OSGB_TO_ETRS])
    there = grid_to_wgs84(east, north)
    back = wgs84_to_grid(there.lat, there.lon)
    assert back.refused == (None,) * 40
    assert np.hypot(back.easting - east, back.northing - north).max() <= ROUND_TRIP_M


@settings(max_examples=300, deadline=None)
@given(st.floats(150_000, 650_000), st.floats(20_000, 1_200_000))
def test_any_converted_grid_point_round_trips_within_a_centimetre(east, north):
    there = grid_to_wgs84([east], [north])
    if there.refused[0] is not None:  # at sea or in Ireland: refused, no position
        assert math.isnan(there.lat[0]) and math.isnan(there.lon[0])
        return
    back = wgs84_to_grid(there.lat, there.lon)
    assert back.refused == (None,)
    assert math.hypot(back.easting[0] - east, back.northing[0] - north) <= ROUND_TRIP_M


def test_the_helmert_shift_it_replaces_is_metres_off_at_the_same_points():
    # pyproj's EPSG:27700 -> EPSG:4326 without the OSTN15 grid file: the old path
    helmert = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    errors = []
    for _, east, north, lat, lon in OSGB_TO_ETRS:
        helmert_lon, helmert_lat = helmert.transform(east, north)
        errors.append(metres_apart(lat, lon, helmert_lat, helmert_lon))
    assert max(errors) > 4.0  # St Kilda, Scilly: a crime's 100 m edge moves by that much


@pytest.mark.parametrize(("place", "east", "north", "why"), [
    ("Belfast, on the National Grid", 146_000, 530_000, "Northern Ireland"),
    ("Dublin Bay", 120_000, 250_000, "Ireland"),
    ("North Channel off Larne", 175_000, 575_000, "Ireland"),
    ("North Sea beyond Lowestoft", 680_000, 300_000, "outside Great Britain"),
    ("Atlantic west of St Kilda", 2_000, 900_000, "outside Great Britain"),
    ("south of Scilly", 90_000, 1_000, "outside Great Britain"),
    ("west of the grid (Rockall)", -200_000, 960_000, "outside the OSTN15 grid"),
    ("north of the grid", 400_000, 1_260_000, "outside the OSTN15 grid"),
    ("the grid's corner", 700_000, 1_250_000, "outside"),
])
def test_points_outside_ostn15s_coverage_are_refused_with_a_reason(place, east, north, why):
    converted = grid_to_wgs84([east], [north])
    assert converted.refused[0] is not None and why in converted.refused[0], place
    assert math.isnan(converted.lat[0]) and math.isnan(converted.lon[0])


@pytest.mark.parametrize(("place", "east", "north"), [
    ("Mull of Kintyre", 159_000, 600_000),
    ("Portpatrick, the Rhins of Galloway", 199_800, 554_000),
    ("Islay", 135_000, 645_000),
    ("Douglas, Isle of Man", 238_000, 475_000),
    ("St David's, Pembrokeshire", 175_300, 225_300),
    ("Lowestoft", 655_000, 293_000),
    ("Lerwick, Shetland", 447_000, 1_141_000),
])
def test_british_coasts_next_to_the_refused_areas_are_converted(place, east, north):
    assert grid_to_wgs84([east], [north]).refused == (None,), place


def test_wgs84_outside_coverage_has_no_grid_reference():
    converted = wgs84_to_grid([54.597, 53.35, 51.5, 48.0], [-5.930, -6.26, -0.12, -2.0])
    belfast, dublin, london, brittany = converted.refused
    assert belfast and "Ireland" in belfast and dublin and "Ireland" in dublin
    assert london is None and brittany and "outside Great Britain" in brittany
    assert np.isnan(converted.easting[[0, 1, 3]]).all()


def test_arrays_keep_their_order_and_mix_refused_and_converted():
    converted = grid_to_wgs84([442_000, 146_000, 530_625], [112_000, 530_000, 178_388])
    assert [r is None for r in converted.refused] == [True, False, True]
    assert converted.lat[0] == pytest.approx(50.906, abs=0.001)
    assert converted.lat[2] == pytest.approx(51.4894, abs=0.001)


def test_mismatched_arrays_are_a_programming_error():
    with pytest.raises(ValueError, match="one length"):
        grid_to_wgs84([1.0, 2.0], [1.0])


@pytest.mark.parametrize(("east", "north", "reference"), [
    (442_000, 112_000, "SU 42000 12000"),
    (651_409.903, 313_177.270, "TG 51409 13177"),  # the OS's example: truncated, not rounded
    (91_492.146, 11_318.804, "SV 91492 11318"),
    (395_999.668, 1_138_728.951, "HT 95999 38728"),  # Foula
    (530_624.974, 178_388.464, "TQ 30624 78388"),
    (441_999.996, 111_999.997, "SU 42000 12000"),  # round-trip noise is not a metre
])
def test_grid_references_in_letters(east, north, reference):
    assert grid_reference(east, north) == reference


def test_no_letters_outside_the_national_grid():
    with pytest.raises(ValueError, match="no National Grid letters"):
        grid_reference(-1.0, 5.0)
