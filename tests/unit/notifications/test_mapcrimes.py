"""The evidence map's crimes: the latest version of each, forgotten after their time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.notifications.mapcrimes import MapCrimes
from tests.unit.notifications.support import T0


def crime(ref: str, version: int, days_ago: int = 0) -> dict[str, Any]:
    return {"crime_ref": ref, "version": version, "committed_to": T0 - timedelta(days=days_ago)}


def test_the_latest_version_is_kept() -> None:
    crimes = MapCrimes()
    crimes.keep(crime("C1", 2))
    crimes.keep(crime("C1", 1))  # an older version read later changes nothing
    assert crimes.get("C1")["version"] == 2
    crimes.keep(crime("C1", 3))
    assert crimes.get("C1")["version"] == 3
    assert "C1" in crimes and "C2" not in crimes and None not in crimes
    assert crimes.get("C2") is None and crimes.get(None) is None


def test_crimes_before_the_cutoff_are_forgotten() -> None:
    crimes = MapCrimes()
    crimes.keep(crime("old", 1, days_ago=40))
    crimes.keep(crime("edge", 1, days_ago=31))
    crimes.keep(crime("new", 1, days_ago=1))
    assert crimes.forget_before(T0 - timedelta(days=31)) == 1
    assert "old" not in crimes and "edge" in crimes and "new" in crimes and len(crimes) == 2
