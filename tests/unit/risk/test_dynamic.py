"""Unit tests for services.risk.dynamic with the shipped rules (risk-model.md defaults)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.risk import rules as rules_module
from services.risk.dynamic import Dynamic, Event, apply

RULES = rules_module.load()
AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_ids = itertools.count()

NEIGHBOURHOOD = [
    "ROBBERY",
    "BURGLARY_DOMESTIC",
    "BURGLARY_OTHER",
    "THEFT_NON_MOTOR",
    "TAKING_DRIVING_AWAY",
    "THEFT_FROM_VEHICLE",
]
STEP_UP = {
    "BREACH_RAISED": "breach raised on {date}",
    "DRUG_TEST_POSITIVE": "positive drug test on {date}",
    "ACCOMMODATION_LOST": "accommodation lost on {date}",
    "INTELLIGENCE_RECEIVED": "intelligence received on {date}",
    "ZONE_BREACH": "exclusion or inclusion zone breached on {date}",
}
PROTECTIVE = [
    "ACCOMMODATION_SECURED",
    "EMPLOYMENT_STARTED",
    "INTERVENTION_COMPLETED",
    "DRUG_TEST_NEGATIVE",
]


def ago(
    days: float, type_: str, offence: str | None = None, *, event_id: str | None = None
) -> Event:
    """An event ``days`` days before AS_OF (negative: after it)."""
    return Event(event_id or f"e{next(_ids)}", type_, AS_OF - timedelta(days=days), offence)


def day(days: float) -> str:
    return (AS_OF - timedelta(days=days)).date().isoformat()


def grade(base: str, *events: Event) -> Dynamic:
    return apply(base, events, AS_OF, RULES)


# --- Each default rule on its own from GREEN -----------------------------------------------------


def test_no_events_keeps_the_base() -> None:
    for base in ("GREEN", "AMBER", "RED"):
        assert grade(base) == Dynamic(base, (), ())


def test_confirmed_hit_is_red() -> None:
    result = grade("GREEN", ago(5, "HIT_CONFIRMED"))
    assert result.rag == "RED"
    assert result.raised_by == (f"confirmed GPS crime hit on {day(5)}",)


@pytest.mark.parametrize("type_", ["ARRESTED", "CHARGED"])
@pytest.mark.parametrize("offence", NEIGHBOURHOOD)
def test_arrest_or_charge_for_a_neighbourhood_crime_is_red(type_: str, offence: str) -> None:
    result = grade("GREEN", ago(3, type_, offence))
    assert result.rag == "RED"
    words = offence.lower().replace("_", " ")
    assert result.raised_by == (f"{type_.lower()} for a neighbourhood crime ({words}) on {day(3)}",)


@pytest.mark.parametrize("type_", ["ARRESTED", "CHARGED"])
@pytest.mark.parametrize("offence", ["VIOLENCE", "FRAUD_FORGERY", None])
def test_arrest_or_charge_for_other_crime_leaves_green(type_: str, offence: str | None) -> None:
    assert grade("GREEN", ago(3, type_, offence)) == Dynamic("GREEN", (), ())


def test_recall_is_red() -> None:
    result = grade("GREEN", ago(1, "RECALLED"))
    assert result.rag == "RED"
    assert result.raised_by == (f"recalled to prison on {day(1)}",)


@pytest.mark.parametrize("type_", sorted(STEP_UP))
def test_step_up_events_give_amber(type_: str) -> None:
    result = grade("GREEN", ago(10, type_))
    assert result.rag == "AMBER"
    assert result.raised_by == (STEP_UP[type_].format(date=day(10)),)


@pytest.mark.parametrize("type_", sorted(STEP_UP))
def test_step_up_from_amber_gives_red(type_: str) -> None:
    assert grade("AMBER", ago(10, type_)).rag == "RED"


def test_one_missed_appointment_stays_green() -> None:
    assert grade("GREEN", ago(5, "APPOINTMENT_MISSED")).rag == "GREEN"


def test_two_missed_appointments_within_28_days_give_amber() -> None:
    result = grade("GREEN", ago(20, "APPOINTMENT_MISSED"), ago(5, "APPOINTMENT_MISSED"))
    assert result.rag == "AMBER"
    assert result.raised_by == (f"2 missed appointments within 28 days, the latest on {day(5)}",)


def test_two_missed_appointments_30_days_apart_stay_green() -> None:
    assert (
        grade("GREEN", ago(35, "APPOINTMENT_MISSED"), ago(5, "APPOINTMENT_MISSED")).rag == "GREEN"
    )


def test_gps_hit_unconfirmed_and_other_events_do_not_move_the_grade() -> None:
    for type_ in ("GPS_HIT", "APPOINTMENT_ATTENDED", "OTHER", "SENTENCED_COMMUNITY"):
        assert grade("GREEN", ago(2, type_)).rag == "GREEN"


# --- Protective events ---------------------------------------------------------------------------


@pytest.mark.parametrize("raising", ["RECALLED", "BREACH_RAISED"])
@pytest.mark.parametrize("protective", PROTECTIVE)
def test_protective_events_never_lower_a_recent_raise(raising: str, protective: str) -> None:
    raised = grade("GREEN", ago(20, raising))
    result = grade("GREEN", ago(20, raising), ago(10, protective), ago(2, protective))
    assert raised.rag in ("AMBER", "RED")
    assert result.rag == raised.rag
    assert result.raised_by == raised.raised_by
    words = protective.lower().replace("_", " ")
    assert f"protective: {words} on {day(2)} (does not lower the grade on its own)" in (
        result.notes
    )


@pytest.mark.parametrize("base", ["GREEN", "AMBER", "RED"])
def test_protective_events_alone_keep_the_base(base: str) -> None:
    result = grade(base, *(ago(3 + i, t) for i, t in enumerate(PROTECTIVE)))
    assert result.rag == base
    assert result.raised_by == ()


def test_old_protective_events_are_not_mentioned() -> None:
    assert grade("GREEN", ago(40, "EMPLOYMENT_STARTED")).notes == ()


# --- Stepping down -------------------------------------------------------------------------------


def test_raise_27_days_ago_still_holds() -> None:
    assert grade("GREEN", ago(27, "RECALLED")).rag == "RED"
    assert grade("GREEN", ago(27.99, "BREACH_RAISED")).rag == "AMBER"


def test_raise_28_days_ago_steps_down_one_level() -> None:
    result = grade("GREEN", ago(28, "RECALLED"))
    assert result.rag == "AMBER"
    assert result.raised_by == (f"recalled to prison on {day(28)}",)
    assert result.notes[0].startswith(
        "stepped down from RED to AMBER: no raising event for 28 days"
    )
    assert grade("GREEN", ago(28, "BREACH_RAISED")).rag == "GREEN"


@pytest.mark.parametrize(
    ("days", "rag"),
    [(0, "RED"), (27, "RED"), (28, "AMBER"), (55, "AMBER"), (56, "GREEN"), (200, "GREEN")],
)
def test_red_steps_down_per_28_quiet_days(days: int, rag: str) -> None:
    assert grade("GREEN", ago(days, "HIT_CONFIRMED")).rag == rag


def test_fully_stepped_down_grade_has_no_raised_by() -> None:
    result = grade("GREEN", ago(56, "RECALLED"))
    assert result.raised_by == ()
    assert result.notes[0].startswith("stepped down from RED to GREEN")


@pytest.mark.parametrize("days", [28, 56, 100])
def test_never_below_the_static_base(days: int) -> None:
    assert grade("AMBER", ago(days, "RECALLED")).rag == "AMBER"
    assert grade("AMBER", ago(days, "BREACH_RAISED")).rag == "AMBER"
    assert grade("RED", ago(days, "BREACH_RAISED")).rag == "RED"


def test_a_new_raise_restarts_the_quiet_period() -> None:
    # RED 40 days ago had stepped down to AMBER by 20 days ago; a breach then steps it to RED.
    result = grade("GREEN", ago(40, "RECALLED"), ago(20, "BREACH_RAISED"))
    assert result.rag == "RED"
    assert result.raised_by == (f"breach raised on {day(20)}",)


# --- Combining events ----------------------------------------------------------------------------


def test_two_step_ups_10_days_apart_give_red() -> None:
    result = grade("GREEN", ago(15, "DRUG_TEST_POSITIVE"), ago(5, "BREACH_RAISED"))
    assert result.rag == "RED"
    assert result.raised_by == (f"breach raised on {day(5)}", f"positive drug test on {day(15)}")


def test_one_event_moves_the_grade_once() -> None:
    # A confirmed hit and a recall at the same moment still only set RED; a single step-up
    # event from GREEN gives AMBER, not RED, even with every step-up rule in view.
    assert grade("GREEN", ago(3, "DRUG_TEST_POSITIVE")).rag == "AMBER"
    same_time = grade("GREEN", ago(3, "HIT_CONFIRMED"), ago(3, "RECALLED"))
    assert same_time.rag == "RED"
    assert set(same_time.raised_by) == {
        f"confirmed GPS crime hit on {day(3)}",
        f"recalled to prison on {day(3)}",
    }


def test_events_after_as_of_are_ignored() -> None:
    assert grade("GREEN", ago(-1, "RECALLED"), ago(-0.001, "BREACH_RAISED")) == Dynamic(
        "GREEN", (), ()
    )
    assert grade("GREEN", ago(0, "RECALLED")).rag == "RED"  # exactly at as_of counts


def test_reasons_are_plain_words_with_the_date() -> None:
    result = apply(
        "GREEN",
        [Event("d1", "DRUG_TEST_POSITIVE", datetime(2026, 11, 2, 9, 30, tzinfo=UTC))],
        AS_OF,
        RULES,
    )
    assert result.raised_by == ("positive drug test on 2026-11-02",)


def test_most_recent_raising_reason_first() -> None:
    result = grade(
        "GREEN", ago(25, "ACCOMMODATION_LOST"), ago(12, "RECALLED"), ago(4, "INTELLIGENCE_RECEIVED")
    )
    assert result.rag == "RED"
    assert result.raised_by == (
        f"intelligence received on {day(4)}",
        f"recalled to prison on {day(12)}",
        f"accommodation lost on {day(25)}",
    )


def test_recent_events_on_a_red_base_are_noted_not_raising() -> None:
    result = grade("RED", ago(4, "BREACH_RAISED"))
    assert result.rag == "RED"
    assert result.raised_by == ()
    assert f"also within 28 days: breach raised on {day(4)}" in result.notes


# --- Properties ----------------------------------------------------------------------------------

TYPES = [
    "HIT_CONFIRMED",
    "ARRESTED",
    "CHARGED",
    "RECALLED",
    "BREACH_RAISED",
    "DRUG_TEST_POSITIVE",
    "ACCOMMODATION_LOST",
    "APPOINTMENT_MISSED",
    "ZONE_BREACH",
    "INTELLIGENCE_RECEIVED",
    "GPS_HIT",
    "OTHER",
    *PROTECTIVE,
]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(0, 12))
    events = []
    for i in range(n):
        type_ = draw(st.sampled_from(TYPES))
        offence = draw(st.sampled_from([None, "VIOLENCE", *NEIGHBOURHOOD]))
        hours = draw(st.integers(-48, 130 * 24))
        events.append(Event(f"h{i}", type_, AS_OF - timedelta(hours=hours), offence))
    return events


BASES = st.sampled_from(["GREEN", "AMBER", "RED"])


@settings(max_examples=200, deadline=None)
@given(base=BASES, data=st.data(), history=histories())
def test_any_permutation_gives_the_same_dynamic(
    base: str, data: st.DataObject, history: list[Event]
) -> None:
    shuffled = data.draw(st.permutations(history))
    assert apply(base, shuffled, AS_OF, RULES) == apply(base, history, AS_OF, RULES)


@settings(max_examples=200, deadline=None)
@given(base=BASES, history=histories())
def test_never_below_base_and_raised_by_explains_any_raise(base: str, history: list[Event]) -> None:
    result = apply(base, history, AS_OF, RULES)
    order = ["GREEN", "AMBER", "RED"]
    assert order.index(result.rag) >= order.index(base)
    assert bool(result.raised_by) == (result.rag != base)


@settings(max_examples=200, deadline=None)
@given(
    base=BASES,
    history=histories(),
    extra=st.lists(st.tuples(st.sampled_from(PROTECTIVE), st.integers(-48, 130 * 24)), max_size=5),
)
def test_protective_events_never_change_the_grade(
    base: str, history: list[Event], extra: list[tuple[str, int]]
) -> None:
    protective = [Event(f"p{i}", t, AS_OF - timedelta(hours=h)) for i, (t, h) in enumerate(extra)]
    with_protective = apply(base, history + protective, AS_OF, RULES)
    without = apply(base, history, AS_OF, RULES)
    assert with_protective.rag == without.rag
    assert with_protective.raised_by == without.raised_by
