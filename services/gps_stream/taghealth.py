"""Tag health: alerts when a fitted tag goes silent or only sends unusable fixes. Pure: no I/O.

``TagHealth`` watches every device whose latest enrolment (by effective_at) is FITTED and
returns ``TagAlert`` values (dicts) to publish on ``iom.tag.alerts``:

* ``NO_FIXES`` (from ``check(now_ms)``): the device's newest fix by recorded_at (usable or
  not), or its fitting time when it has sent none since, is more than ``silence_ms`` before
  now (strictly older). since = its last usable fix (the fitting time when it has none).
* ``FIXES_UNUSABLE`` (from ``observe_fix``): ``unusable_after`` fixes in a row, in recorded_at
  order after the newest usable fix, have accuracy_m above ``max_fix_accuracy_m``. since =
  the last usable fix (the fitting time when there is none).
* ``RECOVERED`` (from ``observe_fix``): a usable fix closes the open alerts it answers, and
  one RECOVERED lists them (details "recovered" and "<KIND>_alert_id"); since = that fix's
  recorded_at. A usable fix closes FIXES_UNUSABLE when it is newer than all but fewer than
  ``unusable_after`` of the unusable fixes (the run of unusable fixes is broken), and closes
  NO_FIXES when it was recorded within ``silence_ms`` of now (the tag is live again; an old
  buffered fix uploaded long after the silence does not close it, so the alert cannot flap
  open, closed, open).

At most one alert of each kind is open per device. alert_id = first 32 hex digits of
SHA-256 of "{device_id}|{kind}|{since_ms}", so replaying the same input gives the same ids.

Time: event time for the data (recorded_at), ``now_ms`` (injected, the caller's clock) for
"how long ago"; the arrival time of each fix (``now_ms`` at observe_fix) is kept and reported
in details. Fixes recorded after ``now_ms`` (a tag clock ahead) are ignored, as are fixes
recorded before the device's fitting. Call ``check`` only once the consumer has caught up
with ``iom.tag.pings``: before that, every device looks silent.

Enrolments: the latest by effective_at wins (an older one arriving late is ignored; equal
times: the later arrival wins). REMOVED devices are not monitored: their state and open
alerts are dropped without a RECOVERED (consumers close them on the REMOVED enrolment). A
FITTED enrolment to a different person restarts monitoring from its effective_at.

State per device: a few integers plus at most ``unusable_after`` recorded_at times (the
newest unusable fixes after the last usable one).
"""

from __future__ import annotations

import hashlib
from bisect import insort
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

__all__ = [
    "FIXES_UNUSABLE",
    "NO_FIXES",
    "RECOVERED",
    "TagAlertKind",
    "TagHealth",
    "alert_id",
]

TagAlertKind = Literal["NO_FIXES", "FIXES_UNUSABLE", "RECOVERED"]
NO_FIXES: Final = "NO_FIXES"
FIXES_UNUSABLE: Final = "FIXES_UNUSABLE"
RECOVERED: Final = "RECOVERED"

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def alert_id(device_id: str, kind: str, since_ms: int) -> str:
    """First 32 hex digits of SHA-256 of "{device_id}|{kind}|{since_ms}"."""
    return hashlib.sha256(f"{device_id}|{kind}|{since_ms}".encode()).hexdigest()[:32]


def _at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def _iso(ms: int | None) -> str:
    return "" if ms is None else _at(ms).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(slots=True)
class _Device:
    person_id: str
    fitted_at_ms: int
    newest_fix_ms: int | None = None  # any fix, by recorded_at
    last_arrival_ms: int | None = None  # now_ms when the last fix arrived
    last_usable_ms: int | None = None  # newest usable fix, by recorded_at
    unusable: list[int] = field(default_factory=list)  # newest unusable fixes after it, sorted
    open: dict[str, str] = field(default_factory=dict)  # kind -> open alert_id

    @property
    def baseline_ms(self) -> int:
        """The last usable fix, or the fitting time when there is none (an alert's since)."""
        return self.fitted_at_ms if self.last_usable_ms is None else self.last_usable_ms


