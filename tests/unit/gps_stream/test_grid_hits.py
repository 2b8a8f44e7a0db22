"""A crime given in grid references and the same crime given in latitude/longitude produce
the same hits: through the crime file (OSTN15) and the matcher (the hit rule).

The places are Ordnance Survey OSTN15 test points (tests/unit/ostn15_points.py), whose
grid and ETRS89 positions the OS publishes both. Fixes sit a few centimetres either side
of the hit radius on every bearing, so a conversion off by more than that changes the
hits; the Helmert shift the crime file used before does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyproj import Transformer

from iomkit.crimefile import parse
from services.gps_stream.hitrule import Enrolment
from services.gps_stream.matcher import HitMatcher
from services.gps_stream.partitions import crime_of
from services.gps_stream.trail import Fix, epoch_ms
from tests.unit.gps_stream.support import DAY, destination
from tests.unit.ostn15_points import OSGB_TO_ETRS
from tests.unit.test_crimefile import line, row

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
AT = epoch_ms(datetime(2026, 11, 1, 21, 40, tzinfo=UTC))  # inside the rows' 21:30-21:50
ACCURACY_M = 10.0
RADIUS_M = 100.0 + ACCURACY_M  # the contract's base radius + the fix's accuracy
EDGE_M = 0.05  # fixes this far inside and outside the radius
# Scilly, Southampton, Westminster, West Yorkshire, Aberdeen, St Kilda, Foula: where the
# Helmert shift is off by 1.1 m (Southampton) to 4.9 m (St Kilda)
PLACES = ("TP01", "TP05", "TP09", "TP20", "TP29", "TP31", "TP40")
HELMERT = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def crime_rows() -> str:
    rows = []
    for point, east, north, lat, lon in OSGB_TO_ETRS:
        if point in PLACES:
            rows.append(row(c4=f"G/{point}", c7=f"{east}", c8=f"{north}", c11="OSGB36"))
            rows.append(row(c4=f"L/{point}", c7="", c8="", c9=f"{lat}", c10=f"{lon}",
                            c11="WGS84"))
    return "".join(line(r) for r in rows)


def matcher_with_fixes() -> HitMatcher:
    """A person per place, each with fixes just inside and just outside the radius around
    the OS's published position, on 24 bearings."""
    matcher = HitMatcher()
    for point, _, _, lat, lon in OSGB_TO_ETRS:
        if point not in PLACES:
            continue
        matcher.add_enrolment(Enrolment(f"E-{point}", f"D-{point}", f"P-{point}", "FITTED",
                                        AT - DAY))
        for i in range(24):
            for n, metres in enumerate((RADIUS_M - EDGE_M, RADIUS_M + EDGE_M)):
                fix_lat, fix_lon = destination(lat, lon, i * 15.0, metres)
                matcher.add_fix(Fix(f"D-{point}", AT + 1000 * (2 * i + n), fix_lat, fix_lon,
                                    ACCURACY_M))
    return matcher


def evidence(matcher: HitMatcher, crimes: list[dict]) -> dict[str, tuple[str, frozenset]]:
    """crime_ref -> (person, times of the evidence fixes)."""
    found = {}
    for value in crimes:
        for update in matcher.add_crime(crime_of({**value, "version": 1})):
            found[update.crime_ref] = (update.person_id,
                                       frozenset(f.recorded_at_ms for f in update.fixes))
    return found


def test_a_crime_in_grid_references_and_in_latitude_longitude_has_the_same_hits():
    parsed = parse(crime_rows(), NOW)
    assert parsed.refused == []
    found = evidence(matcher_with_fixes(), parsed.accepted)
    for point in PLACES:
        person, times = found[f"L/{point}"]
        assert person == f"P-{point}"
        assert len(times) == 24  # every fix just inside, none just outside
        assert found[f"G/{point}"] == found[f"L/{point}"], point


def test_the_helmert_shift_would_have_changed_the_hits():
    parsed = parse(crime_rows(), NOW)
    helmert = []
    for value in parsed.accepted:
        if value["crime_ref"].startswith("G/"):
            point = value["crime_ref"][2:]
            _, east, north, _, _ = next(p for p in OSGB_TO_ETRS if p[0] == point)
            lon, lat = HELMERT.transform(east, north)
            helmert.append({**value, "crime_ref": f"H/{point}", "lat": lat, "lon": lon})
    found = evidence(matcher_with_fixes(), parsed.accepted + helmert)
    changed = [p for p in PLACES if found.get(f"H/{p}") != found[f"L/{p}"]]
    assert changed == list(PLACES)  # a metre off already moves fixes across the edge
