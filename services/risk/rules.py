"""The dynamic rules file (TOML), validated at start with errors that name the line. Pure."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.risk.ogrs3 import OFFENCE_WEIGHTS

OFFENDER_EVENT_TYPES = frozenset({
    "ARRESTED", "CHARGED", "CONVICTED", "SENTENCED_CUSTODY", "SENTENCED_COMMUNITY",
    "RELEASED_ON_LICENCE", "RECALLED", "LICENCE_ENDED", "BREACH_RAISED", "APPOINTMENT_MISSED",
    "APPOINTMENT_ATTENDED", "DRUG_TEST_POSITIVE", "DRUG_TEST_NEGATIVE", "ACCOMMODATION_LOST",
    "ACCOMMODATION_SECURED", "EMPLOYMENT_STARTED", "EMPLOYMENT_ENDED",
    "INTERVENTION_COMPLETED", "INTELLIGENCE_RECEIVED", "HIT_CONFIRMED", "OTHER",
    # Added for through-the-gate work (schema version 2); a rules file may use them.
    "PRISON_RECEPTION", "SENTENCE_PLAN_AGREED", "RELEASE_DATE_SET", "CLASSIFICATION_CHANGED",
    "RELEASED", "SASH_OPENED", "SASH_CLOSED", "SELF_HARM_REPORTED",
    # An officer ruled the person out of a hit (the console): no default rule moves a grade.
    "HIT_RULED_OUT",
})
# Inputs that are not OffenderEvents but move grades: a zone breach, an unconfirmed hit.
PSEUDO_EVENT_TYPES = frozenset({"ZONE_BREACH", "GPS_HIT"})
EVENT_TYPES = OFFENDER_EVENT_TYPES | PSEUDO_EVENT_TYPES
EFFECTS = ("red", "step_up", "protective")
RULE_KEYS = {"name", "events", "offences", "effect", "min_count", "reason"}
DEFAULT_RULES = Path(__file__).with_name("rules.toml")


class RulesError(ValueError):
    """A rules file the service must not start with."""


@dataclass(frozen=True)
class Rule:
    name: str
    events: frozenset[str]
    effect: str
    reason: str
    offences: frozenset[str] | None = None
    min_count: int = 1

    def applies_to(self, event_type: str, offence: str | None) -> bool:
        return event_type in self.events and (
            self.offences is None or (offence is not None and offence in self.offences)
        )


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    window_days: int = 28
    step_down_days: int = 28
    by_event: dict[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Grading looks rules up for every event it replays: index them by event type.
        index = {t: tuple(r for r in self.rules if t in r.events) for t in EVENT_TYPES}
        object.__setattr__(self, "by_event", index)

    def matching(self, event_type: str, offence: str | None) -> list[Rule]:
        return [r for r in self.by_event.get(event_type, ())
                if r.offences is None or (offence is not None and offence in r.offences)]


def load(path: Path = DEFAULT_RULES) -> Rules:
    return parse(path.read_text(), str(path))


def parse(text: str, source: str = "rules") -> Rules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: malformed TOML: {exc}") from None
    headers = [i + 1 for i, line in enumerate(text.splitlines())
               if line.strip().startswith("[[rule]]")]

    lines = text.splitlines()

    def line_of(pattern: str, start: int, end: int) -> int | None:
        found = re.compile(pattern)
        return next((n for n in range(start, end) if found.search(lines[n - 1])), None)

    def where(index: int, key: str | None = None, value: str | None = None) -> str:
        """``source:line`` of rule ``index``'s ``key = ...`` line, or of the quoted
        ``value`` inside the rule, or of the rule's header."""
        start = headers[index] if index < len(headers) else 1
        end = headers[index + 1] if index + 1 < len(headers) else len(lines) + 1
        number = None
        if key is not None:
            number = line_of(rf"^\s*{re.escape(key)}\s*=", start, end)
        elif value is not None:
            number = line_of(rf"([\"']){re.escape(value)}\1", start, end)
        return f"{source}:{number or start}"

    def where_top(key: str) -> str:
        first_rule = headers[0] if headers else len(lines) + 1
        number = line_of(rf"^\s*{re.escape(key)}\s*=", 1, first_rule)
        return f"{source}:{number}" if number else source

    unknown_top = set(data) - {"window_days", "step_down_days", "rule"}
    if unknown_top:
        raise RulesError(f"{source}: unknown setting(s) {', '.join(sorted(unknown_top))}")
    window = _positive_int(data.get("window_days", 28), f"{where_top('window_days')}: window_days")
    step_down = _positive_int(data.get("step_down_days", 28),
                              f"{where_top('step_down_days')}: step_down_days")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RulesError(f"{source}: no [[rule]] tables")
    rules = [_rule(raw, i, where) for i, raw in enumerate(raw_rules)]
    return Rules(tuple(rules), window, step_down)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RulesError(f"{what}: expected a whole number of days above 0, got {value!r}")
    return value


def _rule(raw: dict[str, Any], index: int, where: Any) -> Rule:
    name = raw.get("name", f"rule {index + 1}")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise RulesError(f"{where(index, key=key)}: rule {name!r}: unknown key {key!r}")
    events = raw.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise RulesError(f"{where(index)}: rule {name!r}: events must be a list of event types")
    for event in events:
        if event not in EVENT_TYPES:
            raise RulesError(
                f"{where(index, value=event)}: rule {name!r}: unknown event type {event!r}"
            )
    effect = raw.get("effect")
    if effect not in EFFECTS:
        raise RulesError(f"{where(index, key='effect')}: rule {name!r}: effect must be one of "
                         f"{', '.join(EFFECTS)}, got {effect!r}")
    offences = raw.get("offences")
    if offences is not None:
        if not isinstance(offences, list) or not offences:
            raise RulesError(f"{where(index, key='offences')}: rule {name!r}: offences must be a "
                             "non-empty list")
        for offence in offences:
            if offence not in OFFENCE_WEIGHTS:
                raise RulesError(f"{where(index, value=offence)}: rule {name!r}: unknown offence "
                                 f"category {offence!r}")
    min_count = raw.get("min_count", 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise RulesError(f"{where(index, key='min_count')}: rule {name!r}: min_count must be a "
                         f"whole number >= 1, got {min_count!r}")
    reason = raw.get("reason", f"{name} on {{date}}")
    if not isinstance(reason, str):
        raise RulesError(f"{where(index, key='reason')}: rule {name!r}: reason must be text")
    try:
        reason.format(date="", count=0, offence="", event="")
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise RulesError(f"{where(index, key='reason')}: rule {name!r}: reason has an unknown "
                         f"placeholder {exc}") from None
    return Rule(str(name), frozenset(events), effect, reason,
                frozenset(offences) if offences else None, min_count)
