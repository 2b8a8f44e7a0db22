"""Selection signals (issue 18 part 2; seed 003's FIXED cohort, seed 004's selection at
arrest): "prolific" computed from the offence history, short sentences from sentencing
events, the person's MAPPA/PPO/RoSH flags and force priority flags. Pure: no I/O, stdlib
and the eligibility module only.

Prolific (the FIXED cohort's "statutory offenders who are prolific in their area"): at
least N convictions for a neighbourhood crime (robbery, burglary, vehicle crime, theft but
not shoplifting) within the M months up to a day, per force (default 3 in 12). The window
runs from the same day M months earlier (the last day of that month when it is shorter:
12 months before 29 February 2024 is 28 February 2023) to the day itself, both included.
A non-motor theft counts only when the conviction's ``details.offence_text`` says what it
was and that is not shoplifting (as eligibility treats a recent theft: it may be
shoplifting, so it is named, not counted).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from services.referrals.case.eligibility import (
    NEIGHBOURHOOD_CATEGORIES,
    THEFT_CATEGORY,
    mentions_shoplifting,
)

CONVICTED: Final = "CONVICTED"
ARRESTED: Final = "ARRESTED"
SENTENCE_TYPES: Final = frozenset({"SENTENCED_CUSTODY", "SENTENCED_COMMUNITY"})
#: The details keys a sentencing event gives its length by (one of them).
SENTENCE_MONTHS: Final = "sentence_months"
SENTENCE_DAYS: Final = "sentence_days"
#: A short sentence is one under this many months (seed 003's short-sentence offenders).
SHORT_SENTENCE_MONTHS: Final = 12
#: Neighbourhood convictions kept per person: far more than any prolific rule needs.
KEEP_CONVICTIONS: Final = 100
#: The longest prolific window a setting may ask for, so the history kept is bounded.
MAX_MONTHS: Final = 120
MAPPA_LEVELS: Final = ("LEVEL_1", "LEVEL_2", "LEVEL_3")
ROSH_LEVELS: Final = ("LOW", "MEDIUM", "HIGH", "VERY_HIGH")


class SignalError(ValueError):
    """An event's details the signals cannot use; the message names the key."""


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, or the last day of that month when it is shorter."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_after(day: date, months: int) -> date:
    return months_before(day, -months)


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


# -- prolific -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProlificRule:
    """At least ``convictions`` neighbourhood crime convictions within ``months`` months."""

    convictions: int = 3
    months: int = 12

    def __post_init__(self) -> None:
        if not 1 <= self.convictions <= KEEP_CONVICTIONS:
            raise ValueError(f"convictions: {self.convictions} is not 1..{KEEP_CONVICTIONS}")
        if not 1 <= self.months <= MAX_MONTHS:
            raise ValueError(f"months: {self.months} is not 1..{MAX_MONTHS}")


@dataclass(frozen=True, slots=True)
class ProlificSettings:
    """The prolific rule per force (matched ignoring case and spacing), else ``default``."""

    default: ProlificRule = ProlificRule()
    by_force: Mapping[str, ProlificRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_force",
                           {_normalise(f): r for f, r in self.by_force.items()})

    def for_force(self, force: str | None) -> ProlificRule:
        return self.by_force.get(_normalise(force or ""), self.default)


@dataclass(frozen=True, slots=True)
class Prolific:
    """Whether the person is prolific on ``as_of``, and the evidence in words."""

    prolific: bool
    count: int
    rule: ProlificRule
    window_from: date
    as_of: date
    offences: tuple[str, ...]

    @property
    def reason(self) -> str:
        rule = f"{self.rule.convictions} in {self.rule.months} months"
        counted = f" ({', '.join(self.offences)})" if self.offences else ""
        verdict = "prolific" if self.prolific else "not prolific"
        return (f"{verdict}: {self.count} neighbourhood crime conviction"
                f"{'' if self.count == 1 else 's'} from {self.window_from.isoformat()} to "
                f"{self.as_of.isoformat()}{counted}; the force's rule is {rule}")


def counts_as_neighbourhood(offence: str | None, offence_text: str | None) -> bool:
    """Whether a conviction for ``offence`` (an OGRS3 category) is neighbourhood crime."""
    if offence == THEFT_CATEGORY:
        return bool(offence_text) and not mentions_shoplifting(offence_text)
    return offence in NEIGHBOURHOOD_CATEGORIES


