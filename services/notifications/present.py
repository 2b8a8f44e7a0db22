"""How the console and the evidence pack say things to an officer: times in UK local time
(GMT or BST, whichever was in force at that instant), distances rounded with their unit,
labels and values in words rather than field and enum names, and the lead officer's name or
"not allocated". Pure.

Records carry UTC (the contract's timestamps); an officer in England and Wales reads the
clock on the wall, so every time shown names its zone ("01:30 GMT", "03:30 BST"), which
keeps the hour that happens twice in October unambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
NOT_ALLOCATED = "not allocated"

# Field names as an officer would say them (what the card's rows are headed).
LABELS: dict[str, str] = {
    "hit_id": "hit reference",
    "revision": "revision",
    "status": "status",
    "crime_ref": "crime reference",
    "crime_version": "crime report version",
    "crime_force": "force that reported the crime",
    "offence": "offence",
    "person_id": "person",
    "device_id": "tag",
    "distance_m": "nearest distance to the crime",
    "nearest_fix_at": "nearest fix taken",
    "fixes": "fixes on the trail",
    "detected_at": "detected",
    "rule_version": "hit rule version",
    "force": "managing force",
    "lead_officer": "lead officer",
    "rosh_level": "risk of serious harm (RoSH)",
    "victim_safety": "victim safety",
    "breach_id": "breach reference",
    "zone_id": "zone",
    "kind": "what happened",
    "first_fix_at": "first fix showing the breach",
}

# Enum symbols in words, by field (a symbol not listed is lower-cased, underscores spaced).
VALUES: dict[str, dict[str, str]] = {
    "status": {"ACTIVE": "active", "WITHDRAWN": "withdrawn (the evidence no longer holds)",
               "BREACH": "zone breach"},
    "kind": {"ENTERED_EXCLUSION": "entered an exclusion zone",
             "LEFT_INCLUSION": "left an inclusion zone", "UNKNOWN": "zone breach"},
    "rosh_level": {"LOW": "low", "MEDIUM": "medium", "HIGH": "high",
                   "VERY_HIGH": "very high"},
}
OUTCOMES = {"CONFIRMED": "confirmed (the person is linked to the crime)",
            "RULED_OUT": "ruled out"}
TIMES = frozenset({"nearest_fix_at", "detected_at", "first_fix_at"})
DISTANCES = frozenset({"distance_m"})


def as_utc(value: datetime | int | float | str) -> datetime:
    """A contract timestamp (aware datetime, epoch milliseconds or ISO-8601) in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return datetime.fromtimestamp(value / 1000, UTC)


def local(value: datetime | int | float | str) -> datetime:
    return as_utc(value).astimezone(UK)


def when(value: datetime | int | float | str, seconds: bool = False) -> str:
    """'Sun 29 Mar 2026, 03:30 BST': the day, date and UK clock time with its zone."""
    at = local(value)
    clock = at.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{at:%a} {at.day} {at:%b %Y}, {clock} {at.tzname()}"


def clock(value: datetime | int | float | str) -> str:
    """'03:30:05 BST': the UK clock time alone, for a list within one day's evidence."""
    at = local(value)
    return f"{at:%H:%M:%S} {at.tzname()}"


def distance(metres: float | None) -> str:
    """'42 m' under a kilometre (whole metres), '1.2 km' to 10 km, '12 km' beyond."""
    if metres is None:
        return "not known"
    metres = max(0.0, float(metres))
    if round(metres) < 1000:
        return f"{round(metres):d} m"
    km = metres / 1000
    return f"{km:.1f} km" if round(km, 1) < 10 else f"{round(km):d} km"


def words(symbol: str | None, field: str = "") -> str:
    if symbol is None:
        return "not known"
    return VALUES.get(field, {}).get(symbol) or symbol.replace("_", " ").lower()


def lead_officer(name: str | None) -> str:
    return name.strip() if name and name.strip() else NOT_ALLOCATED


def value_text(field: str, value: Any) -> str:
    """One field's value as an officer reads it."""
    if field == "lead_officer":
        return lead_officer(value)
    if value is None:
        return "not known"
    if field in TIMES:
        return when(value, seconds=True)
    if field in DISTANCES:
        return distance(value)
    if field == "offence":
        return words(value)
    if field == "victim_safety":
        return "a victim's exclusion zone" if value else "no"
    if field == "fixes":
        return f"{value} (on the map)" if isinstance(value, int) else str(len(value))
    if field in VALUES:
        return words(value, field)
    return str(value)


def rows(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) for each field shown, in the order given."""
    return [(LABELS.get(name, name.replace("_", " ")), value_text(name, value))
            for name, value in fields.items()]


def qualification_text(qualification: Mapping[str, Any] | None) -> str:
    if not qualification:
        return "not yet qualified"
    force = f" ({qualification['force']})" if qualification.get("force") else ""
    return (f"{OUTCOMES.get(qualification['outcome'], words(qualification['outcome']))} by "
            f"{qualification['by']}{force} on {when(qualification['at'])}: "
            f"{qualification['reason']}")
