"""Tag trails bucketed by H3 cell and time. Pure: no I/O.

Resolution 10 cells have an edge of ~66 m, so a fix's cell and its grid-disk neighbours
around a crime cover the matching radius (the gps_stream issue sizes the disk exactly).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import h3

RESOLUTION = 10


class InvalidFix(ValueError):
    """A fix that can never be evidence or trail: it goes to dead letters."""


@dataclass(frozen=True, slots=True)
class Fix:
    device_id: str
    recorded_at_ms: int
    lat: float
    lon: float
    accuracy_m: float


def fix_of(ping: dict[str, Any]) -> Fix:
    lat, lon, accuracy = ping["lat"], ping["lon"], ping["accuracy_m"]
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidFix(f"latitude {lat} is outside -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidFix(f"longitude {lon} is outside -180..180")
    if not (math.isfinite(accuracy) and accuracy > 0):
        raise InvalidFix(f"accuracy_m {accuracy} must be above 0")
    recorded = ping["recorded_at"]
    return Fix(ping["device_id"], int(recorded.timestamp() * 1000), lat, lon, float(accuracy))


class TrailIndex:
    """cell -> fixes in that cell; the gps_stream issue replaces this with RocksDB."""

    def __init__(self, resolution: int = RESOLUTION) -> None:
        self.resolution = resolution
        self.cells: dict[str, list[Fix]] = defaultdict(list)
        self.count = 0

    def add(self, fix: Fix) -> str:
        cell = h3.latlng_to_cell(fix.lat, fix.lon, self.resolution)
        self.cells[cell].append(fix)
        self.count += 1
        return cell
