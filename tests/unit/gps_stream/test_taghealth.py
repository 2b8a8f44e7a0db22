"""services.gps_stream.taghealth: silence, unusable fixes, recovery, one open alert per kind."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from services.gps_stream.taghealth import TagHealth
from tests.unit.gps_stream.support import HOUR, MIN, T0

SILENCE = 30 * MIN


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def aid(device: str, kind: str, since_ms: int) -> str:
    return hashlib.sha256(f"{device}|{kind}|{since_ms}".encode()).hexdigest()[:32]


def fitted(*devices: str) -> TagHealth:
    health = TagHealth()
    for i, device in enumerate(devices):
        health.observe_enrolment(device, f"P-{i + 1}", "FITTED", T0 - HOUR)
    return health


def kinds(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["device_id"], a["kind"]) for a in alerts]


def test_silence_alert_after_30_minutes_of_event_time() -> None:
    health = fitted("D-1")
    assert health.observe_fix("D-1", "P-1", T0, 10.0, now_ms=T0 + 5_000) == []
    assert health.check(T0 + SILENCE) == []  # exactly 30 min: not yet
    [alert] = health.check(T0 + SILENCE + 1)
    assert alert == {
        "alert_id": aid("D-1", "NO_FIXES", T0),
        "device_id": "D-1",
        "person_id": "P-1",
        "kind": "NO_FIXES",
        "since": at(T0),
        "detected_at": at(T0 + SILENCE + 1),
        "details": {
            "last_fix_at": at(T0).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "last_arrival_at": at(T0 + 5_000).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "silence_min": "30",
        },
    }
    assert health.check(T0 + 2 * HOUR) == []  # one open NO_FIXES at a time
    assert health.open_alerts("D-1") == {"NO_FIXES": alert["alert_id"]}


def test_silence_is_measured_by_recorded_at_not_arrival() -> None:
    health = fitted("D-1")
    # a fix recorded 40 min ago arrives now: the device is still silent by event time
    health.observe_fix("D-1", "P-1", T0 - 40 * MIN, 10.0, now_ms=T0)
    assert kinds(health.check(T0)) == [("D-1", "NO_FIXES")]


def test_a_device_without_fixes_is_silent_from_its_fitting() -> None:
    health = fitted("D-1")
    [alert] = health.check(T0 - HOUR + SILENCE + 1)
    assert alert["since"] == at(T0 - HOUR)


def test_recovery_closes_the_silence_alert() -> None:
    health = fitted("D-1")
    health.observe_fix("D-1", "P-1", T0, 10.0, now_ms=T0)
    [silent] = health.check(T0 + HOUR)
    # an old buffered fix does not close it: the tag is not live yet
    assert health.observe_fix("D-1", "P-1", T0 + 10 * MIN, 10.0, now_ms=T0 + HOUR) == []
    # an unusable fix does not either
    assert health.observe_fix("D-1", "P-1", T0 + HOUR, 500.0, now_ms=T0 + HOUR) == []
    [recovered] = health.observe_fix("D-1", "P-1", T0 + HOUR - MIN, 12.0, now_ms=T0 + HOUR)
    assert recovered["kind"] == "RECOVERED"
    assert recovered["since"] == at(T0 + HOUR - MIN)
    assert recovered["alert_id"] == aid("D-1", "RECOVERED", T0 + HOUR - MIN)
    assert recovered["details"] == {
        "recovered": "NO_FIXES", "NO_FIXES_alert_id": silent["alert_id"]
    }
    assert health.open_alerts("D-1") == {}
    assert health.observe_fix("D-1", "P-1", T0 + HOUR, 12.0, now_ms=T0 + HOUR) == []
    # silent again later: a new alert, since the new last usable fix
    [again] = health.check(T0 + 2 * HOUR)
    assert again["since"] == at(T0 + HOUR)
    assert again["alert_id"] != silent["alert_id"]


def test_unusable_fixes() -> None:
    health = fitted("D-1")
    health.observe_fix("D-1", "P-1", T0, 10.0, now_ms=T0)
    out = []
    for i in range(1, 5):
        out += health.observe_fix("D-1", "P-1", T0 + i * MIN, 250.0, now_ms=T0 + i * MIN)
    assert out == []  # four in a row
    assert health.observe_fix("D-1", "P-1", T0 + 2 * MIN, 250.0, now_ms=T0 + 5 * MIN) == []  # dup
    [alert] = health.observe_fix("D-1", "P-1", T0 + 5 * MIN, 300.0, now_ms=T0 + 5 * MIN)
    assert alert["kind"] == "FIXES_UNUSABLE"
    assert alert["since"] == at(T0)  # the last usable fix
    assert alert["alert_id"] == aid("D-1", "FIXES_UNUSABLE", T0)
    assert alert["details"]["consecutive_unusable"] == "5"
    assert alert["details"]["last_accuracy_m"] == "300"
    # more unusable fixes: still one open alert
    assert health.observe_fix("D-1", "P-1", T0 + 6 * MIN, 250.0, now_ms=T0 + 6 * MIN) == []
    # unusable fixes are still fixes: no silence alert
    assert health.check(T0 + 20 * MIN) == []
    # a late usable fix with five or more unusable ones after it: the run is not broken
    assert health.observe_fix("D-1", "P-1", T0 + 30_000, 10.0, now_ms=T0 + 7 * MIN) == []
    [recovered] = health.observe_fix("D-1", "P-1", T0 + 7 * MIN, 10.0, now_ms=T0 + 7 * MIN)
    assert recovered["kind"] == "RECOVERED"
    assert recovered["details"]["recovered"] == "FIXES_UNUSABLE"
    assert health.open_alerts("D-1") == {}


def test_both_alerts_close_with_one_recovery() -> None:
    health = fitted("D-1")
    health.observe_fix("D-1", "P-1", T0, 10.0, now_ms=T0)
    assert kinds(health.check(T0 + HOUR)) == [("D-1", "NO_FIXES")]
    alerts = []
    for i in range(5):
        t = T0 + HOUR + i * MIN
        alerts += health.observe_fix("D-1", "P-1", t, 999.0, now_ms=t)
    assert kinds(alerts) == [("D-1", "FIXES_UNUSABLE")]
    [recovered] = health.observe_fix("D-1", "P-1", T0 + HOUR + 6 * MIN, 5.0, T0 + HOUR + 6 * MIN)
    assert recovered["details"]["recovered"] == "FIXES_UNUSABLE,NO_FIXES"
    assert set(recovered["details"]) == {
        "recovered", "FIXES_UNUSABLE_alert_id", "NO_FIXES_alert_id"
    }


def test_removed_devices_are_not_monitored() -> None:
    health = fitted("D-1", "D-2")
    health.observe_enrolment("D-2", "P-2", "REMOVED", T0 - 30 * MIN)
    health.observe_enrolment("D-2", "P-2", "FITTED", T0 - 2 * HOUR)  # older: ignored
    assert health.monitored() == ["D-1"]
    assert health.observe_fix("D-2", "P-2", T0, 500.0, now_ms=T0) == []
    assert kinds(health.check(T0 + HOUR)) == [("D-1", "NO_FIXES")]
    # removing a device with an open alert drops it, without a RECOVERED
    health.observe_enrolment("D-1", "P-1", "REMOVED", T0 + HOUR)
    assert health.open_alerts("D-1") == {}
    assert health.check(T0 + 5 * HOUR) == []
    # fitted again: monitored from the new fitting
    health.observe_enrolment("D-1", "P-9", "FITTED", T0 + 5 * HOUR)
    [alert] = health.check(T0 + 6 * HOUR)
    assert (alert["person_id"], alert["since"]) == ("P-9", at(T0 + 5 * HOUR))


def test_unknown_devices_and_fixes_before_fitting_are_ignored() -> None:
    health = fitted("D-1")
    assert health.observe_fix("D-X", None, T0, 500.0, now_ms=T0) == []
    for i in range(5):
        assert health.observe_fix("D-1", "P-1", T0 - 2 * HOUR + i, 500.0, now_ms=T0) == []


def test_settings() -> None:
    health = TagHealth(silence_ms=10 * MIN, unusable_after=2)
    health.observe_enrolment("D-1", "P-1", "FITTED", T0)
    assert health.observe_fix("D-1", "P-1", T0 + 1, 250.0, now_ms=T0 + 1) == []
    assert kinds(health.observe_fix("D-1", "P-1", T0 + 2, 250.0, now_ms=T0 + 2)) == [
        ("D-1", "FIXES_UNUSABLE")
    ]
    assert kinds(health.check(T0 + 10 * MIN + 3)) == [("D-1", "NO_FIXES")]
    with pytest.raises(ValueError):
        TagHealth(unusable_after=0)
