"""Youth to adult transfer: the Hampshire and Isle of Wight YOT process (seed 003).

Pure module: no I/O, no logging, standard library only.

The practitioner guide's summary of the process:

* management must have been passed to Probation and not retained by the YOT;
* the young person received a Youth Rehabilitation Order or above;
* at least 3 months are left on the order at their 18th birthday.

Transfer starts from 17 years and 6 months (they appear on the candidate list for the
quarterly Youth to Adult Transfer Panel), unless they were convicted at an older age; if
accepted onto IOM, liaison with the YOT starts at 17 years and 9 months; IOM takes over
management (the lead officer changes) on the 18th birthday.

Age arithmetic, chosen once and used for every date here:

* **Whole years** (the 18th birthday): the anniversary of the date of birth, and for a person
  born on 29 February it is **1 March in a common year**. This is the rule of
  ``services.risk.ogrs3.age_on`` (Family Law Reform Act 1969 s9: an age is attained at the
  start of the anniversary; in a common year the 29 February anniversary has not come on
  28 February). It is reimplemented here rather than imported so the referrals service does
  not depend on the risk service's code; the unit tests check the two agree.
* **Years and months** (17y6m, 17y9m): count calendar months from the date of birth; when the
  target month is too short for the day (born 31 August + 17y6m lands on "31 February"), take
  that month's **last day** (28 or 29 February). That is the corresponding-date rule English
  courts apply to calendar-month periods (Dodds v Walker [1981] 1 WLR 1441), and it errs
  towards listing a candidate a day or three early rather than late. The two rules never
  conflict for a 29 February birth: adding a number of months that is not a whole number of
  years never lands in February, so only the whole-year rule ever applies to that day.
* **"At least 3 months left"** at the 18th birthday: ``order_end`` is on or after the 18th
  birthday plus 3 calendar months (same clamping); on that very day there are 3 months left.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from typing import Any, Final

from services.referrals.case.lifecycle import Case, CaseState, cohort_change


class YouthDisposal(IntEnum):
    """Youth sentences in ascending order of severity; "or above" compares on this order."""

    REFERRAL_ORDER = 1
    YOUTH_REHABILITATION_ORDER = 2
    DETENTION_AND_TRAINING_ORDER = 3
    CUSTODIAL_SENTENCE = 4


#: The least disposal that qualifies ("a Youth Rehabilitation Order or above").
MINIMUM_DISPOSAL: Final = YouthDisposal.YOUTH_REHABILITATION_ORDER
#: Calendar months that must be left on the order at the 18th birthday.
MONTHS_LEFT_AT_18: Final = 3
ADULT_AGE: Final = 18
CANDIDATE_AGE: Final = (17, 6)  # years, months
LIAISON_AGE: Final = (17, 9)


# --- Calendar arithmetic -----------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the target month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def birthday(date_of_birth: date, age: int) -> date:
    """The day a person attains ``age`` whole years (29 February -> 1 March in common years)."""
    year = date_of_birth.year + age
    if (date_of_birth.month, date_of_birth.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 3, 1)
    return date_of_birth.replace(year=year)


def attains(date_of_birth: date, years: int, months: int = 0) -> date:
    """The day a person reaches ``years`` years and ``months`` months of age.

    Whole years use :func:`birthday` (the legal 1 March rule); anything else counts calendar
    months with month-end clamping (see the module docstring for why both).
    """
    total = years * 12 + months
    if total % 12 == 0:
        return birthday(date_of_birth, total // 12)
    return add_months(date_of_birth, total)


# --- The case -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YouthCase:
    """A young person under YOT management, as the transfer process needs them.

    ``order_type`` is a :class:`YouthDisposal` or its name. ``convicted_on`` is the date of
    the conviction for the current order (None when not known: the age rule applies).
    """

    person_id: str
    date_of_birth: date
    order_type: YouthDisposal | str
    order_end: date
    management_passed_to_probation: bool
    convicted_on: date | None = None


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Whether the case is for the transfer process, and every reason it is not."""

    eligible: bool
    reasons: tuple[str, ...]


def disposal(order_type: YouthDisposal | str) -> YouthDisposal:
    """The order as a :class:`YouthDisposal`; an unknown name raises naming the known ones."""
    if isinstance(order_type, YouthDisposal):
        return order_type
    try:
        return YouthDisposal[order_type]
    except KeyError:
        known = ", ".join(d.name for d in YouthDisposal)
        raise ValueError(
            f"order_type: unknown youth disposal {order_type!r}; one of {known}"
        ) from None


def takeover_on(case: YouthCase) -> date:
    """The 18th birthday: IOM takes over management and the lead officer changes."""
    return birthday(case.date_of_birth, ADULT_AGE)


