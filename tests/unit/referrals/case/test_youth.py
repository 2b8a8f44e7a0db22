"""Unit tests for services.referrals.case.youth: the YOT to probation transfer dates and criteria.

Expected dates are worked out by hand (calendar checked), not computed with the module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import ROOT
from services.referrals.case.youth import (
    DEFAULT_PANEL_RULE,
    PanelRule,
    YouthCase,
    YouthDisposal,
    add_months,
    attains,
    birthday,
    candidate_from,
    candidates,
    disposal,
    eligibility,
    is_eligible,
    liaison_from,
    next_transfer_panel,
    quarterly_panels,
    takeover_change,
    takeover_on,
    transfer_panel_for,
)
from services.risk.ogrs3 import age_on

SCHEMAS = ROOT / "schemas"
DAY = timedelta(days=1)
LEAP_BORN = date(2008, 2, 29)


def youth(dob: date = date(2008, 1, 15), **kw: object) -> YouthCase:
    base: dict[str, object] = {
        "person_id": "Y1",
        "date_of_birth": dob,
        "order_type": YouthDisposal.YOUTH_REHABILITATION_ORDER,
        "order_end": date(2027, 1, 1),
        "management_passed_to_probation": True,
        "convicted_on": None,
    }
    base.update(kw)
    return YouthCase(**base)  # type: ignore[arg-type]


# --- Birthdays and 29 February ---------------------------------------------------------------


def test_29_february_birthday_is_1_march_in_common_years() -> None:
    assert birthday(LEAP_BORN, 16) == date(2024, 2, 29)  # 2024 is a leap year
    assert birthday(LEAP_BORN, 17) == date(2025, 3, 1)
    assert birthday(LEAP_BORN, 18) == date(2026, 3, 1)
    assert birthday(date(2096, 2, 29), 4) == date(2100, 3, 1)  # 2100 is not a leap year
    assert birthday(date(2000, 2, 29), 18) == date(2018, 3, 1)


def test_births_next_to_29_february_in_common_years_are_ordinary() -> None:
    assert birthday(date(2007, 2, 28), 18) == date(2025, 2, 28)
    assert birthday(date(2007, 3, 1), 18) == date(2025, 3, 1)
    assert birthday(date(2008, 2, 28), 16) == date(2024, 2, 28)


def test_takeover_on_the_18th_birthday_for_29_february() -> None:
    case = youth(LEAP_BORN)
    assert takeover_on(case) == date(2026, 3, 1)
    # the day before the takeover the person is 17, on the day 18 (as OGRS3 counts it)
    assert age_on(LEAP_BORN, date(2026, 2, 28)) == 17
    assert age_on(LEAP_BORN, date(2026, 3, 1)) == 18


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(min_value=1, max_value=30),
)
def test_birthday_agrees_with_ogrs3_age_on(dob: date, age: int) -> None:
    day = birthday(dob, age)
    assert age_on(dob, day) == age
    assert age_on(dob, day - DAY) == age - 1
    assert attains(dob, age) == day


@given(st.integers(min_value=1992, max_value=2088).map(lambda y: y - y % 4))
def test_every_29_february_birth_agrees_with_age_on(leap_year: int) -> None:
    dob = date(leap_year, 2, 29)
    for age in range(1, 20):
        day = birthday(dob, age)
        assert age_on(dob, day) == age and age_on(dob, day - DAY) == age - 1


def test_17y6m_and_17y9m_for_29_february() -> None:
    # A non-whole-year age never lands in February for a 29 February birth: no clamping.
    assert attains(LEAP_BORN, 17, 6) == date(2025, 8, 29)
    assert attains(LEAP_BORN, 17, 9) == date(2025, 11, 29)
    case = youth(LEAP_BORN)
    assert candidate_from(case) == date(2025, 8, 29)
    assert liaison_from(case) == date(2025, 11, 29)


# --- Month-end clamping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "years", "months", "expected"),
    [
        (date(2008, 8, 31), 17, 6, date(2026, 2, 28)),  # 2026 common
        (date(2006, 8, 31), 17, 6, date(2024, 2, 29)),  # 2024 leap
        (date(2008, 8, 29), 17, 6, date(2026, 2, 28)),
        (date(2008, 8, 31), 17, 9, date(2026, 5, 31)),
        (date(2008, 5, 31), 17, 6, date(2025, 11, 30)),
        (date(2008, 5, 31), 17, 9, date(2026, 2, 28)),
        (date(2008, 3, 31), 17, 6, date(2025, 9, 30)),
        (date(2008, 1, 30), 17, 6, date(2025, 7, 30)),
        (date(2008, 8, 31), 18, 0, date(2026, 8, 31)),
    ],
)
def test_months_clamp_to_the_last_day_of_a_short_month(
    dob: date, years: int, months: int, expected: date
) -> None:
    assert attains(dob, years, months) == expected


def test_add_months() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2080, 12, 31)))
def test_transfer_milestones_are_in_order(dob: date) -> None:
    case = youth(dob)
    seventeen = birthday(dob, 17)
    assert seventeen < candidate_from(case) < liaison_from(case) < takeover_on(case)
    # the clamp only ever moves a date back by up to 3 days, never into another month
    assert candidate_from(case).month == (dob.month + 6 - 1) % 12 + 1


# --- Candidate list start: 17 years 6 months, or a later conviction ----------------------------


def test_candidate_from_17y6m() -> None:
    case = youth(date(2008, 1, 15))
    assert candidate_from(case) == date(2025, 7, 15)
    assert liaison_from(case) == date(2025, 10, 15)
    assert takeover_on(case) == date(2026, 1, 15)


def test_conviction_before_17y6m_keeps_the_age_rule() -> None:
    assert candidate_from(youth(convicted_on=date(2025, 7, 14))) == date(2025, 7, 15)
    assert candidate_from(youth(convicted_on=date(2025, 7, 15))) == date(2025, 7, 15)


def test_conviction_after_17y6m_starts_from_the_conviction() -> None:
    case = youth(convicted_on=date(2025, 7, 16))
    assert candidate_from(case) == date(2025, 7, 16)
    assert liaison_from(case) == date(2025, 10, 15)  # 17y9m still later
    later = youth(convicted_on=date(2025, 9, 1))
    assert candidate_from(later) == date(2025, 9, 1)
    assert is_eligible(later)


def test_conviction_after_17y9m_moves_liaison_to_the_conviction() -> None:
    case = youth(convicted_on=date(2025, 11, 20))
    assert candidate_from(case) == date(2025, 11, 20)
    assert liaison_from(case) == date(2025, 11, 20)


# --- Eligibility -------------------------------------------------------------------------------


def test_eligible_case() -> None:
    assert eligibility(youth()) == eligibility(youth())
    assert eligibility(youth()).eligible
    assert eligibility(youth()).reasons == ()


def test_management_retained_by_yot_is_not_eligible() -> None:
    result = eligibility(youth(management_passed_to_probation=False))
    assert not result.eligible
    assert result.reasons == ("management retained by YOT, not passed to Probation",)


@pytest.mark.parametrize(
    ("order", "eligible"),
    [
        (YouthDisposal.REFERRAL_ORDER, False),
        (YouthDisposal.YOUTH_REHABILITATION_ORDER, True),
        (YouthDisposal.DETENTION_AND_TRAINING_ORDER, True),
        (YouthDisposal.CUSTODIAL_SENTENCE, True),
        ("REFERRAL_ORDER", False),
        ("DETENTION_AND_TRAINING_ORDER", True),
    ],
)
def test_youth_rehabilitation_order_or_above(order: YouthDisposal | str, eligible: bool) -> None:
    assert is_eligible(youth(order_type=order)) is eligible


def test_disposals_are_ordered() -> None:
    assert (
        YouthDisposal.REFERRAL_ORDER
        < YouthDisposal.YOUTH_REHABILITATION_ORDER
        < YouthDisposal.DETENTION_AND_TRAINING_ORDER
        < YouthDisposal.CUSTODIAL_SENTENCE
    )
    with pytest.raises(ValueError, match="order_type: unknown youth disposal 'YRO'"):
        disposal("YRO")


def test_three_months_left_at_the_18th_birthday() -> None:
    # 18th birthday 2026-01-15; three months later 2026-04-15.
    assert not is_eligible(youth(order_end=date(2026, 4, 14)))
    assert is_eligible(youth(order_end=date(2026, 4, 15)))
    reasons = eligibility(youth(order_end=date(2026, 4, 14))).reasons
    assert reasons == (
        "order ends 2026-04-14: less than 3 months left at the 18th birthday 2026-01-15"
        " (needs 2026-04-15 or later)",
    )


def test_three_months_left_for_29_february() -> None:
    # 18th birthday 1 March 2026; three months later 1 June 2026.
    assert not is_eligible(youth(LEAP_BORN, order_end=date(2026, 5, 31)))
    assert is_eligible(youth(LEAP_BORN, order_end=date(2026, 6, 1)))


def test_three_months_left_clamps_at_month_end() -> None:
    # 18th birthday 30 November 2026; three months later is 28 February 2027 (no 30th).
    dob = date(2008, 11, 30)
    assert not is_eligible(youth(dob, order_end=date(2027, 2, 27)))
    assert is_eligible(youth(dob, order_end=date(2027, 2, 28)))


def test_conviction_at_18_is_not_a_youth_transfer() -> None:
    assert is_eligible(youth(convicted_on=date(2026, 1, 14)))
    result = eligibility(youth(convicted_on=date(2026, 1, 15)))
    assert result.reasons == ("convicted on 2026-01-15, at 18 or over",)


def test_every_failing_criterion_is_reported() -> None:
    result = eligibility(
        youth(
            management_passed_to_probation=False,
            order_type="REFERRAL_ORDER",
            order_end=date(2026, 1, 1),
        )
    )
    assert len(result.reasons) == 3


def test_conviction_before_birth_is_refused() -> None:
    with pytest.raises(ValueError, match="convicted_on"):
        eligibility(youth(convicted_on=date(2007, 1, 1)))


# --- Quarterly Youth to Adult Transfer Panel ---------------------------------------------------


def test_default_panels_first_monday_of_each_quarter() -> None:
    assert quarterly_panels(date(2025, 1, 1), date(2026, 12, 31)) == [
        date(2025, 1, 6),
        date(2025, 4, 7),
        date(2025, 7, 7),
        date(2025, 10, 6),
        date(2026, 1, 5),
        date(2026, 4, 6),
        date(2026, 7, 6),
        date(2026, 10, 5),
    ]
    assert all(
        d.weekday() == 0 and d.day <= 7
        for d in quarterly_panels(date(2000, 1, 1), date(2050, 1, 1))
    )


def test_panel_range_is_inclusive() -> None:
    assert quarterly_panels(date(2025, 4, 7), date(2025, 7, 7)) == [
        date(2025, 4, 7),
        date(2025, 7, 7),
    ]
    assert quarterly_panels(date(2025, 4, 8), date(2025, 7, 6)) == []


def test_next_transfer_panel_is_strictly_after() -> None:
    assert next_transfer_panel(date(2025, 4, 6)) == date(2025, 4, 7)
    assert next_transfer_panel(date(2025, 4, 7)) == date(2025, 7, 7)
    assert next_transfer_panel(date(2025, 12, 31)) == date(2026, 1, 5)
    assert next_transfer_panel(date(2025, 10, 6)) == date(2026, 1, 5)


def test_panel_rule_is_a_setting() -> None:
    rule = PanelRule(months=(2, 5, 8, 11), weekday=1, nth=2)  # second Tuesday
    assert quarterly_panels(date(2025, 1, 1), date(2025, 12, 31), rule) == [
        date(2025, 2, 11),
        date(2025, 5, 13),
        date(2025, 8, 12),
        date(2025, 11, 11),
    ]
    assert next_transfer_panel(date(2025, 11, 11), rule) == date(2026, 2, 10)
    with pytest.raises(ValueError, match="months"):
        PanelRule(months=(13,))
    with pytest.raises(ValueError, match="nth"):
        PanelRule(nth=5)
    with pytest.raises(ValueError, match="weekday"):
        PanelRule(weekday=7)


def test_transfer_panel_for_a_case() -> None:
    assert transfer_panel_for(youth()) == date(2025, 10, 6)  # candidate from 15 July 2025
    # candidate on a panel day goes to that panel (17y6m on 6 October 2025)
    assert transfer_panel_for(youth(date(2008, 4, 6))) == date(2025, 10, 6)
    # 29 February: candidate 29 August 2025, panel 6 October, before the 1 March 2026 takeover
    assert transfer_panel_for(youth(LEAP_BORN)) == date(2025, 10, 6)


def test_late_conviction_with_no_panel_before_18_needs_an_out_of_cycle_decision() -> None:
    # convicted 6 January 2026, after the 5 January panel; 18 on 15 January 2026
    assert transfer_panel_for(youth(convicted_on=date(2026, 1, 6))) is None
    assert transfer_panel_for(youth(convicted_on=date(2026, 1, 5))) == date(2026, 1, 5)


def test_candidate_list_for_a_panel() -> None:
    cases = [
        youth(date(2008, 1, 15), person_id="on-list"),  # candidate from 2025-07-15
        youth(date(2008, 4, 6), person_id="from-today"),  # candidate from 2025-10-06
        youth(date(2008, 4, 7), person_id="too-young"),  # candidate from 2025-10-07
        youth(date(2007, 10, 6), person_id="already-18"),  # 18 on the panel day
        youth(date(2007, 10, 7), person_id="last-chance"),  # 18 the day after
        youth(date(2008, 1, 1), person_id="retained", management_passed_to_probation=False),
        youth(date(2008, 1, 20), person_id="late", convicted_on=date(2025, 10, 7)),
    ]
    panel = date(2025, 10, 6)
    assert panel in quarterly_panels(panel, panel, DEFAULT_PANEL_RULE)
    assert [c.person_id for c in candidates(cases, panel)] == [
        "last-chance",
        "on-list",
        "from-today",
    ]


def test_takeover_publishes_a_lead_officer_change() -> None:
    change = takeover_change(
        youth(LEAP_BORN), cohort="FLEX", pathway="REHABILITATE_AND_RESETTLE", lead_officer="PC 7"
    )
    assert change["change"] == "LEAD_OFFICER_CHANGED"
    assert change["lead_officer"] == "PC 7"
    assert change["effective_at"] == datetime(2026, 3, 1, tzinfo=UTC)
    assert "2026-03-01" in str(change["reason"])
    codec = Codec(SchemaRegistry(SCHEMAS))
    assert codec.decode(codec.encode("CohortChange", change)).value == change
