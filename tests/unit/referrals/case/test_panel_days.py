"""The panel-day rule walked over every day of two years against a brute-force reading of it.

The rule, as a practitioner reads it: a routine referral goes to the first sitting after the
UK day it was made (made on a panel day: the next sitting, as that day's agenda is set); a
sitting that passes without a final decision hands it to the next one; an urgent referral is
decided out of cycle whatever the day, so it is on the agenda at once, the panel day included.
On a panel day the agenda page shows today's sitting and, beneath it, the next one; so
whatever the day, a referral is on a page the day it is made.

The two years hold month ends, 29 February 2028, four clock changes (the last Sundays of
March and October) and every kind of panel day; referrals are made just after midnight,
at noon and just before midnight UK time, so the UTC date and the UK date differ in summer.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.referrals.case.panel import OUT_OF_CYCLE, agenda, parse_rule, sitting, sittings_on

LONDON = ZoneInfo("Europe/London")
FIRST, LAST = date(2027, 1, 1), date(2028, 12, 31)
DAYS = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
# Local times that exist on every day, the clock-change days included (01:00-02:00 does not).
MOMENTS = (time(0, 30), time(12, 0), time(23, 30))
RULES = ("first Tuesday", "last Tuesday", "second Wednesday", "last Sunday", "fourth Friday")


def brute_panel_dates(rule: str) -> list[date]:
    """Every panel date around the two years, found by listing each month's days."""
    ordinal, weekday = {"first": 1, "second": 2, "fourth": 4, "last": -1}[rule.split()[0]], [
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ].index(rule.split()[1].lower())
    found = []
    for year in (2026, 2027, 2028, 2029):
        for month in range(1, 13):
            days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
            matching = [d for d in days if d.weekday() == weekday]
            found.append(matching[-1] if ordinal == -1 else matching[ordinal - 1])
    return found


def made_at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, LONDON).astimezone(UTC)


def referral(made: datetime, *, urgent: bool = False, rid: str = "R-1") -> dict[str, object]:
    return {"referral_id": rid, "person_id": "P-1", "urgent": urgent, "submitted_at": made}


def ids(items: tuple) -> list[str]:
    return [i.referral["referral_id"] for i in items]


@pytest.mark.parametrize("rule", RULES)
def test_the_agenda_page_shows_today_and_the_next_sitting_on_a_panel_day(rule: str) -> None:
    dates = brute_panel_dates(rule)
    for today in DAYS:
        following = min(d for d in dates if d > today)
        expected = (today, following) if today in dates else (following,)
        assert sittings_on(rule, today) == expected, today


@pytest.mark.parametrize("rule", RULES)
def test_a_routine_referral_waits_for_the_first_sitting_after_the_day_it_was_made(
    rule: str,
) -> None:
    dates = brute_panel_dates(rule)
    for day in DAYS:
        due = min(d for d in dates if d > day)
        for moment in MOMENTS:
            routine = referral(made_at(day, moment))
            assert sitting(routine, day, rule) == due, (day, moment)
            # On its sitting's agenda, on no earlier one, and on a page the day it is made.
            assert ids(agenda([routine], [], {}, {}, due)) == ["R-1"], (day, moment)
            earlier = max(d for d in dates if d < due)
            assert agenda([routine], [], {}, {}, earlier) == (), (day, moment)
            shown = [ids(agenda([routine], [], {}, {}, s)) for s in sittings_on(rule, day)]
            assert ["R-1"] in shown, (day, moment)


@pytest.mark.parametrize("rule", RULES)
def test_a_sitting_that_passes_without_a_final_decision_hands_the_referral_on(
    rule: str,
) -> None:
    dates = brute_panel_dates(rule)
    for day in DAYS[::7]:  # a referral a week, followed for 70 days
        routine = referral(made_at(day, time(12, 0)))
        for later in (day + timedelta(days=n) for n in range(70)):
            expected = min(d for d in dates if d > day and d >= later)
            assert sitting(routine, later, rule) == expected, (day, later)


@pytest.mark.parametrize("rule", RULES)
def test_an_urgent_referral_is_on_the_agenda_at_once_whatever_the_day(rule: str) -> None:
    for day in DAYS:
        for moment in MOMENTS:
            urgent = referral(made_at(day, moment), urgent=True)
            assert sitting(urgent, day, rule) == OUT_OF_CYCLE
            first_shown = sittings_on(rule, day)[0]
            assert ids(agenda([urgent], [], {}, {}, first_shown)) == ["R-1"], (day, moment)


def test_an_urgent_referral_decided_out_of_cycle_leaves_every_later_agenda() -> None:
    rule = parse_rule("first Tuesday")
    made = made_at(date(2028, 2, 29), time(9, 0))
    decided = {"decision_id": "D", "referral_id": "R-1", "outcome": "ACCEPTED",
               "panel_date": date(2028, 2, 29)}
    for today in (date(2028, 2, 29), date(2028, 3, 1), date(2028, 3, 7)):
        for shown in sittings_on(rule, today):
            assert agenda([referral(made, urgent=True)], [decided], {}, {}, shown) == ()
