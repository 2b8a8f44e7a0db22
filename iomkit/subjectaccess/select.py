"""Which records are about a person, and what a record's value is. Pure.

A record is the person's when its key is their id, when it (or anything inside it: a
dossier, an evidence message) has ``person_id`` equal to theirs, when an audit record's
``details.people`` names them (a list shown at once), or when it is a device's (a ping, a
tag alert) while the device was fitted to them (``iom.tag.enrolments``: from a FITTED record
naming them until the device's next record). A dead letter is judged as the record it was
on its own topic. A value nothing can decode is the person's when their id appears in it as
a whole word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from iomkit.codec import Codec, DecodeError
from iomkit.topics import BY_NAME, DEAD_LETTERS

DLQ_TOPIC_HEADER = "iom-dlq-topic"
Interval = tuple[datetime, datetime | None]


@dataclass
class Fitted:
    """When each device was fitted to the person: device -> [from, to) intervals."""

    person: str
    intervals: dict[str, list[Interval]] = field(default_factory=dict)

    def wore(self, device: str | None, at: datetime | None) -> bool:
        if device is None or device not in self.intervals:
            return False
        if at is None:
            return True  # a device's record with no time: the device was theirs once
        return any(start <= at and (end is None or at < end)
                   for start, end in self.intervals[device])


def fitted(person: str, enrolments: Iterable[Mapping[str, Any]]) -> Fitted:
    """From every TagEnrolment: the intervals each device was fitted to ``person``."""
    by_device: dict[str, list[Mapping[str, Any]]] = {}
    for e in enrolments:
        by_device.setdefault(e["device_id"], []).append(e)
    answer = Fitted(person)
    for device, records in by_device.items():
        records.sort(key=lambda e: e["effective_at"])
        for n, e in enumerate(records):
            if e["person_id"] == person and e["status"] == "FITTED":
                end = records[n + 1]["effective_at"] if n + 1 < len(records) else None
                answer.intervals.setdefault(device, []).append((e["effective_at"], end))
    return answer


def _mentions(value: Any, person: str, depth: int = 0) -> bool:
    """``person_id`` equal to ``person`` anywhere in a decoded value (nested dicts, lists)."""
    if depth > 12:
        return False
    if isinstance(value, dict):
        if value.get("person_id") == person:
            return True
        return any(_mentions(v, person, depth + 1) for v in value.values()
                   if isinstance(v, dict | list))
    if isinstance(value, list):
        return any(_mentions(v, person, depth + 1) for v in value if isinstance(v, dict | list))
    return False


def _when(value: Mapping[str, Any]) -> datetime | None:
    for name in ("recorded_at", "detected_at", "effective_at"):
        at = value.get(name)
        if isinstance(at, datetime):
            return at
    return None


def concerns(key: bytes | None, value: Any, person: str, devices: Fitted) -> bool:
    """Whether a decoded record (``value``: a dict, or text when nothing decoded it) is
    about ``person``."""
    if key is not None and key == person.encode():
        return True
    if isinstance(value, str):
        return _word(person).search(value) is not None
    if not isinstance(value, dict):
        return False
    if _mentions(value, person):
        return True
    details = value.get("details")
    if isinstance(details, dict) and value.get("audit_id") is not None:
        people = [p.strip() for p in str(details.get("people") or "").split(",")]
        if person in people:
            return True
    device = value.get("device_id")
    return isinstance(device, str) and value.get("person_id") in (None, person) \
        and devices.wore(device, _when(value))


def _word(person: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(person)}(?![\w-])")


def decode(codec: Codec, topic: str, headers: Mapping[str, str], raw: bytes | None
           ) -> tuple[Any, str]:
    """A record's value as data, and how it was read: the topic's record (Avro), a dead
    letter's original record, any known Avro record, JSON (the services' internal topics
    and changelogs), or the bytes as text."""
    if raw is None:
        return None, "tombstone"
    spec = BY_NAME.get(topic)
    if topic == DEAD_LETTERS.name:
        spec = BY_NAME.get(headers.get(DLQ_TOPIC_HEADER, ""))
    expect = spec.record if spec is not None else None
    try:
        return codec.decode(raw, expect=expect).value, f"avro:{expect or 'any'}"
    except DecodeError:
        pass
    try:
        return codec.decode(raw).value, "avro"
    except DecodeError:
        pass
    try:
        return orjson.loads(raw), "json"
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace"), "text"
