"""Unit tests for services.referrals.care.needs: the 7 pathway needs, a continual assessment."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.referrals.care.checks import CareError
from services.referrals.care.needs import (
    ACCOMMODATION,
    ALCOHOL_DRUGS,
    EMPLOYMENT,
    LEVELS,
    NEED_LABELS,
    NEEDS,
    assess,
    current,
    history_of,
    new,
    on_event,
)

TODAY = date(2025, 6, 30)
DAY = timedelta(days=1)


def finding(level: str, evidence: str = "seen at home visit") -> dict[str, str]:
    return {"level": level, "evidence": evidence}


def assessed(level: str = "SOME", on: date = TODAY, need: str = ACCOMMODATION,
             state: dict | None = None, by: str = "PC 1234 Smith") -> dict:
    return assess(state or new(), needs={need: finding(level)}, assessed_by=by,
                  assessed_on=on, today=TODAY)


def test_the_seven_needs_in_seed_order_with_seed_wording() -> None:
    assert NEEDS == ("ACCOMMODATION", "EMPLOYMENT", "EDUCATION_TRAINING", "ALCOHOL_DRUGS",
                     "THINKING_SKILLS", "CHILDCARE", "FINANCE_HEALTH")
    assert [NEED_LABELS[n] for n in NEEDS] == [
        "Accommodation", "Employment", "Training and Education",
        "Alcohol and/or Drug Misuse", "Thinking Skills", "Childcare", "Finances and Health"]
    assert LEVELS == ("NONE", "SOME", "SEVERE")


def test_an_assessment_is_current_and_names_who_and_when() -> None:
    state = assess(new(), needs={ACCOMMODATION: finding("SEVERE", "sofa surfing"),
                                 EMPLOYMENT: finding("NONE", "works full time")},
                   assessed_by="PC 1234 Smith", assessed_on=TODAY - DAY, today=TODAY)
    now = current(state)
    assert list(now) == list(NEEDS)
    assert now[ACCOMMODATION] == {"level": "SEVERE", "assessed_by": "PC 1234 Smith",
                                  "assessed_on": "2025-06-29", "evidence": "sofa surfing",
                                  "source": "ASSESSMENT"}
    assert now[EMPLOYMENT]["level"] == "NONE"
    assert now[ALCOHOL_DRUGS] is None  # never assessed
    json.dumps(state)  # lives in a Faust table


def test_reassessment_supersedes_and_keeps_history() -> None:
    first = assessed("SEVERE", TODAY - 10 * DAY)
    second = assessed("SOME", TODAY, state=first, by="PO Jones")
    assert current(second)[ACCOMMODATION]["level"] == "SOME"
    assert current(second)[ACCOMMODATION]["assessed_by"] == "PO Jones"
    assert len(second["history"]) == 2
    assert [h["level"] for h in history_of(second, ACCOMMODATION)] == ["SOME", "SEVERE"]
    assert current(first)[ACCOMMODATION]["level"] == "SEVERE"  # the input was not mutated


def test_partial_reassessment_leaves_other_needs() -> None:
    state = assess(new(), needs={ACCOMMODATION: finding("SEVERE"), EMPLOYMENT: finding("SOME")},
                   assessed_by="A", assessed_on=TODAY - DAY, today=TODAY)
    state = assessed("NONE", TODAY, state=state)
    assert current(state)[ACCOMMODATION]["level"] == "NONE"
    assert current(state)[EMPLOYMENT]["level"] == "SOME"


def test_a_back_dated_assessment_does_not_supersede_a_newer_one() -> None:
    state = assessed("NONE", TODAY)
    state = assessed("SEVERE", TODAY - 5 * DAY, state=state)
    assert current(state)[ACCOMMODATION]["level"] == "NONE"
    assert len(state["history"]) == 2


def test_the_same_assessment_again_is_recorded_once() -> None:
    state = assessed("SOME")
    assert assessed("SOME", state=state) == state


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"needs": {"HOUSING": finding("SOME")}}, "needs.HOUSING"),
        ({"needs": {ACCOMMODATION: finding("HIGH")}}, "needs.ACCOMMODATION.level"),
        ({"needs": {ACCOMMODATION: finding("SOME", "  ")}}, "needs.ACCOMMODATION.evidence"),
        ({"needs": {ACCOMMODATION: "SOME"}}, "needs.ACCOMMODATION"),
        ({"needs": {}}, "needs"),
        ({"assessed_by": ""}, "assessed_by"),
        ({"assessed_on": TODAY + DAY}, "assessed_on"),
        ({"assessed_on": datetime(2025, 6, 30, 9)}, "assessed_on"),
    ],
)
def test_refusals_name_the_field(kwargs: dict, field: str) -> None:
    args = {"needs": {ACCOMMODATION: finding("SOME")}, "assessed_by": "PC 1",
            "assessed_on": TODAY, "today": TODAY, **kwargs}
    with pytest.raises(CareError) as caught:
        assess(new(), **args)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_assessed_today_is_accepted() -> None:
    assert current(assessed("SOME", TODAY))[ACCOMMODATION]["assessed_on"] == "2025-06-30"


def test_accommodation_lost_is_severe_until_reassessed() -> None:
    state = assessed("NONE", TODAY - 10 * DAY)
    state = on_event(state, "ACCOMMODATION_LOST", TODAY - 5 * DAY)
    held = current(state)[ACCOMMODATION]
    assert held["level"] == "SEVERE"
    assert held["source"] == "ACCOMMODATION_LOST"
    assert held["assessed_by"] is None
    assert "until reassessed" in held["evidence"]
    # other events leave it severe
    for event in ("DRUG_TEST_NEGATIVE", "EMPLOYMENT_STARTED", "APPOINTMENT_ATTENDED"):
        state = on_event(state, event, TODAY - 2 * DAY)
    assert current(state)[ACCOMMODATION]["level"] == "SEVERE"
    # reassessment of another need does not clear it
    state = assessed("NONE", TODAY - DAY, need=EMPLOYMENT, state=state)
    assert current(state)[ACCOMMODATION]["level"] == "SEVERE"
    # a form back-dated to before the loss does not clear it either
    state = assessed("NONE", TODAY - 7 * DAY, state=state)
    assert current(state)[ACCOMMODATION]["level"] == "SEVERE"
    # the reassessment does
    state = assessed("SOME", TODAY, state=state)
    assert current(state)[ACCOMMODATION]["level"] == "SOME"
    assert current(state)[ACCOMMODATION]["source"] == "ASSESSMENT"


def test_reassessed_on_the_day_of_the_loss_wins_when_taken_after_it() -> None:
    state = on_event(assessed("NONE", TODAY - DAY), "ACCOMMODATION_LOST", TODAY)
    state = assessed("SOME", TODAY, state=state)
    assert current(state)[ACCOMMODATION]["level"] == "SOME"


def test_a_late_event_dated_before_the_last_assessment_is_history_only() -> None:
    state = assessed("NONE", TODAY)
    state = on_event(state, "ACCOMMODATION_LOST", TODAY - 3 * DAY)
    assert current(state)[ACCOMMODATION]["level"] == "NONE"
    assert history_of(state, ACCOMMODATION)[-1]["source"] == "ACCOMMODATION_LOST"


@pytest.mark.parametrize(
    ("held", "event", "need", "expected"),
    [
        ("SEVERE", "ACCOMMODATION_SECURED", ACCOMMODATION, "SOME"),
        ("SOME", "ACCOMMODATION_SECURED", ACCOMMODATION, "SOME"),
        ("NONE", "ACCOMMODATION_SECURED", ACCOMMODATION, "NONE"),
        (None, "ACCOMMODATION_SECURED", ACCOMMODATION, "SOME"),
        ("NONE", "EMPLOYMENT_ENDED", EMPLOYMENT, "SOME"),
        ("SEVERE", "EMPLOYMENT_ENDED", EMPLOYMENT, "SEVERE"),
        ("SEVERE", "EMPLOYMENT_STARTED", EMPLOYMENT, "SOME"),
        ("NONE", "EMPLOYMENT_STARTED", EMPLOYMENT, "NONE"),
        ("NONE", "DRUG_TEST_POSITIVE", ALCOHOL_DRUGS, "SOME"),
        ("SEVERE", "DRUG_TEST_POSITIVE", ALCOHOL_DRUGS, "SEVERE"),
        (None, "DRUG_TEST_POSITIVE", ALCOHOL_DRUGS, "SOME"),
        ("SOME", "DRUG_TEST_NEGATIVE", ALCOHOL_DRUGS, "SOME"),
    ],
)
def test_events_bound_the_level(held: str | None, event: str, need: str,
                                expected: str) -> None:
    state = new() if held is None else assessed(held, TODAY - DAY, need=need)
    state = on_event(state, event, TODAY)
    assert current(state)[need]["level"] == expected


def test_an_event_that_confirms_the_level_keeps_the_assessors_evidence() -> None:
    state = assessed("SEVERE", TODAY - DAY, need=ALCOHOL_DRUGS)
    state = on_event(state, "DRUG_TEST_POSITIVE", TODAY)
    assert current(state)[ALCOHOL_DRUGS]["source"] == "ASSESSMENT"
    assert len(state["history"]) == 2


def test_an_event_delivered_twice_is_recorded_once() -> None:
    state = on_event(new(), "ACCOMMODATION_LOST", TODAY)
    assert on_event(state, "ACCOMMODATION_LOST", TODAY) == state


def test_events_that_move_no_need_change_nothing() -> None:
    state = assessed("SOME")
    assert on_event(state, "ARRESTED", TODAY) == state


def test_history_of_an_unknown_need_is_refused() -> None:
    with pytest.raises(CareError) as caught:
        history_of(new(), "HOUSING")
    assert caught.value.field == "need"


KINDS = ["ASSESS", "ACCOMMODATION_LOST", "ACCOMMODATION_SECURED"]
# distinct dates, so the arrival order is the only thing a permutation changes
steps_strategy = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(LEVELS),
              st.integers(min_value=0, max_value=400)),
    max_size=8, unique_by=lambda s: s[2],
)


def replay(steps: list[tuple[str, str, int]]) -> dict:
    state = new()
    for kind, level, back in steps:
        on = TODAY - back * DAY
        if kind == "ASSESS":
            state = assess(state, needs={ACCOMMODATION: finding(level)},
                           assessed_by="PC 1", assessed_on=on, today=TODAY)
        else:
            state = on_event(state, kind, on)
    return state


@given(steps_strategy, st.randoms())
def test_late_arrival_does_not_change_the_outcome(steps: list, rnd: random.Random) -> None:
    shuffled = list(steps)
    rnd.shuffle(shuffled)
    assert current(replay(steps)) == current(replay(shuffled))
    assert len(replay(shuffled)["history"]) == len(steps)  # nothing is lost


@given(steps_strategy)
def test_a_loss_dated_after_everything_else_stands(steps: list) -> None:
    state = on_event(replay(steps), "ACCOMMODATION_LOST", TODAY + DAY)
    assert current(state)[ACCOMMODATION]["level"] == "SEVERE"
    json.dumps(state)