def eligibility(case: YouthCase) -> Eligibility:
    """The guide's three criteria, plus the facts that make them meaningless if wrong.

    A conviction on or after the 18th birthday is an adult conviction: the person never was a
    youth on a youth order for this offence, so there is nothing to transfer.
    """
    reasons: list[str] = []
    if case.convicted_on is not None and case.convicted_on < case.date_of_birth:
        raise ValueError(
            f"convicted_on: {case.convicted_on.isoformat()} is before the date of birth"
            f" {case.date_of_birth.isoformat()}"
        )
    if not case.management_passed_to_probation:
        reasons.append("management retained by YOT, not passed to Probation")
    order = disposal(case.order_type)
    if order < MINIMUM_DISPOSAL:
        reasons.append(f"{order.name} is below a YOUTH_REHABILITATION_ORDER")
    adult = takeover_on(case)
    needed = add_months(adult, MONTHS_LEFT_AT_18)
    if case.order_end < needed:
        reasons.append(
            f"order ends {case.order_end.isoformat()}: less than {MONTHS_LEFT_AT_18} months"
            f" left at the 18th birthday {adult.isoformat()} (needs {needed.isoformat()} or later)"
        )
    if case.convicted_on is not None and case.convicted_on >= adult:
        reasons.append(f"convicted on {case.convicted_on.isoformat()}, at 18 or over")
    return Eligibility(not reasons, tuple(reasons))


def is_eligible(case: YouthCase) -> bool:
    """Shorthand for ``eligibility(case).eligible``."""
    return eligibility(case).eligible


def candidate_from(case: YouthCase) -> date:
    """The first day on the transfer candidate list: 17 years 6 months, or the conviction
    date when the person was convicted later than that ("unless convicted at an older age")."""
    start = attains(case.date_of_birth, *CANDIDATE_AGE)
    if case.convicted_on is not None and case.convicted_on > start:
        return case.convicted_on
    return start


def liaison_from(case: YouthCase) -> date:
    """The day IOM starts liaising with the YOT (if accepted): 17 years 9 months.

    Liaison cannot start before the person is even a candidate, so a conviction after
    17y9m moves it to the conviction date too.
    """
    return max(attains(case.date_of_birth, *LIAISON_AGE), candidate_from(case))


# --- The quarterly Youth to Adult Transfer Panel ------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelRule:
    """When the quarterly panel sits: the ``nth`` ``weekday`` (0 = Monday) of each month in
    ``months``. The guide says only "every three months"; the default (the first Monday of
    January, April, July and October) is a documented choice each force area can override.
    """

    months: tuple[int, ...] = (1, 4, 7, 10)
    weekday: int = calendar.MONDAY
    nth: int = 1

    def __post_init__(self) -> None:
        if not self.months or any(not 1 <= m <= 12 for m in self.months):
            raise ValueError(f"months: {self.months!r} must be months 1..12")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday: {self.weekday} must be 0 (Monday) .. 6 (Sunday)")
        if not 1 <= self.nth <= 4:  # every month has at least 4 of each weekday
            raise ValueError(f"nth: {self.nth} must be 1..4")

    def in_month(self, year: int, month: int) -> date:
        """The panel date in ``month`` of ``year`` (which must be a panel month)."""
        first = date(year, month, 1)
        offset = (self.weekday - first.weekday()) % 7
        return first + timedelta(days=offset + 7 * (self.nth - 1))


DEFAULT_PANEL_RULE: Final = PanelRule()


def quarterly_panels(start: date, end: date, rule: PanelRule = DEFAULT_PANEL_RULE) -> list[date]:
    """Every panel date from ``start`` to ``end``, both inclusive, in order."""
    panels: list[date] = []
    for year in range(start.year, end.year + 1):
        for month in sorted(set(rule.months)):
            day = rule.in_month(year, month)
            if start <= day <= end:
                panels.append(day)
    return panels


def next_transfer_panel(after: date, rule: PanelRule = DEFAULT_PANEL_RULE) -> date:
    """The first panel strictly after ``after`` (a panel on ``after`` itself has sat)."""
    year = after.year
    while True:
        later = [
            d for d in quarterly_panels(date(year, 1, 1), date(year, 12, 31), rule) if d > after
        ]
        if later:
            return later[0]
        year += 1


def transfer_panel_for(case: YouthCase, rule: PanelRule = DEFAULT_PANEL_RULE) -> date | None:
    """The panel the case goes to: the first on or after :func:`candidate_from`, if before the
    18th birthday. ``None`` means no scheduled panel sits in time (a late conviction): the
    case needs an out-of-cycle decision, like an urgent referral."""
    first = next_transfer_panel(candidate_from(case) - timedelta(days=1), rule)
    return first if first < takeover_on(case) else None


def candidates(cases: Iterable[YouthCase], panel_date: date) -> list[YouthCase]:
    """The candidate list for a panel: eligible, on the list by ``panel_date``, not yet 18.

    A candidate missed at one panel (still under 18) stays on the list for the next, ordered
    by who turns 18 first (the most pressing handover first).
    """
    listed = [
        c for c in cases if is_eligible(c) and candidate_from(c) <= panel_date < takeover_on(c)
    ]
    return sorted(listed, key=lambda c: (takeover_on(c), c.person_id))


def takeover_change(
    case: YouthCase, *, cohort: str, pathway: str | None, lead_officer: str
) -> dict[str, Any]:
    """The ``CohortChange LEAD_OFFICER_CHANGED`` published when IOM takes over on the 18th
    birthday (effective at the start of that day, UTC), for a person accepted onto IOM."""
    registered = Case(case.person_id, CaseState.REGISTERED, cohort, pathway, lead_officer)
    adult = takeover_on(case)
    reason = (
        f"youth to adult transfer: IOM takes over management from the YOT on the 18th"
        f" birthday {adult.isoformat()}"
    )
    return cohort_change(registered, "LEAD_OFFICER_CHANGED", reason, adult)