class TagHealth:
    """Per fitted device: silence and unusable-fix alerts, and their recovery (module doc)."""

    def __init__(
        self,
        silence_ms: int = 30 * 60 * 1000,
        unusable_after: int = 5,
        max_fix_accuracy_m: float = 200.0,
    ) -> None:
        if silence_ms <= 0 or unusable_after < 1:
            raise ValueError("silence_ms must be above 0 and unusable_after at least 1")
        self.silence_ms = silence_ms
        self.unusable_after = unusable_after
        self.max_fix_accuracy_m = max_fix_accuracy_m
        self._devices: dict[str, _Device] = {}
        self._enrolled: dict[str, int] = {}  # device -> effective_at of the enrolment held

    def monitored(self) -> list[str]:
        """The devices being watched, sorted."""
        return sorted(self._devices)

    def open_alerts(self, device_id: str) -> dict[str, str]:
        """kind -> alert_id of the device's open alerts."""
        device = self._devices.get(device_id)
        return {} if device is None else dict(device.open)

    def observe_enrolment(
        self, device_id: str, person_id: str, status: str, effective_at_ms: int
    ) -> None:
        """A ``TagEnrolment``: FITTED starts (or keeps) monitoring, REMOVED stops it."""
        held = self._enrolled.get(device_id)
        if held is not None and effective_at_ms < held:
            return
        self._enrolled[device_id] = effective_at_ms
        if status != "FITTED":
            self._devices.pop(device_id, None)
            return
        device = self._devices.get(device_id)
        if device is None or device.person_id != person_id:
            self._devices[device_id] = _Device(person_id, effective_at_ms)

    def observe_fix(
        self,
        device_id: str,
        person_id: str | None,
        recorded_at_ms: int,
        accuracy_m: float,
        now_ms: int,
    ) -> list[dict[str, Any]]:
        """The ``TagAlert`` values to publish for one fix (FIXES_UNUSABLE or RECOVERED)."""
        device = self._devices.get(device_id)
        if device is None or recorded_at_ms < device.fitted_at_ms or recorded_at_ms > now_ms:
            return []
        person = person_id if person_id is not None else device.person_id
        device.last_arrival_ms = now_ms
        if device.newest_fix_ms is None or recorded_at_ms > device.newest_fix_ms:
            device.newest_fix_ms = recorded_at_ms
        if accuracy_m <= self.max_fix_accuracy_m:
            return self._usable(device_id, device, person, recorded_at_ms, now_ms)
        return self._unusable(device_id, device, person, recorded_at_ms, accuracy_m, now_ms)

    def check(self, now_ms: int) -> list[dict[str, Any]]:
        """NO_FIXES for each monitored device silent for more than ``silence_ms`` (by device)."""
        out = []
        for device_id in sorted(self._devices):
            device = self._devices[device_id]
            if NO_FIXES in device.open:
                continue
            newest = device.fitted_at_ms if device.newest_fix_ms is None else device.newest_fix_ms
            if newest < now_ms - self.silence_ms:
                details = {
                    "last_fix_at": _iso(device.newest_fix_ms),
                    "last_arrival_at": _iso(device.last_arrival_ms),
                    "silence_min": f"{self.silence_ms / 60_000:g}",
                }
                out.append(
                    self._open(device_id, device, NO_FIXES, device.person_id, now_ms, details)
                )
        return out

    def _usable(
        self, device_id: str, device: _Device, person: str, t: int, now_ms: int
    ) -> list[dict[str, Any]]:
        if device.last_usable_ms is None or t > device.last_usable_ms:
            device.last_usable_ms = t
            device.unusable = [u for u in device.unusable if u > t]
        closed: dict[str, str] = {}
        if FIXES_UNUSABLE in device.open and len(device.unusable) < self.unusable_after:
            closed[FIXES_UNUSABLE] = device.open.pop(FIXES_UNUSABLE)
        if NO_FIXES in device.open and t >= now_ms - self.silence_ms:
            closed[NO_FIXES] = device.open.pop(NO_FIXES)
        if not closed:
            return []
        details = {"recovered": ",".join(sorted(closed))}
        details.update({f"{kind}_alert_id": closed[kind] for kind in sorted(closed)})
        return [self._alert(device_id, RECOVERED, person, t, now_ms, details)]

    def _unusable(
        self, device_id: str, device: _Device, person: str, t: int, accuracy_m: float,
        now_ms: int,
    ) -> list[dict[str, Any]]:
        if device.last_usable_ms is not None and t <= device.last_usable_ms:
            return []  # older than the newest usable fix: not part of the current run
        if t in device.unusable:
            return []  # a duplicate
        insort(device.unusable, t)
        if len(device.unusable) > self.unusable_after:
            del device.unusable[0]  # enough to know the threshold is reached
        if FIXES_UNUSABLE in device.open or len(device.unusable) < self.unusable_after:
            return []
        details = {
            "consecutive_unusable": str(len(device.unusable)),
            "last_accuracy_m": f"{accuracy_m:g}",
            "max_fix_accuracy_m": f"{self.max_fix_accuracy_m:g}",
            "last_usable_fix_at": _iso(device.last_usable_ms),
        }
        return [self._open(device_id, device, FIXES_UNUSABLE, person, now_ms, details)]

    def _open(
        self, device_id: str, device: _Device, kind: str, person: str, now_ms: int,
        details: dict[str, str],
    ) -> dict[str, Any]:
        alert = self._alert(device_id, kind, person, device.baseline_ms, now_ms, details)
        device.open[kind] = alert["alert_id"]
        return alert

    @staticmethod
    def _alert(
        device_id: str, kind: str, person: str | None, since_ms: int, now_ms: int,
        details: dict[str, str],
    ) -> dict[str, Any]:
        return {
            "alert_id": alert_id(device_id, kind, since_ms),
            "device_id": device_id,
            "person_id": person,
            "kind": kind,
            "since": _at(since_ms),
            "detected_at": _at(now_ms),
            "details": details,
        }
