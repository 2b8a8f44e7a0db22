"""Unit tests for services.referrals.care.gate: prison events, the pre-release checklist, the
handover, SASH and the health-sharing matrix."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.referrals.care import needs, plans
from services.referrals.care.checks import CareError
from services.referrals.care.gate import (
    CHECKLIST_ITEMS,
    PRISON_EVENT_TYPES,
    RELEASE_EVENTS,
    TAG_FITTING,
    checklist_opens,
    handover,
    mark_item,
    may_share_health,
    new,
    on_classification,
    on_reception,
    on_release,
    on_sash,
    on_sentence_plan,
    sash_flag,
    sash_open,
    set_release_date,
    tick,
)

DAY = timedelta(days=1)
RECEIVED = date(2025, 1, 6)
RELEASE = date(2025, 9, 29)
OPENS = date(2025, 7, 7)  # 29 September 2025 - 84 days, worked by hand
ALL_BUT_TAG = ["ACCOMMODATION", "GP_REGISTRATION", "BENEFITS", "DRUG_ALCOHOL_CONTINUITY",
               "IOM_REFERRAL"]


def in_custody(release: date | None = RELEASE, today: date = RECEIVED,
               neighbourhood: bool = False) -> dict:
    state = on_reception(new(), RECEIVED)
    if release is not None:
        state = set_release_date(state, release, today, neighbourhood_licence=neighbourhood)
    return state


def opened(neighbourhood: bool = False) -> dict:
    state, did = tick(in_custody(), OPENS, neighbourhood_licence=neighbourhood)
    assert did
    return state


# --- prison events ----------------------------------------------------------------------------


def test_prison_event_types_and_releases() -> None:
    assert PRISON_EVENT_TYPES == {
        "PRISON_RECEPTION", "SENTENCE_PLAN_AGREED", "RELEASE_DATE_SET",
        "CLASSIFICATION_CHANGED", "RELEASED", "SASH_OPENED", "SASH_CLOSED",
        "SELF_HARM_REPORTED"}
    assert RELEASE_EVENTS == {"RELEASED", "RELEASED_ON_LICENCE"}


def test_reception_sentence_plan_and_classification_are_kept() -> None:
    state = on_classification(on_sentence_plan(in_custody(), RECEIVED + 20 * DAY), "C")
    assert (state["received_on"], state["sentence_plan_agreed_on"], state["category"]) == (
        "2025-01-06", "2025-01-26", "C")
    json.dumps(state)


def test_a_transfer_keeps_the_first_reception() -> None:
    state = on_reception(in_custody(), RECEIVED + 30 * DAY)
    assert state["received_on"] == "2025-01-06"


def test_a_reception_after_release_starts_a_new_spell() -> None:
    state, _ = on_release(in_custody(), RELEASE)
    state = on_sash(state, "SELF_HARM_REPORTED", RELEASE + DAY)
    again = on_reception(state, date(2026, 3, 2))
    assert again["received_on"] == "2026-03-02"
    assert again["release_date"] is None and again["checklist"] is None
    assert again["previous_spells"] == [{"received_on": "2025-01-06",
                                         "released_on": "2025-09-29"}]
    assert sash_open(again)  # the person's SASH history is not the spell's


def test_a_release_date_before_reception_is_refused() -> None:
    with pytest.raises(CareError) as caught:
        set_release_date(on_reception(new(), RECEIVED), RECEIVED - DAY, RECEIVED)
    assert caught.value.field == "release_date"
    assert "before the reception date 2025-01-06" in caught.value.reason


def test_a_release_on_the_reception_day_is_accepted() -> None:
    assert in_custody(release=RECEIVED)["release_date"] == "2025-01-06"


def test_a_reception_after_the_known_release_date_is_refused() -> None:
    state = set_release_date(new(), RELEASE, RECEIVED)
    with pytest.raises(CareError) as caught:
        on_reception(state, RELEASE + DAY)
    assert caught.value.field == "received_on"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: on_release(s, RECEIVED - DAY), "released_on"),
        (lambda s: set_release_date(s, datetime(2025, 9, 29, tzinfo=UTC), RECEIVED),
         "release_date"),
        (lambda s: on_classification(s, " "), "category"),
        (lambda s: checklist_opens(s, -1), "weeks"),
    ],
)
def test_bad_prison_inputs_name_the_field(call: Callable[[dict], object], field: str) -> None:
    with pytest.raises(CareError) as caught:
        call(in_custody())
    assert caught.value.field == field


# --- the checklist opens 12 weeks before release ----------------------------------------------


def test_checklist_opens_exactly_twelve_weeks_before_not_a_day_earlier() -> None:
    state = in_custody()
    assert checklist_opens(state) == OPENS
    not_yet, did = tick(state, OPENS - DAY, neighbourhood_licence=False)
    assert did is False and not_yet["checklist"] is None
    now, did = tick(not_yet, OPENS, neighbourhood_licence=False)
    assert did is True
    assert now["checklist"]["opened_on"] == "2025-07-07"
    assert list(now["checklist"]["items"]) == ALL_BUT_TAG
    assert {i: v["agency"] for i, v in now["checklist"]["items"].items()} == {
        i: CHECKLIST_ITEMS[i] for i in ALL_BUT_TAG}
    assert all(v["status"] == "OPEN" for v in now["checklist"]["items"].values())
    json.dumps(now)


def test_it_opens_once() -> None:
    state = opened()
    again, did = tick(state, OPENS + DAY, neighbourhood_licence=False)
    assert did is False and again["checklist"] == state["checklist"]


def test_the_number_of_weeks_is_a_setting() -> None:
    state = in_custody()
    assert checklist_opens(state, weeks=4) == RELEASE - 28 * DAY
    assert tick(state, OPENS, weeks=4, neighbourhood_licence=False)[1] is False


def test_no_release_date_no_checklist() -> None:
    state = in_custody(release=None)
    assert checklist_opens(state) is None
    assert tick(state, RELEASE, neighbourhood_licence=False)[1] is False


@pytest.mark.parametrize(
    ("release", "opens"),
    [
        (date(2024, 5, 23), date(2024, 2, 29)),  # lands on the leap day
        (date(2025, 5, 23), date(2025, 2, 28)),
        (date(2025, 3, 20), date(2024, 12, 26)),  # back over the new year
        (date(2024, 3, 25), date(2024, 1, 1)),
    ],
)
def test_opening_across_29_february_and_new_year(release: date, opens: date) -> None:
    state = set_release_date(new(), release, date(2023, 6, 1))
    assert checklist_opens(state) == opens
    assert tick(state, opens - DAY, neighbourhood_licence=False)[1] is False
    assert tick(state, opens, neighbourhood_licence=False)[1] is True


def test_a_release_date_moved_earlier_opens_at_once_when_its_day_has_passed() -> None:
    state, did = tick(in_custody(), OPENS - 30 * DAY, neighbourhood_licence=False)
    assert did is False
    today = OPENS - 30 * DAY
    moved = set_release_date(state, RELEASE - 60 * DAY, today)  # now opens on OPENS - 60
    assert moved["checklist"] is not None
    assert moved["checklist"]["opened_on"] == today.isoformat()
    assert moved["checklist"]["scheduled_on"] == (OPENS - 60 * DAY).isoformat()
    assert [r["release_date"] for r in moved["release_dates"]] == ["2025-09-29", "2025-07-31"]


def test_a_release_date_moved_earlier_but_not_yet_due_waits_for_the_new_day() -> None:
    today = OPENS - 30 * DAY
    moved = set_release_date(in_custody(), RELEASE - 10 * DAY, today)
    assert moved["checklist"] is None
    assert checklist_opens(moved) == OPENS - 10 * DAY
    assert tick(moved, OPENS - 11 * DAY, neighbourhood_licence=False)[1] is False
    assert tick(moved, OPENS - 10 * DAY, neighbourhood_licence=False)[1] is True


def test_moving_to_exactly_the_opening_day_opens_today() -> None:
    today = OPENS - 30 * DAY
    moved = set_release_date(in_custody(), RELEASE - 30 * DAY, today)
    assert moved["checklist"]["opened_on"] == today.isoformat()


def test_a_release_date_moved_later_after_opening_leaves_it_open() -> None:
    state = mark_item(opened(), "BENEFITS", "DONE", "DWP J Bloggs", OPENS + DAY)
    later = set_release_date(state, RELEASE + 90 * DAY, OPENS + 2 * DAY)
    assert later["checklist"] == state["checklist"]
    assert tick(later, OPENS + 3 * DAY, neighbourhood_licence=False)[1] is False


def test_a_release_date_for_someone_released_is_refused() -> None:
    state, _ = on_release(in_custody(), RELEASE)
    with pytest.raises(CareError) as caught:
        set_release_date(state, RELEASE + DAY, RELEASE)
    assert caught.value.field == "release_date"


@given(
    release=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 1, 1)),
    weeks=st.integers(min_value=0, max_value=52),
    offset=st.integers(min_value=-400, max_value=400),
)
def test_open_iff_the_day_has_come(release: date, weeks: int, offset: int) -> None:
    state = set_release_date(new(), release, date(2000, 1, 1), weeks=weeks)
    opens = release - timedelta(weeks=weeks)
    assert checklist_opens(state, weeks) == opens
    today = opens + offset * DAY
    _, did = tick(state, today, weeks=weeks, neighbourhood_licence=False)
    assert did is (offset >= 0)


@given(
    first=st.integers(min_value=0, max_value=300),
    second=st.integers(min_value=0, max_value=300),
    today=st.integers(min_value=0, max_value=300),
)
def test_after_any_move_the_checklist_is_open_iff_some_opening_day_has_come(
        first: int, second: int, today: int) -> None:
    base = date(2030, 1, 1)
    day0 = base + today * DAY
    state = set_release_date(new(), base + first * DAY, base)
    state, _ = tick(state, day0, neighbourhood_licence=False)
    state = set_release_date(state, base + second * DAY, day0)
    ever_due = any(base + d * DAY - timedelta(weeks=12) <= day0 for d in (first, second))
    assert (state["checklist"] is not None) is ever_due


# --- items --------------------------------------------------------------------------------------


def test_tag_fitting_only_for_a_neighbourhood_crime_licence() -> None:
    assert TAG_FITTING not in opened(neighbourhood=False)["checklist"]["items"]
    items = opened(neighbourhood=True)["checklist"]["items"]
    assert list(items) == list(CHECKLIST_ITEMS)
    assert items[TAG_FITTING]["agency"] == "electronic monitoring"
    with pytest.raises(CareError) as caught:
        mark_item(opened(neighbourhood=False), TAG_FITTING, "DONE", "EMS", OPENS)
    assert caught.value.field == "item"


def test_eligibility_learnt_after_opening_adds_the_tag_item_keeping_the_rest() -> None:
    state = mark_item(opened(), "BENEFITS", "DONE", "DWP", OPENS)
    state, did = tick(state, OPENS + DAY, neighbourhood_licence=True)
    assert did is False
    assert list(state["checklist"]["items"]) == list(CHECKLIST_ITEMS)
    assert state["checklist"]["items"]["BENEFITS"]["status"] == "DONE"
    assert state["checklist"]["items"][TAG_FITTING]["status"] == "OPEN"


def test_the_stored_eligibility_is_used_when_a_moved_date_opens_it() -> None:
    state = in_custody(today=RECEIVED, neighbourhood=True)
    moved = set_release_date(state, OPENS, OPENS - 10 * DAY)
    assert TAG_FITTING in moved["checklist"]["items"]


def test_marking_an_item_records_who_and_when() -> None:
    state = mark_item(opened(), "GP_REGISTRATION", "DONE", "Nurse Patel", OPENS + 5 * DAY)
    assert state["checklist"]["items"]["GP_REGISTRATION"] == {
        "agency": "prison healthcare", "status": "DONE", "by": "Nurse Patel",
        "on": "2025-07-12"}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("HOUSING", "DONE", "x", OPENS), "item"),
        (("BENEFITS", "FINISHED", "x", OPENS), "status"),
        (("BENEFITS", "DONE", "", OPENS), "by"),
        (("BENEFITS", "DONE", "x", OPENS - DAY), "on"),
    ],
)
def test_item_refusals(args: tuple, field: str) -> None:
    with pytest.raises(CareError) as caught:
        mark_item(opened(), *args)
    assert caught.value.field == field


def test_no_item_before_the_checklist_opens() -> None:
    with pytest.raises(CareError, match="not open") as caught:
        mark_item(in_custody(), "BENEFITS", "DONE", "x", RECEIVED)
    assert caught.value.field == "item"


# --- release day --------------------------------------------------------------------------------


def test_unready_items_on_release_day() -> None:
    state = opened(neighbourhood=True)
    for item in ("ACCOMMODATION", "GP_REGISTRATION", "IOM_REFERRAL"):
        state = mark_item(state, item, "DONE", "someone", OPENS + DAY)
    state = mark_item(state, "DRUG_ALCOHOL_CONTINUITY", "NOT_NEEDED", "SMS", OPENS + DAY)
    released, unready = on_release(state, RELEASE)
    assert unready == ["BENEFITS", TAG_FITTING]
    assert released["released_on"] == "2025-09-29"
    assert released["unready_on_release"] == unready
    assert on_release(released, RELEASE) == (released, unready)  # redelivered
    with pytest.raises(CareError) as caught:
        on_release(released, RELEASE + DAY)
    assert caught.value.field == "released_on"


def test_all_ready_means_no_alert() -> None:
    state = opened()
    for item in ALL_BUT_TAG:
        state = mark_item(state, item, "DONE", "someone", OPENS)
    assert on_release(state, RELEASE)[1] == []


def test_released_before_the_checklist_opened_everything_is_unready() -> None:
    state, unready = on_release(in_custody(), OPENS - DAY)
    assert unready == ALL_BUT_TAG
    assert state["checklist"]["opened_on"] == (OPENS - DAY).isoformat()
    assert tick(state, OPENS, neighbourhood_licence=False)[1] is False
    # tracked after release: the GP can still be registered
    assert mark_item(state, "GP_REGISTRATION", "DONE", "GP", OPENS)["checklist"]["items"][
        "GP_REGISTRATION"]["status"] == "DONE"


# --- the handover -------------------------------------------------------------------------------


def test_the_handover_is_one_payload_with_needs_plan_and_grade() -> None:
    assessed = needs.assess(needs.new(), needs={"ACCOMMODATION": {
        "level": "SEVERE", "evidence": "no fixed abode"}}, assessed_by="PC 1",
        assessed_on=OPENS, today=OPENS)
    plan = plans.add_action(plans.new_plan("P1", OPENS), action_id="A1", need="ACCOMMODATION",
                            pathway="REHABILITATE_AND_RESETTLE",
                            partner_agency="local authority housing", description="bed",
                            due=RELEASE, agreed_by="PC 1", lead_officer="PC 1", today=OPENS)
    plan = plans.add_action(plan, action_id="A0", need="EMPLOYMENT",
                            pathway="REHABILITATE_AND_RESETTLE", partner_agency="DWP",
                            description="job", due=OPENS, agreed_by="PC 1",
                            lead_officer="PC 1", today=OPENS)
    plan = plans.record_outcome(plan, "A0", "done", OPENS)
    grade = {"rag": "RED", "previous_rag": "AMBER", "reasons": ["recent arrest"],
             "graded_at": datetime(2025, 9, 1, 8, tzinfo=UTC), "static_score": 0.7}
    state, _ = on_release(on_sash(opened(), "SASH_OPENED", OPENS), RELEASE)
    payload = handover(assessed, plan, grade, "PC 1", gate_state=state)
    assert payload["kind"] == "RELEASE_HANDOVER"
    assert payload["lead_officer"] == "PC 1"
    assert payload["needs"]["ACCOMMODATION"]["level"] == "SEVERE"
    assert payload["needs"]["CHILDCARE"] is None
    assert [a["action_id"] for a in payload["open_actions"]] == ["A1"]
    assert payload["risk_grade"] == {"rag": "RED", "previous_rag": "AMBER",
                                     "reasons": ["recent arrest"],
                                     "graded_at": "2025-09-01T08:00:00+00:00"}
    assert payload["released_on"] == "2025-09-29"
    assert payload["unready_items"] == ALL_BUT_TAG
    assert payload["sash_open"] is True
    assert payload["health_information"] is True
    json.dumps(payload)


def test_a_handover_with_nothing_known_yet_still_goes() -> None:
    payload = handover(None, None, None, "PC 1")
    assert payload["open_actions"] == [] and payload["risk_grade"] is None
    assert set(payload["needs"]) == set(needs.NEEDS)


def test_a_handover_needs_a_lead_officer() -> None:
    with pytest.raises(CareError) as caught:
        handover(None, None, None, None)
    assert caught.value.field == "lead_officer"


# --- SASH ---------------------------------------------------------------------------------------


def test_a_sash_case_in_custody_is_flagged_until_closed() -> None:
    state = on_sash(in_custody(), "SASH_OPENED", RECEIVED + DAY)
    assert sash_open(state)
    assert sash_flag(state) == {"since": "2025-01-07", "source": "SASH_OPENED"}
    closed = on_sash(state, "SASH_CLOSED", RECEIVED + 9 * DAY)
    assert not sash_open(closed) and sash_flag(closed) is None


def test_a_self_harm_report_in_the_community_is_flagged() -> None:
    state = on_sash(new(), "SELF_HARM_REPORTED", RELEASE)
    assert sash_open(state)
    assert sash_flag(state) == {"since": "2025-09-29", "source": "SELF_HARM_REPORTED"}


def test_a_late_closing_dated_before_the_opening_does_not_close_it() -> None:
    state = on_sash(new(), "SASH_OPENED", RECEIVED + 10 * DAY)
    state = on_sash(state, "SASH_CLOSED", RECEIVED)  # an old case's closing, delivered late
    assert sash_open(state)


def test_the_flag_runs_from_the_first_event_since_the_last_closing() -> None:
    state = new()
    for kind, d in (("SASH_OPENED", 1), ("SASH_CLOSED", 5), ("SASH_OPENED", 9),
                    ("SELF_HARM_REPORTED", 12)):
        state = on_sash(state, kind, RECEIVED + d * DAY)
    assert sash_flag(state) == {"since": "2025-01-15", "source": "SASH_OPENED"}
    assert on_sash(state, "SASH_OPENED", RECEIVED + 9 * DAY) == state  # redelivered


def test_an_unknown_sash_event_is_refused() -> None:
    with pytest.raises(CareError) as caught:
        on_sash(new(), "RELEASED", RELEASE)
    assert caught.value.field == "event_type"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("POLICE", True), ("PROBATION", True), ("PRISON", True), ("MENTAL_HEALTH", True),
        ("DRUG_ALCOHOL", True), ("HEALTH", False), ("YOT", False), ("LOCAL_AUTHORITY", False),
        ("VOLUNTARY", False),
        ("PARTNER_HOUSING", False), ("PARTNER_EMPLOYMENT", False), ("CENTRAL", False),
        ("police", False), ("", False), ("UNKNOWN", False),
    ],
)
def test_health_sharing_matrix(role: str, allowed: bool) -> None:
    assert may_share_health(role) is allowed
