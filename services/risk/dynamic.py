"""Dynamic factors: recent events move the grade up from its static base, and a grade
steps down one level per quiet period. Decided on event time only, so a late event is
simply placed in the history and everything recomputed. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.risk.rules import Rule, Rules

LEVELS = ("GREEN", "AMBER", "RED")
RED = 2


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    type: str  # an OffenderEvent type, or ZONE_BREACH / GPS_HIT
    occurred_at: datetime
    offence: str | None = None


@dataclass(frozen=True)
class Dynamic:
    rag: str
    raised_by: tuple[str, ...]  # reasons that hold the grade above its base, newest first
    notes: tuple[str, ...]  # protective factors and step-downs: said, but never raising


def level_of(rag: str) -> int:
    return LEVELS.index(rag)


def _words(value: str) -> str:
    return value.lower().replace("_", " ")


def _reason(rule: Rule, event: Event, count: int) -> str:
    return rule.reason.format(
        date=event.occurred_at.date().isoformat(), count=count,
        offence=_words(event.offence or "unknown"), event=_words(event.type),
    )


def _count_in_window(rule: Rule, events: Sequence[Event], at: datetime, window: timedelta
                     ) -> int:
    return sum(1 for e in events
               if at - window < e.occurred_at <= at and rule.applies_to(e.type, e.offence))


def apply(base_rag: str, history: Iterable[Event], as_of: datetime, rules: Rules) -> Dynamic:
    """The grade as of ``as_of`` from ``base_rag`` and every event up to then."""
    window = timedelta(days=rules.window_days)
    quiet = timedelta(days=rules.step_down_days)
    events = sorted((e for e in history if e.occurred_at <= as_of),
                    key=lambda e: (e.occurred_at, e.event_id))
    base = level_of(base_rag)
    level = base
    last_raise: datetime | None = None
    last_raising: list[tuple[Rule, int]] = []
    last_event: Event | None = None
    # Reasons are worded at the end, only for what is said (formatting is the costly part).
    fired: dict[str, tuple[datetime, Rule, Event, int]] = {}  # latest within the window
    notes: dict[str, tuple[datetime, Rule, Event, int]] = {}
    recent_from = as_of - window
    for event in events:
        raising = []
        for rule in rules.matching(event.type, event.offence):
            count = (_count_in_window(rule, events, event.occurred_at, window)
                     if rule.min_count > 1 else 1)
            if count < rule.min_count:
                continue
            if rule.effect == "protective":
                if recent_from < event.occurred_at:
                    notes[rule.name] = (event.occurred_at, rule, event, count)
                continue
            raising.append((rule, count))
        if not raising:
            continue
        if last_raise is not None:
            level = max(base, level - (event.occurred_at - last_raise) // quiet)
        # One event moves the grade once: to RED, or one step up.
        target = RED if any(r.effect == "red" for r, _ in raising) else min(RED, level + 1)
        level = max(level, target)
        last_raise = event.occurred_at
        last_raising, last_event = raising, event
        if recent_from < event.occurred_at:
            for rule, count in raising:
                fired[rule.name] = (event.occurred_at, rule, event, count)
    last_reasons = ([_reason(r, last_event, c) for r, c in last_raising]
                    if last_event is not None else [])
    peak = level
    if last_raise is not None:
        level = max(base, level - (as_of - last_raise) // quiet)
    recent = [_reason(rule, event, count) for _, rule, event, count
              in sorted(fired.values(), key=lambda f: (f[0], f[1].name), reverse=True)]
    said: list[str] = []
    if last_raise is not None and level < peak:
        cause = last_reasons[0] if last_reasons else "the last raising event"
        said.append(f"stepped down from {LEVELS[peak]} to {LEVELS[level]}: no raising event "
                    f"for {(as_of - last_raise).days} days since {cause}")
    if level == base:
        # The static base already accounts for the grade; recent events are still worth saying.
        said += [f"also within {rules.window_days} days: {text}" for text in recent]
        raised_by: list[str] = []
    else:
        # Held up by recent events, or by an older one still stepping down.
        raised_by = recent or last_reasons
    said += [_reason(rule, event, count) for _, rule, event, count
             in sorted(notes.values(), key=lambda f: (f[0], f[1].name), reverse=True)]
    return Dynamic(LEVELS[level], tuple(raised_by), tuple(said))
