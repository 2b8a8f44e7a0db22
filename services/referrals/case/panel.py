"""The monthly MACC selection panel. Pure: no I/O, no logging, stdlib only.

The practitioner guide (seed 003): a monthly multi-agency panel considers every referral;
urgent referrals can be decided outside it. This module holds the rules, so the service only
wires them to topics and tables:

- when a force's panel sits (a per-force setting such as "first Tuesday"),
- which panel a referral goes to (urgent: out of cycle at once),
- the agenda of a panel (pending referrals, urgent first, each with its advice and grade),
- what a valid decision is, and the records it produces (``PanelDecision`` and, on
  acceptance, ``CohortChange REGISTERED``).

Records are the codec's Python form: dicts with ``datetime`` (aware, UTC) for
timestamp-millis fields and ``date`` for date fields.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal

from services.referrals.case.eligibility import Assessment
from services.referrals.case.lifecycle import change_id

OUT_OF_CYCLE: Final = "OUT_OF_CYCLE"
OUTCOMES: Final[tuple[str, ...]] = ("ACCEPTED", "REJECTED", "DEFERRED")
#: Outcomes that close a referral; a DEFERRED one goes back on the next agenda.
FINAL_OUTCOMES: Final[frozenset[str]] = frozenset({"ACCEPTED", "REJECTED"})
COHORTS: Final[tuple[str, ...]] = ("FIXED", "FLEX", "FREE")
PATHWAYS: Final[tuple[str, ...]] = (
    "CATCH_AND_CONTROL",
    "REHABILITATE_AND_RESETTLE",
    "PREVENT_AND_DETER",
)

# --- Panel date rules ----------------------------------------------------------------------

_ORDINALS: Final[dict[str, int]] = {
    "first": 1, "1st": 1,
    "second": 2, "2nd": 2,
    "third": 3, "3rd": 3,
    "fourth": 4, "4th": 4,
    "last": -1,
}  # fmt: skip
# English names written out: calendar.day_name follows the process locale, settings do not.
_DAY_NAMES: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS: Final[dict[str, int]] = {name: n for n, name in enumerate(_DAY_NAMES)} | {
    name[:3]: n for n, name in enumerate(_DAY_NAMES)
}
# "first Tuesday", "Last thursday of the month", "2nd Wed of each month".
_RULE = re.compile(
    r"^\s*(?P<ordinal>\w+)\s+(?P<weekday>[a-z]+)(?:\s+of\s+(?:the|each|every)\s+month)?\s*$",
    re.IGNORECASE,
)


class PanelRuleError(ValueError):
    """A panel-date setting that is not understood. ``rule`` is the text refused."""

    def __init__(self, rule: object, problem: str) -> None:
        super().__init__(
            f"panel rule {rule!r}: {problem}; expected '<first|second|third|fourth|last> "
            "<weekday>', e.g. 'first Tuesday' or 'last Thursday'"
        )
        self.rule = rule
        self.problem = problem


@dataclass(frozen=True, slots=True)
class PanelRule:
    """The n-th (1..4) or last (-1) given weekday (0 = Monday) of every month."""

    ordinal: int
    weekday: int
    text: str

    def date_in(self, year: int, month: int) -> date:
        """The panel date in ``year``-``month``; every month has one (fifth is never allowed)."""
        first_weekday, days = calendar.monthrange(year, month)
        if self.ordinal == -1:
            last_weekday = (first_weekday + days - 1) % 7
            return date(year, month, days - (last_weekday - self.weekday) % 7)
        first = 1 + (self.weekday - first_weekday) % 7
        return date(year, month, first + 7 * (self.ordinal - 1))


def parse_rule(rule: str | PanelRule) -> PanelRule:
    """Parse a setting such as "first Tuesday"; refuse anything else with a clear error.

    "fifth" is refused on purpose: most months have no fifth Tuesday, and a panel that
    silently skips months would leave referrals waiting unseen.
    """
    if isinstance(rule, PanelRule):
        return rule
    if not isinstance(rule, str):
        raise PanelRuleError(rule, "must be text")
    match = _RULE.match(rule)
    if match is None:
        raise PanelRuleError(rule, "not understood")
    ordinal_text = match["ordinal"].lower()
    weekday_text = match["weekday"].lower()
    if ordinal_text in {"fifth", "5th"}:
        raise PanelRuleError(rule, "a fifth weekday does not occur in every month")
    if ordinal_text not in _ORDINALS:
        raise PanelRuleError(rule, f"unknown position {match['ordinal']!r}")
    if weekday_text not in _WEEKDAYS:
        raise PanelRuleError(rule, f"unknown weekday {match['weekday']!r}")
    return PanelRule(_ORDINALS[ordinal_text], _WEEKDAYS[weekday_text], rule.strip())


def _plain_date(name: str, value: object) -> date:
    # datetime is a subclass of date but cannot be compared with one: refuse it by name.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name}: expected a date, got {type(value).__name__}")
    return value


def _months(start: date, end: date) -> Iterable[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def panel_dates(rule: str | PanelRule, start: date, end: date) -> tuple[date, ...]:
    """Every panel date from ``start`` to ``end``, both inclusive, in order."""
    parsed = parse_rule(rule)
    start, end = _plain_date("start", start), _plain_date("end", end)
    if end < start:
        raise ValueError(f"end: {end} is before start {start}")
    candidates = (parsed.date_in(year, month) for year, month in _months(start, end))
    return tuple(day for day in candidates if start <= day <= end)


def next_panel(rule: str | PanelRule, after: date) -> date:
    """The first panel date strictly after ``after``.

    Strictly: on a panel day the agenda has already been set, so a referral made that day
    waits for the next panel (an urgent one is decided out of cycle instead).
    """
    parsed = parse_rule(rule)
    after = _plain_date("after", after)
    this_month = parsed.date_in(after.year, after.month)
    if this_month > after:
        return this_month
    year, month = (after.year + 1, 1) if after.month == 12 else (after.year, after.month + 1)
    return parsed.date_in(year, month)


def route(
    referral: Mapping[str, Any], today: date, rule: str | PanelRule
) -> Literal["OUT_OF_CYCLE"] | date:
    """Where a referral made ``today`` goes: urgent ones to an out-of-cycle decision at once,
    others to the force's next panel (made on a panel day: the one after)."""
    if referral.get("urgent"):
        return OUT_OF_CYCLE
    return next_panel(rule, today)


