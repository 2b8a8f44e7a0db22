"""Grid suite: what OSTN15 costs for a day's crime file, against the Helmert shift it
replaced, in the same run. CPU only (no broker).

* the day: 20,000 crime rows (seeded), grid references across England and Wales (easting
  200-650 km, northing 20-650 km, whole metres as forces send them; the few that OSTN15
  does not cover, at sea, are drawn again), the rest of each row the same valid Hampshire
  robbery.
* conversion: ``iomkit.grid.grid_to_wgs84`` on the day's references, one array call, as
  ``crimefile.parse`` makes it; baseline: pyproj's EPSG:27700 -> EPSG:4326 (Helmert, no
  OSTN15 grid file) one row at a time, as ``crimefile`` did before, in the same run; the
  same Helmert on whole arrays is a fact, so the row-at-a-time overhead is not mistaken
  for the transformation's.
* the file: ``crimefile.parse`` of the day's file in grid references against the same
  rows in latitude/longitude (no conversion), interleaved: the median difference of the
  pairs is what grid references add to an upload (a fact; noisy on a shared machine).
* the evidence pack: National Grid references for one hit of 60 fixes and its crime
  (``iomkit.grid.national_grid``, as the console's map and ``GET /hits/{id}`` call it).

Every time is the best of ``Context.repeats`` (the two parses: of seven, interleaved);
convertbng converts on as many threads as there are cores (2 here).
"""

from __future__ import annotations

import csv
import io
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version

import numpy as np
from pyproj import Transformer

from bench import Context
from bench.report import Row, SuiteResult, progress
from iomkit import crimefile, grid

NAME = "grid"
ROWS = 20_000
PACK_FIXES = 60
SEED = 20
NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
ROW = ["Hampshire", "RB", "Robbery", "HAM-B1", "", "20261101213000", "20261101215000",
       "", "", "", "", "", "bench row"]


