"""Exclusion and inclusion zones: validation, point-in-zone, and breach episodes. Pure: no I/O.

Geometry
--------
A zone's polygon is a closed ring of (lat, lon) points. Its edges are straight lines in the
(lon, lat) plane (plate carree), and a point is inside when ray casting in that plane says so
(``point_in_ring``: a winding-number test whose orientation predicate is exact, a float
filter with a ``Fraction`` fallback). Points on the boundary count as inside, so touching an
exclusion zone is entering it and standing on an inclusion zone's edge is still inside. A
straight lat/lon edge differs from the great circle through its ends by about
L^2 tan(lat) / (8R): 2 cm for a 1 km edge at 51 N, 2 m for 10 km; far below GPS accuracy, so
"fine at these scales". Rings whose edges span 180 degrees of longitude or more (the
antimeridian) are refused.

Interior cells (the shortcut)
-----------------------------
``ZoneIndex`` keeps, per zone, the H3 cells at ``geometry.RESOLUTION`` that lie wholly inside
the polygon; a fix whose cell is one of them is inside without further work, anything else
gets the exact test. We do not rely on H3's containment modes. We compute:

    interior = polygon_to_cells(ring, RESOLUTION)            # H3: cells whose centre is inside
               minus band,
    band     = union of grid_disk(cell(s), disk_k(BOUNDARY_STEP_M + INTERIOR_MARGIN_M))
               over points s sampled every <= BOUNDARY_STEP_M metres along every edge.

Why every interior cell C is wholly inside: if some point q of C were within
INTERIOR_MARGIN_M of a boundary point b, b is within BOUNDARY_STEP_M / 2 of a sample s, so q
is within BOUNDARY_STEP_M + INTERIOR_MARGIN_M of s, and by the cover lemma of ``geometry``
(every point within d of s lies in ``grid_disk(cell(s), disk_k(d))``) C would be in the band.
So C (a connected region) keeps INTERIOR_MARGIN_M away from the boundary: it is wholly inside
or wholly outside, and its centre, well away from the boundary where H3's planar lat/lng
centre test and ours agree, is inside. The margin also absorbs floating-point error in
``latlng_to_cell``. A zone whose estimated cell count exceeds ``MAX_INTERIOR_CELLS`` (about
10,000 km2) gets no shortcut: always the exact test. A property test checks the shortcut
against the exact test (tests/unit/gps_stream/test_zones.py).

Breach episodes (``BreachTracker``)
-----------------------------------
Per (person, zone) the tracker holds the usable fixes' verdicts (violating: inside an
EXCLUSION zone or outside an INCLUSION zone, while the zone is active) compressed into
*runs*: maximal sequences of consecutive fixes, in recorded_at order, with the same verdict,
each kept as (first fix time, last fix time, verdict). Runs alternate. A violating run is an
episode; it is published (one ``ZoneBreach``) when it is created, with first_fix_at = its
first fix and breach_id = sha256("{zone_id}|{person_id}|{first_fix_at_ms}")[:32]. Fixes with
accuracy above ``max_fix_accuracy_m`` (200 m) are ignored: they neither start nor end
episodes. A fix at time t with verdict v:

* after every run (in order): extends the last run if it has the same verdict, else starts
  a new run; a new violating run publishes a breach. So: enter -> one breach, stay ->
  nothing, a compliant fix ends the episode and re-arms, entering again -> a second breach.
* inside a run with the same verdict (first <= t <= last): nothing (duplicates included).
* compliant, inside a violating run (a late fix within an already-reported episode):
  nothing. A published episode is never split, shortened or withdrawn.
* in the gap between two runs (or before the first): joins the neighbour run with the same
  verdict (runs alternate, so there is one), moving its first or last fix to t; nothing is
  published. In particular a late violating fix that precedes a reported episode's first
  fix (with no compliant fix known between them) joins that episode: nothing new is
  published and the episode keeps the breach_id already published, which is derived from
  the first fix known when it was detected, not necessarily its earliest fix.
* violating, landing between two episodes: in the gap right after the first episode or
  right before the second, it joins that episode (above). Strictly inside the compliant run
  between them (first < t < last) it has compliant fixes on both sides, so it is a new
  episode and one new breach is published. That run is split into [first, first], the new
  episode [t, t] and [last, last]: the compliant fixes strictly inside a run are not kept, so
  a later late violating fix between first and last joins this new episode rather than
  starting another. The tracker errs towards one breach, never a duplicate.
* at the same millisecond as a known fix of a run end with the opposite verdict: the
  verdict already held for that millisecond stands (nothing).

Zone versions: ``ZoneIndex`` keeps only the latest version of each zone; a fix is judged,
once, against the version held when the fix is processed. A new version therefore applies
to fixes processed from then on (late fixes included); verdicts and episodes already decided
stand (nothing is re-evaluated or withdrawn), and an episode open under the old version
continues under the new one. A new version with another ``kind`` resets the (person, zone)
state. Retention: ``purge_before(cutoff)`` refuses later fixes recorded before cutoff and
drops runs no later fix can touch (it keeps the newest run that ended before cutoff, so a fix
just after cutoff still sees its neighbour).
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any, Final, Literal

import h3

from services.gps_stream.geometry import EARTH_RADIUS_M, RESOLUTION, disk_k, haversine_m
from services.gps_stream.trail import Fix

__all__ = [
    "BOUNDARY_STEP_M",
    "ENTERED_EXCLUSION",
    "EXCLUSION",
    "INCLUSION",
    "INTERIOR_MARGIN_M",
    "LEFT_INCLUSION",
    "MAX_INTERIOR_CELLS",
    "MIN_AREA_M2",
    "BreachTracker",
    "Episode",
    "Zone",
    "ZoneError",
    "ZoneIndex",
    "ZoneKind",
    "ZoneSettings",
    "breach_id",
    "point_in_ring",
    "validate_zone",
]

ZoneKind = Literal["EXCLUSION", "INCLUSION"]
EXCLUSION: Final = "EXCLUSION"
INCLUSION: Final = "INCLUSION"
ENTERED_EXCLUSION: Final = "ENTERED_EXCLUSION"
LEFT_INCLUSION: Final = "LEFT_INCLUSION"

INTERIOR_MARGIN_M: Final = 1.0
"""Interior cells keep at least this far from the zone's boundary (see the module doc)."""
BOUNDARY_STEP_M: Final = 50.0
"""Spacing of the boundary samples whose grid disks make the band excluded from the interior."""
MIN_AREA_M2: Final = 1.0
"""A ring enclosing less than this is refused as having zero area (e.g. decimal points on a
line, such as 50.90, 50.91, 50.92, which are not exactly collinear as binary floats)."""
MAX_INTERIOR_CELLS: Final = 100_000
"""Above this estimated number of cells a zone gets no interior shortcut (exact test only)."""

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DEG_M: Final = EARTH_RADIUS_M * math.pi / 180.0  # metres per degree of latitude
# Shewchuk's ccwerrboundA: beyond this the float orientation's sign is certain.
_CCW_ERR: Final = (3.0 + 16.0 * 2.0**-53) * 2.0**-53


