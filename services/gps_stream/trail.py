"""A tag ping as a fix of a trail, or the reason it can never be one. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    return Fix(ping["device_id"], epoch_ms(ping["recorded_at"]), lat, lon, float(accuracy))


def epoch_ms(at: datetime) -> int:
    """Exact milliseconds since the epoch (float timestamps can be a millisecond off)."""
    return (at - EPOCH) // timedelta(milliseconds=1)