def best_ms(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def day(rng: random.Random) -> tuple[list[float], list[float]]:
    """ROWS grid references that OSTN15 covers, so every row of the file is accepted."""
    eastings: list[float] = []
    northings: list[float] = []
    while len(eastings) < ROWS:
        east = [float(rng.randrange(200_000, 650_000)) for _ in range(ROWS)]
        north = [float(rng.randrange(20_000, 650_000)) for _ in range(ROWS)]
        refused = grid.grid_to_wgs84(east, north).refused
        for e, n, why in zip(east, north, refused, strict=True):
            if why is None and len(eastings) < ROWS:
                eastings.append(e)
                northings.append(n)
    return eastings, northings


def crime_file(positions: list[tuple[str, str, str, str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, (east, north, lat, lon, datum) in enumerate(positions):
        cells = list(ROW)
        cells[4] = f"44/{i:06d}/26"
        cells[7:12] = [east, north, lat, lon, datum]
        writer.writerow(cells)
    return out.getvalue()


async def run(ctx: Context) -> SuiteResult:
    result = SuiteResult(NAME)
    rng = random.Random(SEED)
    eastings, northings = day(rng)
    east, north = np.array(eastings), np.array(northings)

    ostn15_ms = best_ms(lambda: grid.grid_to_wgs84(east, north), ctx.repeats)
    helmert = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    helmert_rows_ms = best_ms(
        lambda: [helmert.transform(e, n) for e, n in zip(eastings, northings, strict=True)],
        ctx.repeats)
    helmert_array_ms = best_ms(lambda: helmert.transform(east, north), ctx.repeats)
    progress(f"grid: {ROWS:,} references: OSTN15 {ostn15_ms:.1f} ms, Helmert row by row "
             f"{helmert_rows_ms:.1f} ms, Helmert arrays {helmert_array_ms:.1f} ms")

    converted = grid.grid_to_wgs84(east, north)
    helmert_lon, helmert_lat = helmert.transform(east, north)
    apart = _metres_apart(converted.lat, converted.lon, np.asarray(helmert_lat),
                          np.asarray(helmert_lon))

    grid_file = crime_file([(f"{e:.0f}", f"{n:.0f}", "", "", "OSGB36")
                            for e, n in zip(eastings, northings, strict=True)])
    lat_lon_file = crime_file([
        ("", "", f"{la:.6f}", f"{lo:.6f}", "WGS84")
        for la, lo in zip(converted.lat.tolist(), converted.lon.tolist(), strict=True)])
    for text in (grid_file, lat_lon_file):
        parsed = crimefile.parse(text, NOW)
        assert len(parsed.accepted) == ROWS and not parsed.refused, parsed.refused[:3]
    # interleaved pairs, so both files see the same load on a shared machine: best of
    # seven each, and the median of the seven pairs' differences (what grid references add)
    grid_runs, lat_lon_runs = [], []
    for _ in range(max(ctx.repeats, 7)):
        grid_runs.append(best_ms(lambda: crimefile.parse(grid_file, NOW), 1))
        lat_lon_runs.append(best_ms(lambda: crimefile.parse(lat_lon_file, NOW), 1))
    grid_parse_ms, lat_lon_parse_ms = min(grid_runs), min(lat_lon_runs)
    added_ms = float(np.median(np.array(grid_runs) - np.array(lat_lon_runs)))
    progress(f"grid: parse {grid_parse_ms:.0f} ms in grid references, "
             f"{lat_lon_parse_ms:.0f} ms in latitude/longitude")

    # a hit's 60 fixes within ~100 m of one of the day's crimes, and the crime
    crime = rng.randrange(ROWS)
    offsets = np.linspace(-0.001, 0.001, PACK_FIXES + 1)
    pack_lat = converted.lat[crime] + offsets
    pack_lon = converted.lon[crime] + offsets[::-1]
    pack_ms = best_ms(lambda: grid.national_grid(pack_lat, pack_lon), max(ctx.repeats, 20))

    result.rows += [
        Row(f"grid: OSTN15 for a day's {ROWS:,} grid references", ostn15_ms, helmert_rows_ms,
            target=100, unit="ms", lower_is_better=True,
            note="baseline: pyproj Helmert one row at a time (the old crimefile path)"),
        Row(f"grid: crime file parse, {ROWS:,} rows in grid references", grid_parse_ms,
            lat_lon_parse_ms, unit="ms", lower_is_better=True,
            note="baseline: the same rows in latitude/longitude (no conversion)"),
        Row(f"grid: evidence pack references, a hit of {PACK_FIXES} fixes", pack_ms, None,
            target=5, unit="ms", lower_is_better=True),
    ]
    result.facts.update({
        "rows": ROWS,
        "helmert_arrays_ms": round(helmert_array_ms, 2),
        "conversion_share_of_parse": round(ostn15_ms / grid_parse_ms, 4),
        "parse_added_by_grid_ms_median_of_pairs": round(added_ms, 1),
        "helmert_vs_ostn15_m_median": round(float(np.median(apart)), 2),
        "helmert_vs_ostn15_m_max": round(float(apart.max()), 2),
        "convertbng": version("convertbng"),
        "pyproj": version("pyproj"),
    })
    result.notes.append(
        f"grid: OSTN15 converts a day's {ROWS:,} grid references in {ostn15_ms:.1f} ms "
        f"({ostn15_ms / grid_parse_ms:.1%} of parsing the file); the Helmert shift it "
        f"replaces was {float(np.median(apart)):.1f} m off on the median row and "
        f"{float(apart.max()):.1f} m at worst")
    return result


def _metres_apart(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                  lon2: np.ndarray) -> np.ndarray:
    """Haversine on the contract's sphere: enough for metres between two conversions."""
    r = 6_371_008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(
        np.radians(lon2 - lon1) / 2) ** 2
    return np.asarray(2 * r * np.arcsin(np.sqrt(a)))