class ZoneError(ValueError):
    """An ``ExclusionZone`` value that cannot be used; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Zone:
    """One version of an ``ExclusionZone``. polygon: closed ring of (lat, lon) points."""

    zone_id: str
    person_id: str
    kind: ZoneKind
    polygon: tuple[tuple[float, float], ...]
    active_from_ms: int
    active_to_ms: int | None
    version: int
    victim_safety: bool = False  # protects a victim: copied onto each ZoneBreach

    def is_active(self, at_ms: int) -> bool:
        """active_from <= at_ms <= active_to (both ends inclusive; no end when null)."""
        if at_ms < self.active_from_ms:
            return False
        return self.active_to_ms is None or at_ms <= self.active_to_ms


@dataclass(frozen=True, slots=True)
class ZoneSettings:
    """Breach settings: a fix vaguer than max_fix_accuracy_m neither starts nor ends episodes."""

    max_fix_accuracy_m: float = 200.0


# --- exact planar predicates (x = lon, y = lat) ------------------------------------------


def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Sign of (b - a) x (c - a): 1 when c is left of a->b, -1 right, 0 collinear. Exact."""
    left = (bx - ax) * (cy - ay)
    right = (by - ay) * (cx - ax)
    det = left - right
    bound = _CCW_ERR * (abs(left) + abs(right))
    if det > bound:
        return 1
    if det < -bound:
        return -1
    fax, fay = Fraction(ax), Fraction(ay)
    exact = (Fraction(bx) - fax) * (Fraction(cy) - fay) - (Fraction(by) - fay) * (
        Fraction(cx) - fax
    )
    return (exact > 0) - (exact < 0)