def sitting(
    referral: Mapping[str, Any], today: date, rule: str | PanelRule
) -> Literal["OUT_OF_CYCLE"] | date:
    """The sitting a referral still waiting for a decision is listed for, as seen ``today``.

    Urgent: out of cycle, whatever the day. Routine: the first sitting after the UK day it
    was made, or, when that sitting has passed without a final decision (deferred, or not
    reached), the first sitting from ``today`` on; so on a panel day it is today's sitting
    for everything made before today, and the next one for what was made today.
    """
    if referral.get("urgent"):
        return OUT_OF_CYCLE
    made = uk_local_date(referral["submitted_at"])
    today = _plain_date("today", today)
    return next_panel(rule, max(made, today - timedelta(days=1)))


def sittings_on(rule: str | PanelRule, today: date) -> tuple[date, ...]:
    """The sittings the agenda shows ``today``: the next one; on a panel day, today's sitting
    first and then the next, so a referral made on the panel day is seen waiting for it."""
    parsed = parse_rule(rule)
    today = _plain_date("today", today)
    following = next_panel(parsed, today)
    if parsed.date_in(today.year, today.month) == today:
        return (today, following)
    return (following,)


# --- UK local date (pure, no tz database) ------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    return PanelRule(-1, calendar.SUNDAY, "last Sunday").date_in(year, month)


def uk_local_date(moment: datetime) -> date:
    """The Europe/London calendar date of a UTC instant.

    Panels sit on UK dates; a referral sent at 23:30 UTC in summer was made the next UK day.
    UK summer time (since 1996) runs from 01:00 UTC on the last Sunday of March to 01:00 UTC
    on the last Sunday of October; computing it here keeps the module free of the tz
    database (a file read). A naive datetime is taken as UTC, as the contract's times are.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    year = utc.year
    starts = datetime.combine(_last_sunday(year, 3), datetime.min.time(), UTC) + timedelta(
        hours=1
    )
    ends = datetime.combine(_last_sunday(year, 10), datetime.min.time(), UTC) + timedelta(
        hours=1
    )
    offset = timedelta(hours=1) if starts <= utc < ends else timedelta(0)
    return (utc + offset).date()


# --- Agenda ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One referral for the panel, with the advice and grade the panel reads with it."""

    referral: Mapping[str, Any]
    assessment: Assessment | None
    rag: str | None
    grade_reasons: tuple[str, ...]
    deferred_on: tuple[date, ...]

    @property
    def urgent(self) -> bool:
        return bool(self.referral.get("urgent"))


