"""Unit tests for services.risk.person (state, event intake) and services.risk.grading."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.risk import rules as rules_module
from services.risk.dynamic import Event
from services.risk.grading import (
    Grade,
    facts_of,
    grade_person,
    risk_grade_record,
    static_grade,
)
from services.risk.ogrs3 import MODEL_VERSION, StaticFacts
from services.risk.person import (
    KEEP_EVENTS,
    InputError,
    PersonState,
    offender_event,
    person_json,
)

RULES = rules_module.load()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# risk-model.md worked example.
WOMAN: dict[str, Any] = {
    "sex": "FEMALE",
    "date_of_birth": date(1972, 9, 9),
    "first_sanction_date": date(1986, 9, 9),
    "previous_sanctions": 3,
    "current_offence": "CRIMINAL_DAMAGE",
    "current_conviction_date": date(2009, 9, 9),
}
GRADED_ON = datetime(2015, 9, 15, 12, 0, tzinfo=UTC)
WOMAN_P2 = 1 / (
    1
    + math.exp(
        -(-1.524652221 + 0.463062792 + 1.251124464 * math.log(4 / 33) + 0.204960477 + 2.121705678)
    )
)


def conviction(event_id: str, on: date, offence: str = "BURGLARY_DOMESTIC") -> Event:
    return Event(
        event_id, "CONVICTED", datetime(on.year, on.month, on.day, 10, tzinfo=UTC), offence
    )


def record(**overrides: Any) -> dict[str, Any]:
    base = {"event_id": "ev-1", "type": "DRUG_TEST_POSITIVE", "occurred_at": NOW, "offence": None}
    return base | overrides


# --- PersonState ---------------------------------------------------------------------------------


def test_person_state_json_round_trip() -> None:
    state = PersonState(person=person_json({**WOMAN, "person_id": "P1"}))
    state.add_event(Event("a", "BREACH_RAISED", NOW - timedelta(days=2)), NOW)
    state.add_event(Event("b", "CHARGED", NOW - timedelta(days=1), "ROBBERY"), NOW)
    state.record_published(
        {
            "rag": "RED",
            "revision": 2,
            "reasons": ["x", "y"],
            "graded_at": NOW,
            "static_score": 0.2,
            "previous_rag": "GREEN",
            "changed": True,
        },
        "b",
    )
    state.cohort = {"registered_at": NOW.isoformat()}
    text = json.dumps(state.to_json())
    again = PersonState.from_json(json.loads(text))
    assert again == state
    assert again.to_json() == state.to_json()
    assert again.history() == state.history()
    assert again.person_facts() == {**WOMAN, "person_id": "P1"}


def test_empty_state_from_nothing() -> None:
    assert PersonState.from_json(None) == PersonState()
    assert PersonState.from_json({}).to_json() == {
        "person": None,
        "events": [],
        "last": None,
        "changes": [],
        "cohort": None,
    }
    assert PersonState().person_facts() is None


def test_add_event_duplicate_id_returns_false_and_changes_nothing() -> None:
    state = PersonState()
    assert state.add_event(Event("x", "BREACH_RAISED", NOW - timedelta(days=3)), NOW) is True
    before = json.dumps(state.to_json())
    again = Event("x", "RECALLED", NOW - timedelta(days=1), "ROBBERY")
    assert state.add_event(again, NOW) is False
    assert json.dumps(state.to_json()) == before
    assert state.has_event("x")


@settings(max_examples=100, deadline=None)
@given(
    st.permutations(
        [
            Event(f"e{i}", "OTHER", NOW - timedelta(hours=h, microseconds=us))
            for i, (h, us) in enumerate(
                [(5, 0), (5, 500), (90, 0), (1, 1), (300, 0), (5, 0), (2000, 7)]
            )
        ]
    )
)
def test_events_kept_in_event_time_order_whatever_the_arrival(arrivals: list[Event]) -> None:
    state = PersonState()
    for event in arrivals:
        state.add_event(event, NOW)
    history = state.history()
    assert sorted(history, key=lambda e: (e.occurred_at, e.event_id)) == history
    assert {e.event_id for e in history} == {e.event_id for e in arrivals}


def test_old_events_pruned_after_120_days_convictions_kept() -> None:
    assert timedelta(days=120) == KEEP_EVENTS
    state = PersonState()
    state.add_event(conviction("c-old", (NOW - timedelta(days=900)).date()), NOW)
    state.add_event(Event("old", "BREACH_RAISED", NOW - timedelta(days=121)), NOW)
    state.add_event(Event("edge", "RECALLED", NOW - timedelta(days=120)), NOW)
    state.add_event(Event("recent", "DRUG_TEST_POSITIVE", NOW - timedelta(days=119)), NOW)
    assert [e["id"] for e in state.events] == ["c-old", "edge", "recent"]
    # A later add moves the cut-off on.
    later = NOW + timedelta(hours=12)
    state.add_event(Event("new", "OTHER", later), later)
    assert [e["id"] for e in state.events] == ["c-old", "recent", "new"]


def test_remove_event() -> None:
    state = PersonState()
    state.add_event(Event("a", "OTHER", NOW), NOW)
    assert state.remove_event("a") is True
    assert state.remove_event("a") is False
    assert state.events == []


# --- offender_event ------------------------------------------------------------------------------


def test_offender_event_accepts_a_good_record() -> None:
    event = offender_event(record(type="ARRESTED", offence="ROBBERY"), NOW)
    assert event == Event("ev-1", "ARRESTED", NOW, "ROBBERY")


def test_offender_event_normalises_to_utc() -> None:
    plus_two = datetime(2026, 11, 20, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert offender_event(record(occurred_at=plus_two), NOW).occurred_at == datetime(
        2026, 11, 20, 12, 0, tzinfo=UTC
    )
    naive = datetime(2026, 11, 20, 12, 0)
    assert offender_event(record(occurred_at=naive), NOW).occurred_at.tzinfo == UTC


def test_offender_event_refuses_the_future_beyond_24_hours() -> None:
    assert offender_event(record(occurred_at=NOW + timedelta(hours=24)), NOW)
    with pytest.raises(InputError, match="in the future"):
        offender_event(record(occurred_at=NOW + timedelta(hours=24, seconds=1)), NOW)


def test_offender_event_refuses_an_unknown_offence_category() -> None:
    with pytest.raises(InputError, match="unknown offence category 'UNKNOWN'"):
        offender_event(record(type="ARRESTED", offence="UNKNOWN"), NOW)


def test_offender_event_refuses_a_conviction_without_offence() -> None:
    with pytest.raises(InputError, match="CONVICTED"):
        offender_event(record(type="CONVICTED", offence=None), NOW)
    assert offender_event(record(type="CONVICTED", offence="VIOLENCE"), NOW).offence == "VIOLENCE"


# --- facts_of ------------------------------------------------------------------------------------


def test_facts_without_events_are_the_agency_facts() -> None:
    assert facts_of(WOMAN) == StaticFacts(**WOMAN)


def test_a_new_conviction_becomes_current_and_the_old_one_a_previous_sanction() -> None:
    facts = facts_of(WOMAN, [conviction("c1", date(2014, 3, 1), "ROBBERY")])
    assert facts.current_offence == "ROBBERY"
    assert facts.current_conviction_date == date(2014, 3, 1)
    assert facts.previous_sanctions == 4
    assert facts.first_sanction_date == date(1986, 9, 9)


@pytest.mark.parametrize("on", [date(2009, 9, 9), date(2005, 1, 1)])
def test_conviction_on_or_before_the_current_one_is_ignored(on: date) -> None:
    assert facts_of(WOMAN, [conviction("c0", on)]) == StaticFacts(**WOMAN)


def test_conviction_already_in_an_agency_update_is_not_counted_twice() -> None:
    event = conviction("c1", date(2014, 3, 1), "ROBBERY")
    updated = {
        **WOMAN,
        "current_offence": "ROBBERY",
        "current_conviction_date": date(2014, 3, 1),
        "previous_sanctions": 4,
    }
    assert facts_of(updated, [event]) == facts_of(WOMAN, [event]) == StaticFacts(**updated)


def test_two_convictions_out_of_order_give_the_same_facts() -> None:
    first = conviction("c1", date(2012, 5, 1), "ROBBERY")
    second = conviction("c2", date(2014, 3, 1), "BURGLARY_OTHER")
    in_order = facts_of(WOMAN, [first, second])
    assert facts_of(WOMAN, [second, first]) == in_order
    assert in_order.current_offence == "BURGLARY_OTHER"
    assert in_order.current_conviction_date == date(2014, 3, 1)
    assert in_order.previous_sanctions == 5


def test_other_events_do_not_change_facts() -> None:
    events = [Event("a", "ARRESTED", datetime(2014, 1, 1, tzinfo=UTC), "ROBBERY")]
    assert facts_of(WOMAN, events) == StaticFacts(**WOMAN)


def test_first_conviction_when_none_on_record() -> None:
    person = {
        "sex": "MALE",
        "date_of_birth": date(1990, 1, 1),
        "first_sanction_date": None,
        "previous_sanctions": 0,
        "current_offence": None,
        "current_conviction_date": None,
    }
    facts = facts_of(person, [conviction("c1", date(2014, 3, 1), "ROBBERY")])
    assert facts.current_offence == "ROBBERY"
    assert facts.current_conviction_date == date(2014, 3, 1)
    assert facts.first_sanction_date == date(2014, 3, 1)
    assert facts.previous_sanctions == 0


# --- grade_person --------------------------------------------------------------------------------


def test_worked_example_is_green_with_the_ogrs3_reason() -> None:
    graded = grade_person(WOMAN, [], GRADED_ON, RULES)
    assert graded.rag == "GREEN"
    assert graded.static is not None
    assert graded.static.band == "LOW"
    assert graded.static.p_two_year == pytest.approx(WOMAN_P2, abs=1e-12)
    assert graded.reasons == (
        f"OGRS3 two-year reoffending probability {WOMAN_P2:.1%} (band LOW) gives GREEN",
    )
    assert graded.reasons[0].startswith("OGRS3 two-year reoffending probability 20.2%")


def test_worked_example_recalled_three_days_before_is_red_recall_first() -> None:
    recall = Event("r1", "RECALLED", GRADED_ON - timedelta(days=3))
    graded = grade_person(WOMAN, [recall], GRADED_ON, RULES)
    assert graded.rag == "RED"
    assert graded.reasons[0] == "recalled to prison on 2015-09-12"
    assert graded.reasons[1].startswith("OGRS3 two-year reoffending probability")


def test_missing_facts_rest_on_dynamic_factors() -> None:
    person = {
        "sex": "MALE",
        "date_of_birth": date(1990, 1, 1),
        "first_sanction_date": None,
        "previous_sanctions": None,
        "current_offence": None,
        "current_conviction_date": None,
    }
    unavailable = (
        "static score unavailable: first_sanction_date, previous_sanctions, "
        "current_offence, current_conviction_date"
    )
    quiet = grade_person(person, [], NOW, RULES)
    assert quiet == Grade("GREEN", (unavailable,), None)
    drugs = Event("d1", "DRUG_TEST_POSITIVE", NOW - timedelta(days=23))
    graded = grade_person(person, [drugs], NOW, RULES)
    assert graded.rag == "AMBER"
    assert graded.reasons == ("positive drug test on 2026-11-02", unavailable)
    assert graded.static is None


def test_static_grade_unknown_sex_is_missing() -> None:
    graded = static_grade(StaticFacts(**{**WOMAN, "sex": "UNKNOWN"}), GRADED_ON)
    assert graded.reasons == ("static score unavailable: sex",)
    assert graded.static is None


# --- risk_grade_record ---------------------------------------------------------------------------


def _grade(rag: str, *reasons: str) -> Grade:
    return Grade(rag, reasons or (f"{rag} reason",), None)


def _previous(rec: dict[str, Any]) -> dict[str, Any]:
    return {"rag": rec["rag"], "revision": rec["revision"], "reasons": rec["reasons"]}


def test_first_grade_is_revision_1_changed() -> None:
    graded = grade_person(WOMAN, [], GRADED_ON, RULES)
    rec = risk_grade_record("P1", "Avon", graded, None, GRADED_ON, "ev-1", complete=False)
    assert rec is not None
    assert rec["changed"] is True
    assert rec["revision"] == 1
    assert rec["previous_rag"] is None
    assert rec["rag"] == "GREEN"
    assert rec["person_id"] == "P1" and rec["force"] == "Avon"
    assert rec["cause_event_id"] == "ev-1" and rec["graded_at"] == GRADED_ON
    assert rec["model_version"] == MODEL_VERSION
    assert rec["static_band"] == "LOW"
    assert rec["static_score"] == graded.static.p_two_year
    assert rec["p_one_year"] == graded.static.p_one_year
    assert rec["reasons"] == list(graded.reasons)


def test_first_grade_without_static_score() -> None:
    rec = risk_grade_record("P1", None, _grade("AMBER"), None, NOW, None, complete=False)
    assert rec is not None
    assert (rec["static_score"], rec["p_one_year"], rec["static_band"]) == (None, None, None)


@pytest.mark.parametrize("complete", [False, True])
def test_same_rag_same_reasons_publishes_nothing(complete: bool) -> None:
    previous = {"rag": "AMBER", "revision": 3, "reasons": ["AMBER reason"]}
    assert risk_grade_record("P1", None, _grade("AMBER"), previous, NOW, None, complete) is None


def test_same_rag_new_reasons_only_when_complete() -> None:
    previous = {"rag": "AMBER", "revision": 3, "reasons": ["old reason"]}
    new = _grade("AMBER", "new reason")
    assert risk_grade_record("P1", None, new, previous, NOW, None, complete=False) is None
    rec = risk_grade_record("P1", None, new, previous, NOW, None, complete=True)
    assert rec is not None
    assert rec["changed"] is False
    assert rec["previous_rag"] == "AMBER"
    assert rec["revision"] == 4


@pytest.mark.parametrize("complete", [False, True])
def test_changed_rag_is_published_with_next_revision(complete: bool) -> None:
    previous = {"rag": "GREEN", "revision": 7, "reasons": ["GREEN reason"]}
    rec = risk_grade_record("P1", None, _grade("RED"), previous, NOW, "ev-9", complete)
    assert rec is not None
    assert rec["changed"] is True
    assert rec["previous_rag"] == "GREEN"
    assert rec["revision"] == 8


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["GREEN", "AMBER", "RED"]),
            st.sampled_from([("a",), ("b",), ("a", "b")]),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_changed_exactly_when_rag_differs_from_previous(
    steps: list[tuple[str, tuple[str, ...], bool]],
) -> None:
    previous: dict[str, Any] | None = None
    published = 0
    for rag, reasons, complete in steps:
        rec = risk_grade_record(
            "P1", None, Grade(rag, reasons, None), previous, NOW, None, complete
        )
        previous_rag = previous["rag"] if previous else None
        if rec is None:
            assert rag == previous_rag
            assert not complete or tuple(previous["reasons"]) == reasons
            continue
        published += 1
        assert rec["changed"] == (rec["rag"] != rec["previous_rag"])
        assert rec["changed"] == (rag != previous_rag)
        assert rec["previous_rag"] == previous_rag
        assert rec["revision"] == published
        previous = _previous(rec)


def test_events_kept_in_order_and_window_whatever_order_they_arrive() -> None:
    """add_event puts each event in its place; the reference sorts the whole history and
    drops what is past the window (but convictions) each time, as it once did."""
    rng = random.Random(20261207)
    for _ in range(200):
        state, reference = PersonState(), []
        now = NOW
        for n in range(rng.randint(1, 30)):
            kind = rng.choice(["CONVICTED", "ARRESTED", "APPOINTMENT_MISSED", "CHARGED"])
            event = Event(f"e{n}", kind, now - timedelta(days=rng.uniform(0, 200)),
                          "ROBBERY" if kind in ("CONVICTED", "CHARGED") else None)
            now += timedelta(days=rng.uniform(0, 5))
            state.add_event(event, now)
            reference = sorted([*reference, event], key=lambda e: (e.occurred_at, e.event_id))
            reference = [e for e in reference
                         if e.type == "CONVICTED" or e.occurred_at >= now - KEEP_EVENTS]
        assert state.history() == reference
        assert [e["id"] for e in state.events] == [e.event_id for e in reference]
        assert PersonState.from_json(state.to_json()).history() == reference
