"""The contract's hit rule (rule_version 1) for one fix and one crime. Pure: no I/O.

A fix F of device D is evidence for crime C against person P when all hold:
1. D was fitted to P at F.recorded_at (``person_at``);
2. C.committed_from - window <= F.recorded_at <= C.committed_to + window;
3. F.accuracy_m <= max_fix_accuracy_m;
4. haversine(F, C) <= base_radius_m + F.accuracy_m + C.location_accuracy_m.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from services.gps_stream.geometry import haversine_m, search_radius_m
from services.gps_stream.trail import Fix

__all__ = [
    "FITTED",
    "REMOVED",
    "RULE_VERSION",
    "Crime",
    "Enrolment",
    "EnrolmentStatus",
    "Fix",
    "HitRuleSettings",
    "enrolment_order_key",
    "hit_id",
    "is_evidence",
    "person_at",
]

RULE_VERSION: Final = 1

EnrolmentStatus = Literal["FITTED", "REMOVED"]
FITTED: Final = "FITTED"
REMOVED: Final = "REMOVED"


@dataclass(frozen=True, slots=True)
class HitRuleSettings:
    """The rule's three settings, with the contract's defaults."""

    window_min: int = 15
    max_fix_accuracy_m: float = 200.0
    base_radius_m: float = 100.0

    @property
    def window_ms(self) -> int:
        return self.window_min * 60_000


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A `TagEnrolment`: device fitted to (or removed from) a person from effective_at on."""

    enrolment_id: str
    device_id: str
    person_id: str
    status: EnrolmentStatus
    effective_at_ms: int
    monitoring_ends_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Crime:
    """One version of a `CrimeReported`."""

    crime_ref: str
    version: int
    offence: str
    lat: float
    lon: float
    location_accuracy_m: float
    committed_from_ms: int
    committed_to_ms: int
    # The force that reported it (contract 1.1): not part of the rule, carried to the hit
    # so that the investigating force is told too.
    force: str | None = None

    def window_ms(self, settings: HitRuleSettings) -> tuple[int, int]:
        """Condition 2's closed interval of fix times."""
        w = settings.window_ms
        return self.committed_from_ms - w, self.committed_to_ms + w


def enrolment_order_key(e: Enrolment) -> tuple[int, str, str, str, int]:
    """Total order of a device's enrolments: the greatest one in effect wins.

    effective_at first; equal times are broken by the greater enrolment_id (then, for two
    different records that share an id, by status, person_id and monitoring end, None lowest),
    so the answer never depends on arrival order.
    """
    ends = -1 if e.monitoring_ends_at_ms is None else e.monitoring_ends_at_ms
    return (e.effective_at_ms, e.enrolment_id, e.status, e.person_id, ends)


def person_at(enrolments_of_device: Sequence[Enrolment], at_ms: int) -> str | None:
    """Condition 1: the person the device was fitted to at ``at_ms``, or None.

    The latest enrolment with effective_at <= at_ms (ties: ``enrolment_order_key``) must be
    FITTED and its monitoring_ends_at null or >= at_ms. The sequence may be in any order.
    """
    best: Enrolment | None = None
    best_key: tuple[int, str, str, str, int] | None = None
    for e in enrolments_of_device:
        if e.effective_at_ms <= at_ms:
            key = enrolment_order_key(e)
            if best_key is None or key > best_key:
                best, best_key = e, key
    if best is None or best.status != FITTED:
        return None
    if best.monitoring_ends_at_ms is not None and best.monitoring_ends_at_ms < at_ms:
        return None
    return best.person_id


def is_evidence(
    fix: Fix,
    crime: Crime,
    device_enrolments: Sequence[Enrolment],
    settings: HitRuleSettings,
) -> tuple[str, float] | None:
    """(person_id, distance_m) when ``fix`` is evidence for ``crime``, else None.

    ``device_enrolments`` are the enrolments of ``fix.device_id`` (any order).
    """
    t = fix.recorded_at_ms
    w = settings.window_ms
    if t < crime.committed_from_ms - w or t > crime.committed_to_ms + w:
        return None
    if not fix.accuracy_m <= settings.max_fix_accuracy_m:
        return None
    distance = haversine_m(fix.lat, fix.lon, crime.lat, crime.lon)
    if not distance <= search_radius_m(fix.accuracy_m, crime.location_accuracy_m, settings):
        return None
    person = person_at(device_enrolments, t)
    if person is None:
        return None
    return person, distance


def hit_id(crime_ref: str, person_id: str) -> str:
    """The first 32 hex digits of SHA-256 of "{crime_ref}|{person_id}"."""
    return hashlib.sha256(f"{crime_ref}|{person_id}".encode()).hexdigest()[:32]