def conviction_entry(event_id: str, on: date, offence: str | None,
                     details: Mapping[str, str]) -> dict[str, Any] | None:
    """The history entry a ``CONVICTED`` event makes, or None when it is not neighbourhood
    crime (only those are kept: nothing else counts towards prolific)."""
    if not counts_as_neighbourhood(offence, details.get("offence_text")):
        return None
    return {"event_id": event_id, "on": on.isoformat(), "offence": offence}


def keep_conviction(history: list[dict[str, Any]], entry: Mapping[str, Any]) -> bool:
    """Add ``entry`` (once per event id), newest last, bounded; False when already held."""
    if any(e["event_id"] == entry["event_id"] for e in history):
        return False
    history.append(dict(entry))
    history.sort(key=lambda e: (e["on"], e["event_id"]))
    del history[:-KEEP_CONVICTIONS]
    return True


def prolific(history: Iterable[Mapping[str, Any]], as_of: date, rule: ProlificRule) -> Prolific:
    """Count the neighbourhood crime convictions of ``history`` within the rule's window
    ending ``as_of`` (both ends included; a conviction after ``as_of`` is not yet known)."""
    start = months_before(as_of, rule.months)
    within = [e for e in history if start <= date.fromisoformat(e["on"]) <= as_of]
    offences = tuple(dict.fromkeys(str(e["offence"]).replace("_", " ").lower() for e in within))
    return Prolific(len(within) >= rule.convictions, len(within), rule, start, as_of, offences)


# -- sentences ----------------------------------------------------------------------------------


def _number(key: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise SignalError(f"details.{key}: {text[:32]!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise SignalError(f"details.{key}: {text[:32]!r} must be a positive number")
    return value


def sentence(kind: str, event_id: str, on: date,
             details: Mapping[str, str]) -> dict[str, Any] | None:
    """The sentence a ``SENTENCED_CUSTODY``/``SENTENCED_COMMUNITY`` event records, with
    whether it is short (under 12 months), or None when the event gives no length.

    ``details.sentence_months`` (a number, e.g. "6" or "4.5") or ``details.sentence_days``
    (a whole number). Days are measured on the calendar from the day of sentence: 365 days
    from 1 March 2023 reach 29 February 2024, which is before 1 March 2024, so short; the
    same 365 days from 1 March 2024 reach 1 March 2025, twelve months: not short.
    """
    if kind not in SENTENCE_TYPES:
        return None
    if SENTENCE_MONTHS in details:
        months = _number(SENTENCE_MONTHS, details[SENTENCE_MONTHS])
        short = months < SHORT_SENTENCE_MONTHS
        length = f"{months.normalize():f} months"
    elif SENTENCE_DAYS in details:
        days = _number(SENTENCE_DAYS, details[SENTENCE_DAYS])
        if days != days.to_integral_value() or days > 36_600:
            raise SignalError(f"details.{SENTENCE_DAYS}: give a whole number of days up to "
                              "36600")
        short = on + timedelta(days=int(days)) < months_after(on, SHORT_SENTENCE_MONTHS)
        length = f"{int(days)} days"
    else:
        return None
    return {"event_id": event_id, "type": kind, "on": on.isoformat(), "length": length,
            "short": short}


def newer_sentence(held: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` is the latest sentence (by day, then event id): late events do not
    replace a later one."""
    return held is None or (new["on"], new["event_id"]) >= (held["on"], held["event_id"])


# -- the person's flags -------------------------------------------------------------------------


def flags(person: Mapping[str, Any] | None) -> dict[str, Any]:
    """The contract-1.1 facts a panel reads (``None`` or defaults when not given): MAPPA
    level, PPO, RoSH level, priority flags. A level this version does not know is kept as
    sent (an older reader sees UNKNOWN), so it is still put in front of the panel."""
    person = person or {}
    return {"mappa_level": person.get("mappa_level"), "ppo": bool(person.get("ppo")),
            "rosh_level": person.get("rosh_level"),
            "priority_flags": sorted({str(f) for f in person.get("priority_flags") or ()})}


def mappa_managed(person: Mapping[str, Any] | None) -> bool:
    return bool((person or {}).get("mappa_level"))


# -- selection at arrest ------------------------------------------------------------------------


def arrest_candidate(*, in_cohort: bool, referred: bool, cohort: str | None) -> bool:
    """An arrest raises a candidate alert when the person is not on IOM (nor already
    referred: a panel will see them) and the advice, with the arrest's offence as the index
    offence, is the FIXED cohort."""
    return not in_cohort and not referred and cohort == "FIXED"
