"""Unit tests for services.referrals.care.plans: actions, agreement, the review schedule,
pathways."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.referrals.care.checks import CareError
from services.referrals.care.plans import (
    actions_for_agency,
    add_action,
    change_pathway,
    new_plan,
    on_grade,
    open_actions,
    record_outcome,
    record_review,
    review_due,
    review_interval_days,
    review_overdue,
    rose,
)

TODAY = date(2025, 6, 30)
DAY = timedelta(days=1)
OM = "PC 1234 Smith"


def plan_on(opened: date = TODAY) -> dict:
    return new_plan("P1", opened)


def with_action(plan: dict | None = None, **kw: object) -> dict:
    args: dict = {"action_id": "A1", "need": "ACCOMMODATION",
                  "pathway": "REHABILITATE_AND_RESETTLE",
                  "partner_agency": "local authority housing",
                  "description": "priority housing assessment", "due": TODAY + 14 * DAY,
                  "agreed_by": OM, "lead_officer": OM, "today": TODAY}
    args.update(kw)
    return add_action(plan or plan_on(), **args)


# --- actions -----------------------------------------------------------------------------------


def test_an_agreed_action_is_added_open() -> None:
    plan = with_action()
    assert open_actions(plan) == [{
        "action_id": "A1", "need": "ACCOMMODATION", "pathway": "REHABILITATE_AND_RESETTLE",
        "partner_agency": "local authority housing",
        "description": "priority housing assessment", "due": "2025-07-14", "agreed_by": OM,
        "added_on": "2025-06-30", "outcome": None, "outcome_on": None}]
    json.dumps(plan)


def test_agreement_matches_the_officer_ignoring_case_and_spacing() -> None:
    assert with_action(agreed_by="pc 1234   SMITH")["actions"][0]["agreed_by"] == \
        "pc 1234   SMITH"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"agreed_by": None}, "agreed_by"),
        ({"agreed_by": "  "}, "agreed_by"),
        ({"agreed_by": "PC 9999 Jones"}, "agreed_by"),
        ({"lead_officer": None}, "lead_officer"),
        ({"need": "HOUSING"}, "need"),
        ({"pathway": "CATCH_AND_RELEASE"}, "pathway"),
        ({"partner_agency": ""}, "partner_agency"),
        ({"description": ""}, "description"),
        ({"action_id": ""}, "action_id"),
        ({"due": TODAY - DAY}, "due"),
        ({"due": datetime(2025, 7, 1, 9)}, "due"),
    ],
)
def test_action_refusals_name_the_field(kw: dict, field: str) -> None:
    with pytest.raises(CareError) as caught:
        with_action(**kw)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_without_agreement_the_refusal_says_why() -> None:
    with pytest.raises(CareError, match="agreement of the Offender Manager"):
        with_action(agreed_by=None)


def test_due_today_is_accepted() -> None:
    assert with_action(due=TODAY)["actions"][0]["due"] == "2025-06-30"


def test_an_action_id_is_unique_but_a_resubmission_is_a_no_op() -> None:
    plan = with_action()
    assert with_action(plan, today=TODAY + DAY) == plan
    with pytest.raises(CareError) as caught:
        with_action(plan, description="something else")
    assert caught.value.field == "action_id"


def test_an_outcome_closes_the_action_and_stands() -> None:
    plan = with_action()
    done = record_outcome(plan, "A1", "housed at Bridge St", TODAY + DAY)
    assert open_actions(done) == []
    assert done["actions"][0]["outcome"] == "housed at Bridge St"
    assert record_outcome(done, "A1", "housed at Bridge St", TODAY + DAY) == done
    with pytest.raises(CareError) as caught:
        record_outcome(done, "A1", "evicted", TODAY + 2 * DAY)
    assert caught.value.field == "action_id"


@pytest.mark.parametrize(
    ("args", "kw", "field"),
    [
        (("A9", "done", TODAY), {}, "action_id"),
        (("A1", " ", TODAY), {}, "outcome"),
        (("A1", "done", TODAY - DAY), {}, "on"),
        (("A1", "done", TODAY + DAY), {"today": TODAY}, "on"),
    ],
)
def test_outcome_refusals(args: tuple, kw: dict, field: str) -> None:
    with pytest.raises(CareError) as caught:
        record_outcome(with_action(), *args, **kw)
    assert caught.value.field == field


def test_a_partners_actions_are_its_open_ones_soonest_first() -> None:
    p1 = with_action(new_plan("P1", TODAY), action_id="late", due=TODAY + 20 * DAY)
    p1 = with_action(p1, action_id="soon", due=TODAY + 2 * DAY)
    p1 = with_action(p1, action_id="gp", need="FINANCE_HEALTH", partner_agency="NHS",
                     due=TODAY + DAY)
    p1 = with_action(p1, action_id="closed", due=TODAY)
    p1 = record_outcome(p1, "closed", "done", TODAY)
    p2 = with_action(new_plan("P2", TODAY), action_id="mid", due=TODAY + 2 * DAY,
                     partner_agency="Local Authority  Housing")
    mine = actions_for_agency({"P1": p1, "P2": p2}, "local authority housing")
    assert [(a["person_id"], a["action_id"]) for a in mine] == [
        ("P1", "soon"), ("P2", "mid"), ("P1", "late")]
    assert actions_for_agency({"P1": p1}, "probation") == []


# --- the review schedule -------------------------------------------------------------------------


@pytest.mark.parametrize(("rag", "days"), [("RED", 7), ("AMBER", 28), ("GREEN", 56),
                                           (None, 28)])
def test_review_cadence_per_grade(rag: str | None, days: int) -> None:
    assert review_interval_days(rag) == days
    plan = plan_on(TODAY)
    assert review_due(plan, rag, TODAY) == TODAY + days * DAY
    assert not review_overdue(plan, rag, TODAY + days * DAY)  # due that day: on time
    assert review_overdue(plan, rag, TODAY + (days + 1) * DAY)


def test_cadence_is_a_setting() -> None:
    assert review_interval_days("RED", red=3) == 3
    assert review_due(plan_on(), "GREEN", TODAY, green=10) == TODAY + 10 * DAY


def test_an_unknown_grade_is_refused() -> None:
    with pytest.raises(CareError) as caught:
        review_interval_days("PURPLE")
    assert caught.value.field == "rag"


def test_the_schedule_counts_from_the_last_review() -> None:
    plan = record_review(plan_on(TODAY - 20 * DAY), "Sgt Brown", TODAY - 3 * DAY, TODAY)
    assert review_due(plan, "AMBER", TODAY) == TODAY + 25 * DAY
    assert review_due(plan, "RED", TODAY) == TODAY + 4 * DAY


@pytest.mark.parametrize(
    ("opened", "rag", "due"),
    [
        (date(2024, 2, 22), "RED", date(2024, 2, 29)),  # leap day
        (date(2023, 2, 22), "RED", date(2023, 3, 1)),  # no leap day
        (date(2024, 2, 1), "AMBER", date(2024, 2, 29)),
        (date(2023, 12, 28), "RED", date(2024, 1, 4)),  # year boundary
        (date(2024, 12, 31), "GREEN", date(2025, 2, 25)),
    ],
)
def test_review_dates_across_29_february_and_new_year(opened: date, rag: str,
                                                      due: date) -> None:
    assert review_due(new_plan("P1", opened), rag, opened) == due


def test_a_rise_makes_a_review_due_at_once() -> None:
    plan = plan_on(TODAY - 10 * DAY)
    assert review_due(plan, "GREEN", TODAY) == TODAY + 46 * DAY
    risen, now = on_grade(plan, "AMBER", "GREEN", TODAY)
    assert now is True
    assert review_due(risen, "AMBER", TODAY) == TODAY
    assert review_overdue(risen, "AMBER", TODAY + DAY)
    # the review the rise called for clears it; the cadence then runs from that review
    reviewed = record_review(risen, "Sgt Brown", TODAY, TODAY)
    assert reviewed["review_now_since"] is None
    assert review_due(reviewed, "AMBER", TODAY) == TODAY + 28 * DAY


@pytest.mark.parametrize(
    ("rag", "previous", "expected"),
    [
        ("RED", "AMBER", True), ("RED", "GREEN", True), ("AMBER", "GREEN", True),
        ("GREEN", "AMBER", False), ("AMBER", "RED", False), ("GREEN", "RED", False),
        ("RED", "RED", False), ("RED", None, False),
    ],
)
def test_only_a_rise_calls_for_a_review(rag: str, previous: str | None,
                                        expected: bool) -> None:
    assert rose(rag, previous) is expected
    plan, now = on_grade(plan_on(TODAY - 5 * DAY), rag, previous, TODAY)
    assert now is expected
    assert (review_due(plan, rag, TODAY) == TODAY) is expected


def test_a_fall_lengthens_the_cadence_without_a_review_now() -> None:
    plan = plan_on(TODAY - 5 * DAY)
    fallen, now = on_grade(plan, "GREEN", "RED", TODAY)
    assert now is False
    assert fallen == plan
    assert review_due(fallen, "GREEN", TODAY) == TODAY + 51 * DAY


def test_a_second_rise_keeps_the_first_outstanding_date() -> None:
    plan, _ = on_grade(plan_on(TODAY - 10 * DAY), "AMBER", "GREEN", TODAY - 3 * DAY)
    plan, now = on_grade(plan, "RED", "AMBER", TODAY)
    assert now is True
    assert review_due(plan, "RED", TODAY) == TODAY - 3 * DAY


def test_a_review_before_the_rise_does_not_clear_it() -> None:
    plan, _ = on_grade(plan_on(TODAY - 10 * DAY), "RED", "AMBER", TODAY)
    plan = record_review(plan, "Sgt Brown", TODAY - DAY, TODAY)
    assert review_due(plan, "RED", TODAY) == TODAY


def test_a_reviewer_may_bring_the_next_review_forward_not_back() -> None:
    plan = record_review(plan_on(TODAY - DAY), "Sgt Brown", TODAY, TODAY,
                         next_review=TODAY + 3 * DAY)
    assert review_due(plan, "AMBER", TODAY) == TODAY + 3 * DAY
    later = record_review(plan_on(TODAY - DAY), "Sgt Brown", TODAY, TODAY,
                          next_review=TODAY + 90 * DAY)
    assert review_due(later, "AMBER", TODAY) == TODAY + 28 * DAY


@pytest.mark.parametrize(
    ("reviewed_on", "kw", "field"),
    [
        (TODAY + DAY, {}, "reviewed_on"),  # in the future
        (TODAY - 30 * DAY, {}, "reviewed_on"),  # before the plan was opened
        (TODAY - 5 * DAY, {}, "reviewed_on"),  # before the last review
        (TODAY, {"next_review": TODAY - DAY}, "next_review"),  # a review date in the past
        # back-dated review, next date after it but already gone
        (TODAY - 2 * DAY, {"next_review": TODAY - DAY}, "next_review"),
        (TODAY, {"next_review": TODAY}, "next_review"),  # not after the review
        (TODAY, {"next_review": datetime(2025, 7, 9, tzinfo=UTC)}, "next_review"),
    ],
)
def test_review_refusals(reviewed_on: date, kw: dict, field: str) -> None:
    plan = record_review(plan_on(TODAY - 20 * DAY), "Sgt Brown", TODAY - 2 * DAY, TODAY)
    with pytest.raises(CareError) as caught:
        record_review(plan, "Sgt Brown", reviewed_on, TODAY, **kw)
    assert caught.value.field == field
    if reviewed_on < TODAY and kw:
        assert "in the past" in caught.value.reason


def test_a_back_dated_review_with_a_next_date_still_to_come_is_accepted() -> None:
    plan = record_review(plan_on(TODAY - 20 * DAY), "Sgt Brown", TODAY - 2 * DAY, TODAY,
                         next_review=TODAY)
    assert review_due(plan, "GREEN", TODAY) == TODAY


def test_a_blank_reviewer_is_refused() -> None:
    with pytest.raises(CareError) as caught:
        record_review(plan_on(), "", TODAY, TODAY)
    assert caught.value.field == "reviewed_by"


@given(
    opened=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    rag=st.sampled_from(["RED", "AMBER", "GREEN", None]),
    gap=st.integers(min_value=0, max_value=400),
)
def test_due_is_never_later_than_the_cadence_and_never_before_the_anchor(
        opened: date, rag: str | None, gap: int) -> None:
    today = opened + gap * DAY
    plan = new_plan("P1", opened)
    due = review_due(plan, rag, today)
    assert due == opened + review_interval_days(rag) * DAY
    reviewed = record_review(plan, "Sgt", today, today)
    assert review_due(reviewed, rag, today) == today + review_interval_days(rag) * DAY
    risen, now = on_grade(reviewed, "RED", "GREEN", today)
    assert now and review_due(risen, "RED", today) == today


# --- pathway changes ---------------------------------------------------------------------------


CASE = {"person_id": "P1", "cohort": "FIXED", "pathway": "CATCH_AND_CONTROL",
        "lead_officer": OM, "state": "REGISTERED"}


def test_a_pathway_change_is_a_cohort_change_with_the_reason() -> None:
    change = change_pathway(CASE, "REHABILITATE_AND_RESETTLE", "engaging with the hub", TODAY)
    assert change == with_id({
        "person_id": "P1", "change": "PATHWAY_CHANGED", "cohort": "FIXED",
        "pathway": "REHABILITATE_AND_RESETTLE", "lead_officer": OM,
        "reason": "CATCH_AND_CONTROL -> REHABILITATE_AND_RESETTLE: engaging with the hub",
        "effective_at": datetime(2025, 6, 30, tzinfo=UTC),
    })


@pytest.mark.parametrize(
    ("case", "pathway", "reason", "field"),
    [
        (CASE, "CATCH_AND_CONTROL", "again", "pathway"),
        (CASE, "SOMETHING", "why", "pathway"),
        (CASE, "PREVENT_AND_DETER", "", "reason"),
        ({**CASE, "state": "DEREGISTERED"}, "PREVENT_AND_DETER", "why", "state"),
        ({**CASE, "person_id": ""}, "PREVENT_AND_DETER", "why", "person_id"),
    ],
)
def test_pathway_change_refusals(case: dict, pathway: str, reason: str, field: str) -> None:
    with pytest.raises(CareError) as caught:
        change_pathway(case, pathway, reason, TODAY)
    assert caught.value.field == field


def test_a_first_pathway_says_so() -> None:
    change = change_pathway({**CASE, "pathway": None}, "PREVENT_AND_DETER", "young", TODAY)
    assert change["reason"] == "no pathway -> PREVENT_AND_DETER: young"


def with_id(change: dict) -> dict:
    """A CohortChange as published: with its deterministic change_id."""
    from services.referrals.case.lifecycle import change_id
    return {**change, "change_id": change_id(change)}