def _within_box(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> bool:
    return min(ax, bx) <= px <= max(ax, bx) and min(ay, by) <= py <= max(ay, by)


def point_in_ring(ring: Sequence[tuple[float, float]], lat: float, lon: float) -> bool:
    """Exact point-in-polygon for a closed ring of (lat, lon): boundary counts as inside.

    Winding number (ray casting) over the ring's edges as straight lines in the (lon, lat)
    plane; every orientation test is exact, so the answer never depends on rounding.
    """
    wn = 0
    alat, alon = ring[0]
    for blat, blon in ring[1:]:
        o: int | None = None
        if min(alat, blat) <= lat <= max(alat, blat) and min(alon, blon) <= lon <= max(alon, blon):
            o = _orient(alon, alat, blon, blat, lon, lat)
            if o == 0:
                return True  # on this edge
        if alat <= lat:
            if blat > lat:  # upward crossing of the point's latitude
                if o is None:
                    o = _orient(alon, alat, blon, blat, lon, lat)
                if o > 0:
                    wn += 1
        elif blat <= lat:  # downward crossing
            if o is None:
                o = _orient(alon, alat, blon, blat, lon, lat)
            if o < 0:
                wn -= 1
        alat, alon = blat, blon
    return wn != 0


def _segments_touch(
    p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float],
    p4: tuple[float, float],
) -> bool:
    """Whether closed segments p1p2 and p3p4 share any point (crossing, touching, overlap)."""
    (y1, x1), (y2, x2), (y3, x3), (y4, x4) = p1, p2, p3, p4
    d1 = _orient(x3, y3, x4, y4, x1, y1)
    d2 = _orient(x3, y3, x4, y4, x2, y2)
    d3 = _orient(x1, y1, x2, y2, x3, y3)
    d4 = _orient(x1, y1, x2, y2, x4, y4)
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True
    return (
        (d1 == 0 and _within_box(x3, y3, x4, y4, x1, y1))
        or (d2 == 0 and _within_box(x3, y3, x4, y4, x2, y2))
        or (d3 == 0 and _within_box(x1, y1, x2, y2, x3, y3))
        or (d4 == 0 and _within_box(x1, y1, x2, y2, x4, y4))
    )


