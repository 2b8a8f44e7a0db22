"""British National Grid references <-> WGS84 latitude/longitude through OSTN15. Pure.

A grid reference (OSGB36 National Grid easting and northing) means what the Ordnance
Survey's definitive transformation, OSTN15, says it means: since 2016 the National Grid is
*defined* by the OS Net stations' ETRS89 positions and OSTN15, so a 7-parameter Helmert
shift (pyproj's EPSG:27700 without the OSTN15 grid file) is off by up to several metres
across Great Britain. ``convertbng`` (PyPI, compiled, whole arrays at a time) implements
OSTN15: ETRS89 <-> OSGB36 by the OS's 1 km shift grid with bilinear interpolation, the
inverse iterated to 0.1 mm as the OS user guide prescribes. Tested against the OS's
published test points (tests/unit/test_grid.py).

WGS84 is taken as ETRS89, as the OS advises for mapping and navigation: the two drift
apart by ~2.5 cm a year with the European plate (~0.9 m by 2026), far below any tag fix's
accuracy, and no crime file says which WGS84 realisation it means.

Coverage. OSTN15 covers Great Britain and the Isle of Man; its grid is filled beyond them
only so that it has no cliff at the coast, and the OS warns against using it where the
National Grid is not what is meant. A point is converted only when it is:

* inside the OSTN15 grid: easting 0..700,000 m, northing 0..1,250,000 m;
* within Great Britain's extent, latitude 49.922..60.84, longitude -8.579..1.78 (Scilly's
  St Mary's and St Kilda to Lowestoft and Unst; convertbng's own bounds, so every
  position accepted one way converts back the other);
* not on or around the island of Ireland (``IRELAND``), where the Irish Grid, not the
  National Grid, is used: an Irish Grid reference read as a National Grid one lands there
  or somewhere in Britain, and nothing in the numbers tells which.

Anything else gets a reason and no position, never a silently shifted one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np
from convertbng.cutil import convert_bng, convert_lonlat
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GB_LAT",
    "GB_LON",
    "GRID_EASTING",
    "GRID_NORTHING",
    "IRELAND",
    "GridPositions",
    "WGS84Positions",
    "grid_reference",
    "grid_to_wgs84",
    "national_grid",
    "wgs84_to_grid",
]

GRID_EASTING: Final = (0.0, 700_000.0)
GRID_NORTHING: Final = (0.0, 1_250_000.0)
GB_LAT: Final = (49.922, 60.84)
GB_LON: Final = (-8.579, 1.78)

# The island of Ireland and the sea around it, as a (lat, lon) ring. Drawn by hand from
# the coasts, keeping at least ~9 km from both sides of every channel: north of it Islay
# (Mull of Oa 55.58 N), east of it Kintyre (5.80 W), the Rhins of Galloway (5.16 W), the
# Isle of Man and Pembrokeshire (the Smalls, 5.67 W); inside it Rathlin, Torr Head
# (6.06 W), the Ards peninsula (5.43 W), St John's Point (5.66 W), Wicklow Head (5.99 W).
IRELAND: Final[tuple[tuple[float, float], ...]] = (
    (55.50, -11.00), (55.50, -5.95), (55.10, -5.95), (55.10, -5.30), (54.00, -5.30),
    (53.90, -5.85), (51.00, -5.85), (51.00, -11.00), (55.50, -11.00),
)

_OFF_GB = ("outside Great Britain and the Isle of Man, which OSTN15 covers "
           f"(latitude {GB_LAT[0]}..{GB_LAT[1]}, longitude {GB_LON[0]}..{GB_LON[1]})")
_EDGE = "outside OSTN15's coverage: no transformation there (the edge of its grid)"
_IN_IRELAND = ("in Ireland, Northern Ireland or the sea around them: the British National "
               "Grid and OSTN15 cover Great Britain and the Isle of Man only (an Irish Grid "
               "reference is not a National Grid one; send latitude/longitude)")


@dataclass(frozen=True, slots=True)
class WGS84Positions:
    """Grid references converted: one entry per point, in input order. ``refused[i]`` says
    why point i has no position (its lat/lon are NaN), or is None when it converted."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    refused: tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class GridPositions:
    """WGS84 positions converted to the National Grid, as ``WGS84Positions``."""

    easting: NDArray[np.float64]
    northing: NDArray[np.float64]
    refused: tuple[str | None, ...]


