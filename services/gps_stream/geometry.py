"""Geometry of the hit rule: great-circle distance, the search radius and its H3 cover.

Pure: stdlib and h3 only, no I/O.

Coverage (why a crime's grid disk never loses a hit)
----------------------------------------------------
Fixes are indexed by their H3 cell at ``RESOLUTION``; a crime is registered in
``grid_disk(cell_of(crime), disk_k(radius))``. ``disk_k`` guarantees that every point within
``radius`` metres of the crime lies in a cell of that disk:

* Lemma (separation). At resolution r, two H3 cells that are not neighbours are at least
  ``min_separation_m(r)`` apart. In a regular hexagonal tiling the closest non-adjacent pair
  are the two cells touching the two ends of one edge of a third cell, and the gap between
  them is exactly that edge, so the separation equals the edge length. H3 cells are
  distorted hexagons (and 12 pentagons, whose 108 degree corners keep the same argument), so
  the separation is the shortest edge at that resolution. Measured with h3 4.5.0 over every
  cell within 30 steps of all 12 pentagons plus 40,000 random cells: shortest edge / average
  edge = 0.703 at res 9 and 0.745 at res 10, and the smallest gap between cells two steps
  apart equals that shortest edge. We use ``SEPARATION_FACTOR = 0.5`` x the average edge:
  a margin of at least 29% below the measured worst, which also covers the 3e-7 relative
  difference between H3's earth radius and the contract's R.
* Chain. Let p be within d of the crime point c and n = floor(d / s) + 1, s the separation,
  so d / n < s. Cut the great-circle arc c -> p into n pieces of length d / n < s. By the
  lemma the cells of consecutive cut points are equal or neighbours, so cell(p) is at most n
  neighbour steps from cell(c), and ``grid_disk(cell(c), n)`` (all cells within n steps,
  pentagons included) contains it. Hence ``disk_k(d) = floor(d / s) + 1``.

(The tempting ``ceil(d / (2 * inradius)) + 1`` is not sound for large d: walking towards a
cell vertex the grid distance grows by one every 1.5 edges = sqrt(3) * inradius, faster than
once per 2 * inradius; at res 10 and d = 3 km it gives 24, but points 3 km apart in Great
Britain were found 32 steps apart. This bound gives 80 there: loose, never short.)

Resolution 9 (average edge ~201 m, separation bound ~100 m): the usual largest radius,
100 + 200 + 0 = 300 m, needs k = 3, i.e. 37 cells (~3.9 km2) per crime. Resolution 10 would
need k = 8 (217 cells, ~3.3 km2): nearly the same area, six times the index entries.
"""

from __future__ import annotations

import math
from typing import Protocol

import h3

EARTH_RADIUS_M = 6_371_008.8
"""The contract's R for the haversine distance (mean earth radius, IUGG)."""

RESOLUTION = 9
"""H3 resolution of the fix and crime indexes (see the module docstring)."""

SEPARATION_FACTOR = 0.5
"""Lower bound on (gap between non-adjacent cells) / (average hexagon edge); measured >= 0.70."""


class RadiusSettings(Protocol):
    """The part of the hit-rule settings that sizes the search radius."""

    @property
    def base_radius_m(self) -> float: ...

    @property
    def max_fix_accuracy_m(self) -> float: ...


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of radius 6,371,008.8 m (the contract)."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = (phi2 - phi1) * 0.5
    half_dlam = math.radians(lon2 - lon1) * 0.5
    s1 = math.sin(half_dphi)
    s2 = math.sin(half_dlam)
    h = s1 * s1 + math.cos(phi1) * math.cos(phi2) * s2 * s2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def search_radius_m(fix_accuracy: float, crime_accuracy: float, settings: RadiusSettings) -> float:
    """Condition 4's radius: 100 m + F.accuracy_m + C.location_accuracy_m (in that order)."""
    return settings.base_radius_m + fix_accuracy + crime_accuracy


def max_search_radius_m(crime_accuracy: float, settings: RadiusSettings) -> float:
    """The largest radius any evidence fix can have for a crime: its fix accuracy is capped."""
    return search_radius_m(settings.max_fix_accuracy_m, crime_accuracy, settings)


def min_separation_m(resolution: int = RESOLUTION) -> float:
    """Proven-with-margin lower bound on the distance between two non-adjacent cells."""
    return SEPARATION_FACTOR * h3.average_hexagon_edge_length(resolution, "m")


def disk_k(radius_m: float, resolution: int = RESOLUTION) -> int:
    """Smallest k of the module's bound: floor(radius / separation) + 1 (0 for no radius).

    Every point within ``radius_m`` of a point P lies in ``grid_disk(cell(P), k)``.
    """
    if math.isnan(radius_m) or math.isinf(radius_m):
        raise ValueError(f"radius {radius_m} is not a finite number of metres")
    if radius_m < 0:
        return 0
    return math.floor(radius_m / min_separation_m(resolution)) + 1


def cell_of(lat: float, lon: float, resolution: int = RESOLUTION) -> str:
    """The H3 cell holding a point."""
    return h3.latlng_to_cell(lat, lon, resolution)


def cover_cells(lat: float, lon: float, radius_m: float, resolution: int = RESOLUTION) -> list[str]:
    """Cells that together hold every point within ``radius_m`` of (lat, lon)."""
    return h3.grid_disk(cell_of(lat, lon, resolution), disk_k(radius_m, resolution))