def _same_force(left: str, right: str) -> bool:
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold()


def agenda(
    referrals: Iterable[Mapping[str, Any]],
    decisions: Iterable[Mapping[str, Any]],
    assessments: Mapping[str, Assessment],
    grades: Mapping[str, Mapping[str, Any]],
    panel_date: date,
    *,
    force: str | None = None,
) -> tuple[AgendaItem, ...]:
    """The pending referrals for the panel sitting on ``panel_date``.

    ``assessments`` and ``grades`` (``RiskGrade`` records) are keyed by person_id. A routine
    referral is on the agenda when it was made (UK date) before the panel day and no final
    decision (ACCEPTED or REJECTED) was taken on it at or before the panel; a DEFERRED one
    comes back, with the dates it was deferred on. An urgent referral is decided out of cycle
    whatever the day, so it is on every agenda from the day it was made (the panel day
    included) until it is decided. Decisions of later panels are ignored, so an agenda reads
    the same whenever it is produced. Urgent referrals come first (they are still owed a
    decision), then the rest by submission time.

    ``force`` keeps only people whose assessment names that force: the referral record does
    not carry one, the person's does. With ``force`` given, a referral for a person without an
    assessment cannot be placed and is left out; assess every referred person first.
    """
    panel_date = _plain_date("panel_date", panel_date)
    latest: dict[str, Mapping[str, Any]] = {}
    for referral in referrals:
        latest[referral["referral_id"]] = referral  # a replayed topic repeats records

    closed: set[str] = set()
    deferred: dict[str, set[date]] = {}
    for decision in decisions:
        decided_for = decision["panel_date"]
        if decided_for > panel_date:
            continue
        if decision["outcome"] in FINAL_OUTCOMES:
            closed.add(decision["referral_id"])
        elif decision["outcome"] == "DEFERRED":
            deferred.setdefault(decision["referral_id"], set()).add(decided_for)

    items: list[AgendaItem] = []
    for referral_id, referral in latest.items():
        if referral_id in closed or not _listed(referral, panel_date):
            continue
        person_id = referral["person_id"]
        assessment = assessments.get(person_id)
        if force is not None and (assessment is None or not _same_force(assessment.force, force)):
            continue
        grade = grades.get(person_id)
        items.append(
            AgendaItem(
                referral=referral,
                assessment=assessment,
                rag=None if grade is None else grade.get("rag"),
                grade_reasons=() if grade is None else tuple(grade.get("reasons") or ()),
                deferred_on=tuple(sorted(deferred.get(referral_id, ()))),
            )
        )
    items.sort(
        key=lambda item: (
            not item.urgent,
            _as_utc(item.referral["submitted_at"]),
            item.referral["referral_id"],
        )
    )
    return tuple(items)


def _listed(referral: Mapping[str, Any], panel_date: date) -> bool:
    made = uk_local_date(referral["submitted_at"])
    return made <= panel_date if referral.get("urgent") else made < panel_date


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- Decisions -------------------------------------------------------------------------------


