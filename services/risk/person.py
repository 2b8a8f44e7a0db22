"""What the risk service remembers about one person, as plain JSON for its table, and how
each input changes it. Pure: the app loads, applies, grades and saves."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.risk.dynamic import Event
from services.risk.ogrs3 import OFFENCE_WEIGHTS

# Events older than this cannot raise a grade any more (28-day window, then two 28-day
# step-downs from RED), so they are dropped; convictions are facts and are kept.
KEEP_EVENTS = timedelta(days=120)
KEEP_CHANGES = 100
# A clock ahead of ours by this much is tolerated; beyond it an event is refused.
FUTURE_TOLERANCE = timedelta(hours=24)
PERSON_DATES = ("date_of_birth", "licence_end_date", "first_sanction_date",
                "current_conviction_date")


class InputError(ValueError):
    """An input the grade must not be moved by: it goes to dead letters with this reason."""


@dataclass
class PersonState:
    person: dict[str, Any] | None = None  # the Person record (dates as ISO strings)
    events: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, Any] | None = None  # the last published grade
    changes: list[dict[str, Any]] = field(default_factory=list)  # published grades, newest last
    cohort: dict[str, Any] | None = None  # set while registered on IOM
    # Parsed forms, rebuilt only when what they come from changes: the hot path grades
    # a person on every event and must not re-parse their history each time.
    _history: list[Event] | None = field(default=None, repr=False, compare=False)
    _facts: tuple[Any, dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PersonState:
        return cls(**data) if data else cls()

    def to_json(self) -> dict[str, Any]:
        return {"person": self.person, "events": self.events, "last": self.last,
                "changes": self.changes, "cohort": self.cohort}

    def person_facts(self) -> dict[str, Any] | None:
        if self.person is None:
            return None
        if self._facts is None or self._facts[0] is not self.person:
            facts = dict(self.person)
            for name in PERSON_DATES:
                if facts.get(name) is not None:
                    facts[name] = date.fromisoformat(facts[name])
            self._facts = (self.person, facts)
        return dict(self._facts[1])

    def history(self) -> list[Event]:
        if self._history is None:
            self._history = [
                Event(e["id"], e["type"], datetime.fromisoformat(e["at"]), e.get("offence"))
                for e in self.events
            ]
        return list(self._history)

    def has_event(self, event_id: str) -> bool:
        return any(e["id"] == event_id for e in self.events)

    def add_event(self, event: Event, as_of: datetime) -> bool:
        """Keep an event in event-time order; a duplicate id changes nothing. The hot
        path: the event is put in its place and only events past the window are dropped,
        the others' JSON is kept as it is (rebuilding it cost a fifth of a grade)."""
        if self.has_event(event.event_id):
            return False
        history, events = self.history(), list(self.events)
        at = bisect_right(history, (event.occurred_at, event.event_id), key=_order)
        history.insert(at, event)
        events.insert(at, {"id": event.event_id, "type": event.type,
                           "at": event.occurred_at.isoformat(), "offence": event.offence})
        # Sorted by time: the events past the window are a prefix, mostly convictions (kept).
        old = bisect_left(history, as_of - KEEP_EVENTS, key=_at)
        if any(e.type != "CONVICTED" for e in history[:old]):
            keep = [n for n, e in enumerate(history) if n >= old or e.type == "CONVICTED"]
            history, events = [history[n] for n in keep], [events[n] for n in keep]
        self._history, self.events = history, events
        return True

    def remove_event(self, event_id: str) -> bool:
        before = len(self.events)
        self.events = [e for e in self.events if e["id"] != event_id]
        self._history = None
        return len(self.events) != before

    def record_published(self, grade: Mapping[str, Any], cause: str | None) -> None:
        self.last = {"rag": grade["rag"], "revision": grade["revision"],
                     "reasons": list(grade["reasons"]),
                     "graded_at": grade["graded_at"].isoformat(),
                     "static_score": grade["static_score"]}
        self.changes.append({"revision": grade["revision"], "rag": grade["rag"],
                             "previous_rag": grade["previous_rag"], "changed": grade["changed"],
                             "graded_at": grade["graded_at"].isoformat(), "cause": cause,
                             "reasons": list(grade["reasons"])})
        self.changes = self.changes[-KEEP_CHANGES:]


def _order(event: Event) -> tuple[datetime, str]:
    return event.occurred_at, event.event_id


def _at(event: Event) -> datetime:
    return event.occurred_at


def person_json(person: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in person.items()}


def offender_event(record: Mapping[str, Any], now: datetime) -> Event:
    """An OffenderEvent as a history event, or InputError with the reason."""
    occurred = _utc(record["occurred_at"])
    if occurred > now + FUTURE_TOLERANCE:
        raise InputError(f"occurred_at {occurred.isoformat()} is in the future")
    offence = record.get("offence")
    if offence is not None and offence not in OFFENCE_WEIGHTS:
        raise InputError(f"unknown offence category {offence!r}")
    if record["type"] == "CONVICTED" and offence is None:
        raise InputError("a CONVICTED event needs the offence category of the conviction")
    return Event(record["event_id"], record["type"], occurred, offence)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
