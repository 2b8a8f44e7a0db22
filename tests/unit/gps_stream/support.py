"""Test helpers: points at a given distance and bearing on the contract's sphere."""

from __future__ import annotations

import math

R = 6_371_008.8  # the contract's earth radius
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z, in ms
MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000


def destination(
    lat: float, lon: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """The point distance_m from (lat, lon) along bearing_deg (great circle, radius R)."""
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    a = distance_m / R
    phi2 = math.asin(math.sin(phi) * math.cos(a) + math.cos(phi) * math.sin(a) * math.cos(theta))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(a) * math.cos(phi), math.cos(a) - math.sin(phi) * math.sin(phi2)
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540.0) % 360.0 - 180.0