def _folds_back(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> bool:
    """Adjacent edges a->b, b->c overlap beyond their shared point b (the ring turns back)."""
    if _orient(a[1], a[0], b[1], b[0], c[1], c[0]) != 0:
        return False
    return (a[1] - b[1]) * (c[1] - b[1]) + (a[0] - b[0]) * (c[0] - b[0]) > 0


def _self_intersection(ring: Sequence[tuple[float, float]]) -> tuple[int, int] | None:
    """A pair of edges (i, j) of the closed ring that meet where they should not, or None.

    Non-adjacent edges must not share any point (crossing, touching or collinear overlap);
    adjacent edges must not fold back over each other. Sweep on longitude, so far-apart
    edges are never compared.
    """
    m = len(ring) - 1  # edges: i joins ring[i] and ring[i + 1]
    for i in range(m):
        if _folds_back(ring[i - 1] if i else ring[m - 1], ring[i], ring[i + 1]):
            return ((i - 1) % m, i)
    boxes = []
    for i in range(m):
        (alat, alon), (blat, blon) = ring[i], ring[i + 1]
        boxes.append((min(alon, blon), max(alon, blon), min(alat, blat), max(alat, blat), i))
    boxes.sort()
    for k, (_, x_hi, y_lo, y_hi, i) in enumerate(boxes):
        for x_lo2, _, y_lo2, y_hi2, j in boxes[k + 1:]:
            if x_lo2 > x_hi:
                break
            if y_lo2 > y_hi or y_hi2 < y_lo:
                continue
            a, b = min(i, j), max(i, j)
            if b - a == 1 or (a == 0 and b == m - 1):
                continue  # adjacent: checked by _folds_back
            if _segments_touch(ring[a], ring[a + 1], ring[b], ring[b + 1]):
                return (a, b)
    return None


def _signed_area2(ring: Sequence[tuple[float, float]]) -> Fraction:
    """Twice the signed area of the ring in the (lon, lat) plane, exactly."""
    total = Fraction(0)
    for (alat, alon), (blat, blon) in pairwise(ring):
        total += Fraction(alon) * Fraction(blat) - Fraction(blon) * Fraction(alat)
    return total


# --- validation -----------------------------------------------------------------------


def _millis(value: Any, name: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return (value - EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ZoneError(f"{name} must be a timestamp, not {value!r}")


def _point(raw: Any, index: int) -> tuple[float, float]:
    if (
        not isinstance(raw, Sequence)
        or isinstance(raw, str)
        or len(raw) != 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in raw)
    ):
        raise ZoneError(f"polygon point {index} is not a [lat, lon] pair: {raw!r}")
    lat, lon = float(raw[0]), float(raw[1])
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ZoneError(f"polygon point {index} has an impossible latitude {raw[0]!r}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ZoneError(f"polygon point {index} has an impossible longitude {raw[1]!r}")
    return lat, lon


def _ring(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """The closed ring without consecutive repeated points."""
    ring = [points[0]]
    for p in points[1:]:
        if p != ring[-1]:
            ring.append(p)
    return tuple(ring)


def validate_zone(value: Mapping[str, Any]) -> Zone:
    """A ``Zone`` from an ``ExclusionZone`` value (decoded Avro: datetimes, or ms ints).

    Raises ``ZoneError`` for: a missing or empty id, an unknown kind, fewer than 4 points, a
    ring that is not closed (first != last), impossible coordinates, an edge spanning 180
    degrees of longitude or more, zero area (all points on one line, or an area under
    ``MIN_AREA_M2``), a self-intersecting ring, active_to before active_from, a version
    below 1. Consecutive repeated points are allowed (ignored for the geometry).
    """
    try:
        zone_id, person_id, kind = value["zone_id"], value["person_id"], value["kind"]
        raw_polygon, version = value["polygon"], value["version"]
        raw_from, raw_to = value["active_from"], value.get("active_to")
    except KeyError as missing:
        raise ZoneError(f"field {missing.args[0]} is missing") from None
    for name, text in (("zone_id", zone_id), ("person_id", person_id)):
        if not isinstance(text, str) or not text:
            raise ZoneError(f"{name} must be a non-empty string")
    if kind not in (EXCLUSION, INCLUSION):
        raise ZoneError(f"kind {kind!r} is neither EXCLUSION nor INCLUSION")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ZoneError(f"version {version!r} must be an integer of at least 1")
    active_from = _millis(raw_from, "active_from")
    active_to = None if raw_to is None else _millis(raw_to, "active_to")
    if active_to is not None and active_to < active_from:
        raise ZoneError("active_to is before active_from")
    if not isinstance(raw_polygon, Sequence) or isinstance(raw_polygon, str):
        raise ZoneError("polygon must be a list of [lat, lon] points")
    if len(raw_polygon) < 4:
        raise ZoneError(f"polygon has {len(raw_polygon)} points; a closed ring needs at least 4")
    points = tuple(_point(p, i) for i, p in enumerate(raw_polygon))
    if points[0] != points[-1]:
        raise ZoneError("polygon is not closed: the first point differs from the last")
    ring = _ring(points)
    for i in range(len(ring) - 1):
        if abs(ring[i + 1][1] - ring[i][1]) >= 180.0:
            raise ZoneError(f"polygon edge {i} spans 180 degrees of longitude or more")
    if len(ring) < 4 or all(
        _orient(ring[0][1], ring[0][0], ring[1][1], ring[1][0], p[1], p[0]) == 0 for p in ring
    ):
        raise ZoneError("polygon has zero area (its points lie on one line)")
    crossing = _self_intersection(ring)
    if crossing is not None:
        raise ZoneError(f"polygon is self-intersecting (edges {crossing[0]} and {crossing[1]})")
    if _area_m2(ring) < MIN_AREA_M2:
        raise ZoneError(f"polygon has zero area (under {MIN_AREA_M2:g} m2)")
    return Zone(zone_id, person_id, kind, points, active_from, active_to, version,
                bool(value.get("victim_safety", False)))


# --- the index ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    zone: Zone
    ring: tuple[tuple[float, float], ...]  # without repeated consecutive points
    lat_lo: float
    lat_hi: float
    lon_lo: float
    lon_hi: float
    interior: frozenset[str]


def _area_m2(ring: Sequence[tuple[float, float]]) -> float:
    """Area of the ring, in square metres, in a plane scaled at the mean latitude."""
    lat0 = math.radians(sum(p[0] for p in ring[:-1]) / (len(ring) - 1))
    return abs(float(_signed_area2(ring))) / 2.0 * _DEG_M * _DEG_M * math.cos(lat0)


def _estimated_cells(ring: Sequence[tuple[float, float]]) -> float:
    return _area_m2(ring) / h3.average_hexagon_area(RESOLUTION, "m^2")


def _boundary_band(ring: Sequence[tuple[float, float]]) -> set[str]:
    """Cells that may hold a point within INTERIOR_MARGIN_M of the ring (see the module doc)."""
    sample_cells: set[str] = set()
    for (alat, alon), (blat, blon) in pairwise(ring):
        n = max(1, math.ceil(haversine_m(alat, alon, blat, blon) / BOUNDARY_STEP_M))
        for i in range(n + 1):
            f = i / n
            sample_cells.add(
                h3.latlng_to_cell(alat + (blat - alat) * f, alon + (blon - alon) * f, RESOLUTION)
            )
    k = disk_k(BOUNDARY_STEP_M + INTERIOR_MARGIN_M)
    band: set[str] = set()
    for cell in sample_cells:
        band.update(h3.grid_disk(cell, k))
    return band


def interior_cells(ring: Sequence[tuple[float, float]]) -> frozenset[str]:
    """H3 cells at RESOLUTION wholly inside the closed ring (empty for a huge zone)."""
    if _estimated_cells(ring) > MAX_INTERIOR_CELLS:
        return frozenset()
    shape = h3.LatLngPoly(list(ring[:-1]))
    centred = h3.polygon_to_cells(shape, RESOLUTION)
    if not centred:
        return frozenset()
    return frozenset(set(centred) - _boundary_band(ring))


def _compile(zone: Zone) -> _Compiled:
    ring = _ring(zone.polygon)
    lats = [p[0] for p in ring]
    lons = [p[1] for p in ring]
    return _Compiled(
        zone, ring, min(lats), max(lats), min(lons), max(lons), interior_cells(ring)
    )


class ZoneIndex:
    """Latest version of every zone, by zone_id and by person, with compiled geometry."""

    def __init__(self) -> None:
        self._zones: dict[str, _Compiled] = {}
        self._versions: dict[str, int] = {}  # highest version seen, also after remove()
        self._by_person: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._zones)

    def update(self, zone: Zone) -> bool:
        """Keep ``zone`` if its version is higher than any seen for its zone_id; True if kept."""
        seen = self._versions.get(zone.zone_id)
        if seen is not None and zone.version <= seen:
            return False
        self._forget(zone.zone_id)
        self._versions[zone.zone_id] = zone.version
        self._zones[zone.zone_id] = _compile(zone)
        self._by_person.setdefault(zone.person_id, set()).add(zone.zone_id)
        return True

    def remove(self, zone_id: str) -> None:
        """Forget a zone (a tombstone); its versions so far stay outdated."""
        self._forget(zone_id)

    def purge_before(self, cutoff_ms: int) -> int:
        """Forget zones that ended before ``cutoff_ms`` (retention): no fix that could be in
        them is kept, and a zone order that ended is otherwise held until a tombstone that
        may never come. Their versions go too: a replay of one would be purged again at the
        next purge. Returns how many were forgotten."""
        ended = [zid for zid, c in self._zones.items()
                 if c.zone.active_to_ms is not None and c.zone.active_to_ms < cutoff_ms]
        for zone_id in ended:
            self._forget(zone_id)
            del self._versions[zone_id]
        return len(ended)

    def get(self, zone_id: str) -> Zone | None:
        compiled = self._zones.get(zone_id)
        return None if compiled is None else compiled.zone

    def interior(self, zone_id: str) -> frozenset[str]:
        """The zone's interior cells (the shortcut's set)."""
        return self._zones[zone_id].interior

    def zones_for(self, person_id: str, at_ms: int) -> list[Zone]:
        """The person's zones active at ``at_ms``, by zone_id."""
        ids = self._by_person.get(person_id, ())
        zones = (self._zones[z].zone for z in sorted(ids))
        return [z for z in zones if z.is_active(at_ms)]

    def inside(self, zone: Zone | str, lat: float, lon: float) -> bool:
        """Whether (lat, lon) is inside the held version of the zone (boundary included)."""
        compiled = self._zones[zone if isinstance(zone, str) else zone.zone_id]
        if not (
            compiled.lat_lo <= lat <= compiled.lat_hi and compiled.lon_lo <= lon <= compiled.lon_hi
        ):
            return False
        if compiled.interior and h3.latlng_to_cell(lat, lon, RESOLUTION) in compiled.interior:
            return True
        return point_in_ring(compiled.ring, lat, lon)

    def _forget(self, zone_id: str) -> None:
        old = self._zones.pop(zone_id, None)
        if old is not None:
            ids = self._by_person[old.zone.person_id]
            ids.discard(zone_id)
            if not ids:
                del self._by_person[old.zone.person_id]


# --- breaches -------------------------------------------------------------------------


def breach_id(zone_id: str, person_id: str, first_fix_at_ms: int) -> str:
    """First 32 hex digits of SHA-256 of "{zone_id}|{person_id}|{first_fix_at_ms}"."""
    return hashlib.sha256(f"{zone_id}|{person_id}|{first_fix_at_ms}".encode()).hexdigest()[:32]


def _at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


@dataclass(slots=True)
class _Run:
    first_ms: int
    last_ms: int
    violating: bool
    breach_id: str | None = None  # set on violating runs: the episode's published id


@dataclass(frozen=True, slots=True)
class Episode:
    """A breach episode as the tracker holds it (for inspection and tests)."""

    breach_id: str
    first_ms: int
    last_ms: int


@dataclass(slots=True)
class _PairState:
    kind: str
    runs: list[_Run] = field(default_factory=list)
    firsts: list[int] = field(default_factory=list)  # runs[i].first_ms, for bisect


class BreachTracker:
    """Turns a person's fixes into ``ZoneBreach`` values, one per episode (module doc)."""

    def __init__(self, zones: ZoneIndex, settings: ZoneSettings | None = None) -> None:
        self.zones = zones
        self.settings = settings or ZoneSettings()
        self._pairs: dict[tuple[str, str], _PairState] = {}
        self._watermark: int | None = None

    def observe_fix(self, fix: Fix, person_id: str, now_ms: int) -> list[dict[str, Any]]:
        """The ``ZoneBreach`` values (dicts) to publish for ``fix`` of ``person_id``.

        The caller resolves the person (``hitrule.person_at``); ``now_ms`` is detected_at.
        """
        t = fix.recorded_at_ms
        if not fix.accuracy_m <= self.settings.max_fix_accuracy_m:
            return []
        if self._watermark is not None and t < self._watermark:
            return []
        out = []
        for zone in self.zones.zones_for(person_id, t):
            inside = self.zones.inside(zone, fix.lat, fix.lon)
            violating = inside if zone.kind == EXCLUSION else not inside
            key = (person_id, zone.zone_id)
            state = self._pairs.get(key)
            if state is None or state.kind != zone.kind:
                state = self._pairs[key] = _PairState(zone.kind)
            run = self._apply(state, t, violating, zone.zone_id, person_id)
            if run is not None:
                out.append({
                    "breach_id": run.breach_id,
                    "zone_id": zone.zone_id,
                    "person_id": person_id,
                    "device_id": fix.device_id,
                    "kind": ENTERED_EXCLUSION if zone.kind == EXCLUSION else LEFT_INCLUSION,
                    "first_fix_at": _at(run.first_ms),
                    "detected_at": _at(now_ms),
                    "victim_safety": zone.victim_safety,
                })
        return out

    def episodes(self, person_id: str, zone_id: str) -> list[Episode]:
        """The (person, zone) episodes held, in time order."""
        state = self._pairs.get((person_id, zone_id))
        if state is None:
            return []
        return [
            Episode(r.breach_id, r.first_ms, r.last_ms)
            for r in state.runs
            if r.violating and r.breach_id is not None
        ]

    def purge_before(self, cutoff_ms: int) -> None:
        """Retention: refuse fixes recorded before cutoff_ms from now on; drop unneeded state."""
        self._watermark = cutoff_ms if self._watermark is None else max(self._watermark, cutoff_ms)
        cutoff = self._watermark
        for key in list(self._pairs):
            person_id, zone_id = key
            zone = self.zones.get(zone_id)
            if (
                zone is None
                or zone.person_id != person_id
                or (zone.active_to_ms is not None and zone.active_to_ms < cutoff)
            ):
                del self._pairs[key]
                continue
            state = self._pairs[key]
            ended = 0
            while ended < len(state.runs) and state.runs[ended].last_ms < cutoff:
                ended += 1
            if ended > 1:  # keep the newest run that ended before cutoff
                del state.runs[: ended - 1]
                del state.firsts[: ended - 1]
            if len(state.runs) == 1 and not state.runs[0].violating and ended:
                del self._pairs[key]  # compliant before cutoff == no state for later fixes

    def state_size(self) -> int:
        """Number of runs held over all (person, zone) pairs."""
        return sum(len(s.runs) for s in self._pairs.values())

    def _apply(
        self, state: _PairState, t: int, violating: bool, zone_id: str, person_id: str
    ) -> _Run | None:
        """Add one verdict; the new episode's run when one starts, else None."""
        runs, firsts = state.runs, state.firsts
        i = bisect_right(firsts, t) - 1
        if i >= 0 and t <= runs[i].last_ms:  # inside run i
            run = runs[i]
            if run.violating == violating or run.violating:
                return None  # same verdict, or a compliant fix inside a reported episode
            if t in (run.first_ms, run.last_ms):
                return None  # same millisecond as a known compliant fix: that verdict stands
            new = _Run(t, t, True, breach_id(zone_id, person_id, t))
            right = _Run(run.last_ms, run.last_ms, False)
            run.last_ms = run.first_ms
            runs[i + 1:i + 1] = [new, right]
            firsts[i + 1:i + 1] = [t, right.first_ms]
            return new
        if i >= 0 and runs[i].violating == violating:
            runs[i].last_ms = t
            return None
        if i + 1 < len(runs) and runs[i + 1].violating == violating:
            runs[i + 1].first_ms = t
            firsts[i + 1] = t
            return None
        new = _Run(t, t, violating, breach_id(zone_id, person_id, t) if violating else None)
        runs.insert(i + 1, new)
        firsts.insert(i + 1, t)
        return new if violating else None