def _floats(values: ArrayLike) -> NDArray[np.float64]:
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def _in_ireland(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Even-odd ray casting against ``IRELAND``: the ring keeps kilometres from any coast,
    so how a point exactly on its edge is judged does not matter."""
    inside = np.zeros(lat.shape, dtype=bool)
    for (lat1, lon1), (lat2, lon2) in pairwise(IRELAND):
        if lat1 == lat2:
            continue  # a horizontal edge never crosses a horizontal ray
        crosses = (lat1 > lat) != (lat2 > lat)
        at_lon = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
        inside ^= crosses & (lon < at_lon)
    return inside


def _coverage(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> list[str | None]:
    """Why each WGS84 position is outside what OSTN15 covers (None when inside)."""
    off = ~((lat >= GB_LAT[0]) & (lat <= GB_LAT[1]) & (lon >= GB_LON[0]) & (lon <= GB_LON[1]))
    ireland = _in_ireland(lat, lon)
    return [_OFF_GB if o else _IN_IRELAND if i else None
            for o, i in zip(off.tolist(), ireland.tolist(), strict=True)]


def grid_to_wgs84(eastings: ArrayLike, northings: ArrayLike) -> WGS84Positions:
    """National Grid easting/northing (metres) -> WGS84 latitude/longitude, OSTN15."""
    east, north = _floats(eastings), _floats(northings)
    if east.shape != north.shape or east.ndim != 1:
        raise ValueError("eastings and northings must be two flat sequences of one length")
    in_grid = ((east >= GRID_EASTING[0]) & (east <= GRID_EASTING[1])
               & (north >= GRID_NORTHING[0]) & (north <= GRID_NORTHING[1]))
    lon = np.full(east.shape, np.nan)
    lat = np.full(east.shape, np.nan)
    if in_grid.any():
        converted_lon, converted_lat = convert_lonlat(east[in_grid], north[in_grid])
        lon[in_grid], lat[in_grid] = converted_lon, converted_lat
    refused: list[str | None] = []
    for point, (inside, why) in enumerate(zip(in_grid.tolist(), _coverage(lat, lon),
                                              strict=True)):
        if not inside:
            refused.append("outside the OSTN15 grid (easting 0..700000, northing "
                           "0..1250000)")
        elif math.isnan(lat[point]):
            refused.append(_EDGE)
        else:
            refused.append(why)
    _blank(lat, lon, refused)
    return WGS84Positions(lat, lon, tuple(refused))


def wgs84_to_grid(lats: ArrayLike, lons: ArrayLike) -> GridPositions:
    """WGS84 latitude/longitude (degrees) -> National Grid easting/northing, OSTN15 (to the
    millimetre, as convertbng rounds)."""
    lat, lon = _floats(lats), _floats(lons)
    if lat.shape != lon.shape or lat.ndim != 1:
        raise ValueError("latitudes and longitudes must be two flat sequences of one length")
    refused = _coverage(lat, lon)
    ok = np.array([why is None for why in refused], dtype=bool)
    east = np.full(lat.shape, np.nan)
    north = np.full(lat.shape, np.nan)
    if ok.any():
        east[ok], north[ok] = convert_bng(lon[ok], lat[ok])
    for point in np.flatnonzero(ok & np.isnan(east)).tolist():
        refused[point] = _EDGE
    _blank(east, north, refused)
    return GridPositions(east, north, tuple(refused))


def _blank(a: NDArray[np.float64], b: NDArray[np.float64],
           refused: Sequence[str | None]) -> None:
    """A refused point has no position: NaN in both arrays, whatever was computed."""
    for point, why in enumerate(refused):
        if why is not None:
            a[point] = b[point] = np.nan


def grid_reference(easting: float, northing: float) -> str:
    """The 10-figure letter form officers read and write: the 1 m square the point is in,
    442000 E 112000 N is "SU 42000 12000". Truncated to the metre, as grid references are,
    after rounding to the centimetre (the round trip's tested precision), so that a
    position that came from a grid reference and went through WGS84 (a few millimetres
    off) shows the reference it was sent as."""
    east = math.floor(round(easting, 2))
    north = math.floor(round(northing, 2))
    if not (0 <= east < 700_000 and 0 <= north < 1_300_000):
        raise ValueError(f"{easting:g}, {northing:g} has no National Grid letters")
    e100, n100 = east // 100_000, north // 100_000
    # 500 km squares (S, T, N, H, O) then 100 km squares, 5 x 5 letters without I.
    first = (19 - n100) - (19 - n100) % 5 + (e100 + 10) // 5
    second = (19 - n100) * 5 % 25 + e100 % 5
    letters = "".join(chr(65 + n + (n > 7)) for n in (first, second))
    return f"{letters} {east % 100_000:05d} {north % 100_000:05d}"


def national_grid(lats: ArrayLike, lons: ArrayLike) -> list[dict[str, str | float]]:
    """For the evidence views: each WGS84 position's National Grid ``reference`` (letters),
    ``easting`` and ``northing`` (metres, to the decimetre), or ``no_grid_reference`` with
    the reason. One OSTN15 call for all of them."""
    converted = wgs84_to_grid(lats, lons)
    return [{"no_grid_reference": why} if why is not None else
            {"reference": grid_reference(e, n), "easting": round(e, 1), "northing": round(n, 1)}
            for e, n, why in zip(converted.easting.tolist(), converted.northing.tolist(),
                                 converted.refused, strict=True)]
