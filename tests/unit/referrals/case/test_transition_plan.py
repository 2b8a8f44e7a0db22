"""The transition plan's steps: inside the window (edges), in order, contact scaled back."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.referrals.care.checks import CareError
from services.referrals.case import lifecycle
from services.referrals.case.transition_plan import check_steps, current_step

END = date(2028, 2, 29)  # the licence's last day, a leap day
OPENS = lifecycle.transition_opens(END)  # 4 January 2028


def step(starts: str, contact: str, who: str = "OM Jones") -> dict:
    return {"from": starts, "action": "appointments", "who": who, "contact": contact}


def refused(steps: object) -> str:
    with pytest.raises(CareError) as error:
        check_steps(steps, opens=OPENS, licence_end=END)
    return error.value.field


def test_steps_from_the_opening_day_to_the_licence_end_day_are_allowed():
    assert OPENS == date(2028, 1, 4)
    kept = check_steps([step("2028-01-04", "WEEKLY"), step("2028-02-01", "FORTNIGHTLY"),
                        step("2028-02-29", "MONTHLY")], opens=OPENS, licence_end=END)
    assert [s["from"] for s in kept] == ["2028-01-04", "2028-02-01", "2028-02-29"]


def test_a_step_the_day_before_the_opening_or_after_the_licence_end_is_refused():
    assert refused([step("2028-01-03", "WEEKLY")]) == "steps[0].from"
    assert refused([step("2028-01-04", "WEEKLY"), step("2028-03-01", "MONTHLY")]) == (
        "steps[1].from")


def test_contact_is_scaled_back_never_up_and_steps_are_in_order():
    assert refused([step("2028-01-04", "MONTHLY"), step("2028-02-01", "WEEKLY")]) == (
        "steps[1].contact")
    assert refused([step("2028-01-04", "WEEKLY"), step("2028-01-04", "MONTHLY")]) == (
        "steps[1].from")
    assert refused([step("2028-01-04", "WEEKLY"), step("2028-02-01", "WEEKLY")]) == "steps"
    # equal then lower is scaling back step by step
    check_steps([step("2028-01-04", "WEEKLY"), step("2028-01-20", "WEEKLY"),
                 step("2028-02-01", "NONE")], opens=OPENS, licence_end=END)


def test_a_step_needs_who_what_and_a_known_contact_level():
    assert refused([{**step("2028-01-04", "WEEKLY"), "who": ""}]) == "steps[0].who"
    assert refused([step("2028-01-04", "HOURLY")]) == "steps[0].contact"
    assert refused([step("04/01/2028", "WEEKLY")]) == "steps[0].from"
    assert refused([]) == "steps"
    assert refused("weekly") == "steps"
    assert refused([{**step("2028-01-04", "WEEKLY"),
                     "from": datetime(2028, 1, 4, 9)}]) == "steps[0].from"


def test_the_step_in_force_is_the_last_started():
    steps = [step("2028-01-04", "WEEKLY"), step("2028-02-01", "MONTHLY")]
    assert current_step(steps, date(2028, 1, 3)) is None
    assert current_step(steps, date(2028, 1, 31))["contact"] == "WEEKLY"
    assert current_step(steps, date(2028, 2, 1))["contact"] == "MONTHLY"