class DecisionError(ValueError):
    """A panel decision that cannot be recorded; ``field`` names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Decided:
    """The records a valid decision produces: always a ``PanelDecision``; on acceptance also a
    ``CohortChange`` REGISTERED (``None`` otherwise)."""

    decision: dict[str, Any]
    cohort_change: dict[str, Any] | None


def decision_id(referral_id: str, panel_date: date, outcome: str) -> str:
    """Deterministic id, so recording the same decision twice publishes the same record."""
    text = f"{referral_id}|{panel_date.isoformat()}|{outcome}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _agencies(names: Iterable[str]) -> list[str]:
    """The agencies present, in the order given, each once (case and spacing ignored)."""
    if isinstance(names, str):
        raise DecisionError("agencies_present", "expected a list of agencies, got text")
    kept: dict[str, str] = {}
    for name in names:
        text = _text("agencies_present", name)
        if text is not None:
            kept.setdefault(" ".join(text.split()).casefold(), " ".join(text.split()))
    return list(kept.values())


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DecisionError(name, f"must be text, got {type(value).__name__}")
    return value.strip() or None


def decide(
    referral: Mapping[str, Any],
    *,
    outcome: str,
    panel_date: date,
    decided_at: datetime,
    cohort: str | None = None,
    pathway: str | None = None,
    lead_officer: str | None = None,
    rationale: str | None = None,
    chair: str | None = None,
    agencies_present: Iterable[str] = (),
) -> Decided:
    """Validate a panel decision on ``referral`` and build its records.

    ACCEPTED needs the cohort, the pathway and the lead officer (the single named Offender
    Manager, so nobody is registered without an owner). REJECTED and DEFERRED need a rationale
    (the decision must be reviewable) and carry no pathway or lead officer; their cohort, the
    one considered, defaults to the proposed cohort. An acceptance without a rationale records
    one built from its facts. For an out-of-cycle decision ``panel_date`` is the day decided.
    ``chair`` and ``agencies_present`` record who decided (optional: a decision made before
    they were asked for has neither); an agency named twice is kept once.
    """
    for name in ("referral_id", "person_id"):
        if not isinstance(referral.get(name), str) or not referral[name].strip():
            raise DecisionError(name, "the referral has none")
    if outcome not in OUTCOMES:
        raise DecisionError("outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")
    if not isinstance(panel_date, date) or isinstance(panel_date, datetime):
        raise DecisionError("panel_date", f"expected a date, got {type(panel_date).__name__}")
    if not isinstance(decided_at, datetime):
        raise DecisionError("decided_at", f"expected a datetime, got {type(decided_at).__name__}")
    if decided_at.tzinfo is None:
        raise DecisionError("decided_at", "needs a timezone (times are UTC)")
    decided_at = decided_at.astimezone(UTC)
    if uk_local_date(decided_at) < panel_date:
        raise DecisionError(
            "decided_at", f"{decided_at.isoformat()} is before the panel sat on {panel_date}"
        )

    cohort = _text("cohort", cohort)
    pathway = _text("pathway", pathway)
    lead_officer = _text("lead_officer", lead_officer)
    rationale = _text("rationale", rationale)
    chair = _text("chair", chair)
    present = _agencies(agencies_present)
    if cohort is not None and cohort not in COHORTS:
        raise DecisionError("cohort", f"{cohort!r} is not one of {', '.join(COHORTS)}")
    if pathway is not None and pathway not in PATHWAYS:
        raise DecisionError("pathway", f"{pathway!r} is not one of {', '.join(PATHWAYS)}")

    if outcome == "ACCEPTED":
        if cohort is None:
            raise DecisionError("cohort", "an accepted referral needs the cohort it joins")
        if pathway is None:
            raise DecisionError("pathway", "an accepted referral needs a management pathway")
        if lead_officer is None:
            raise DecisionError(
                "lead_officer", "an accepted referral needs a named lead officer (Offender Manager)"
            )
        if rationale is None:
            rationale = (
                f"Accepted onto IOM: cohort {cohort}, pathway {pathway}, "
                f"lead officer {lead_officer}."
            )
    else:
        if rationale is None:
            raise DecisionError("rationale", f"a {outcome.lower()} referral needs a rationale")
        if pathway is not None:
            raise DecisionError("pathway", f"only an accepted referral has one, not {outcome}")
        if lead_officer is not None:
            raise DecisionError(
                "lead_officer", f"only an accepted referral has one, not {outcome}"
            )
        if cohort is None:
            proposed = referral.get("proposed_cohort")
            if proposed not in COHORTS:
                raise DecisionError(
                    "cohort", "give the cohort considered: the referral proposes none known"
                )
            cohort = proposed

    identifier = decision_id(referral["referral_id"], panel_date, outcome)
    decision: dict[str, Any] = {
        "decision_id": identifier,
        "referral_id": referral["referral_id"],
        "person_id": referral["person_id"],
        "outcome": outcome,
        "cohort": cohort,
        "pathway": pathway,
        "lead_officer": lead_officer,
        "rationale": rationale,
        "panel_date": panel_date,
        "decided_at": decided_at,
        "chair": chair,
        "agencies_present": present,
    }
    change: dict[str, Any] | None = None
    if outcome == "ACCEPTED":
        change = {
            "person_id": referral["person_id"],
            "change": "REGISTERED",
            "cohort": cohort,
            "pathway": pathway,
            "lead_officer": lead_officer,
            "reason": f"Accepted by panel decision {identifier} on {panel_date.isoformat()}.",
            "effective_at": decided_at,
        }
        change["change_id"] = change_id(change)
    return Decided(decision, change)
