"""Unit tests for services.referrals.case.lifecycle: reviews, transition, de-registration, MAP pack.

Every date rule is tested on the day before, the day of and (where it matters) the day after
its threshold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import ROOT
from services.referrals.case.lifecycle import (
    LIFECYCLE_EVENTS,
    OFFENDER_EVENT_TYPES,
    PANEL_ACCEPTED,
    REFERRAL_RECEIVED,
    TICK,
    Action,
    ActionKind,
    Case,
    CaseState,
    CohortMember,
    GradeChange,
    Incident,
    InvalidTransition,
    apply,
    can_apply,
    licence_passed,
    map_pack_changes,
    overdue,
    review_due,
    transition_opens,
)

SCHEMAS = ROOT / "schemas"
DAY = timedelta(days=1)

LICENCE_END = date(2025, 6, 30)
OPENS = date(2025, 5, 5)  # 30 June 2025 - 56 days, worked by hand


def case(state: CaseState = CaseState.REGISTERED, **kw: object) -> Case:
    base: dict[str, object] = {
        "person_id": "P1",
        "state": state,
        "cohort": "FIXED",
        "pathway": "CATCH_AND_CONTROL",
        "lead_officer": "PC 1234 Smith",
        "licence_end": LICENCE_END,
    }
    base.update(kw)
    return Case(**base)  # type: ignore[arg-type]


def changes(actions: list[Action]) -> list[dict[str, object]]:
    return [a.cohort_change for a in actions if a.cohort_change is not None]


# --- Reviews ---------------------------------------------------------------------------------


REG = date(2025, 1, 10)


def test_first_review_due_28_days_from_registration() -> None:
    assert review_due(None, REG, "AMBER", REG) == date(2025, 2, 7)
    assert review_due(None, REG, "GREEN", REG) == date(2025, 2, 7)
    assert review_due(None, REG, None, REG) == date(2025, 2, 7)  # ungraded: normal cadence


def test_first_review_due_14_days_from_registration_while_red() -> None:
    assert review_due(None, REG, "RED", REG) == date(2025, 1, 24)


def test_review_counts_from_last_review() -> None:
    last = date(2025, 3, 1)
    assert review_due(last, REG, "AMBER", date(2025, 3, 5)) == date(2025, 3, 29)
    assert review_due(last, REG, "RED", date(2025, 3, 5)) == date(2025, 3, 15)


def test_a_review_before_the_current_registration_is_ignored() -> None:
    # Re-registered: the old registration's review does not start the new cadence.
    assert review_due(date(2024, 12, 1), REG, "AMBER", REG) == REG + 28 * DAY


def test_review_on_registration_day_counts() -> None:
    assert review_due(REG, REG, "AMBER", REG) == REG + 28 * DAY


@pytest.mark.parametrize(("rag", "days"), [("AMBER", 28), ("GREEN", 28), (None, 28), ("RED", 14)])
def test_overdue_only_from_the_day_after_due(rag: str | None, days: int) -> None:
    due = REG + days * DAY
    assert not overdue(None, REG, rag, due - DAY)
    assert not overdue(None, REG, rag, due)
    assert overdue(None, REG, rag, due + DAY)


def test_cadence_switches_when_graded_red() -> None:
    last = date(2025, 3, 1)
    today = date(2025, 3, 20)  # 19 days after the last review
    assert not overdue(last, REG, "AMBER", today)
    assert overdue(last, REG, "RED", today)  # turning RED makes the review due at once
    # ...and back to 28 days once no longer RED
    assert not overdue(last, REG, "GREEN", today)


def test_review_settings_are_honoured() -> None:
    assert review_due(None, REG, "RED", REG, red_review_days=7) == REG + 7 * DAY
    assert review_due(None, REG, "AMBER", REG, review_days=30) == REG + 30 * DAY


def test_review_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="rag"):
        review_due(None, REG, "PURPLE", REG)
    with pytest.raises(ValueError, match="registered_on"):
        review_due(None, REG, "RED", REG - DAY)
    with pytest.raises(ValueError, match="last_review"):
        review_due(REG + 2 * DAY, REG, "RED", REG + DAY)


# --- Transition opening ----------------------------------------------------------------------


def test_transition_opens_8_weeks_before_licence_end() -> None:
    assert transition_opens(LICENCE_END) == OPENS
    assert LICENCE_END - OPENS == timedelta(days=56)
    assert transition_opens(LICENCE_END, weeks=4) == LICENCE_END - 28 * DAY
    assert transition_opens(None) is None
    with pytest.raises(ValueError, match="weeks"):
        transition_opens(LICENCE_END, weeks=-1)


def test_licence_passed_from_the_day_after_the_end_date() -> None:
    assert not licence_passed(LICENCE_END, LICENCE_END - DAY)
    assert not licence_passed(LICENCE_END, LICENCE_END)
    assert licence_passed(LICENCE_END, LICENCE_END + DAY)
    assert not licence_passed(None, LICENCE_END + DAY)


def test_tick_the_day_before_transition_opens_changes_nothing() -> None:
    assert apply(case(), TICK, OPENS - DAY) == (case(), [])


def test_tick_on_the_day_transition_opens_starts_it() -> None:
    new, actions = apply(case(), TICK, OPENS)
    assert new.state is CaseState.TRANSITION
    [change] = changes(actions)
    assert change == with_id({
        "person_id": "P1",
        "change": "TRANSITION_STARTED",
        "cohort": "FIXED",
        "pathway": "CATCH_AND_CONTROL",
        "lead_officer": "PC 1234 Smith",
        "reason": change["reason"],
        "effective_at": datetime(2025, 5, 5, tzinfo=UTC),
    })
    assert "8 weeks" in str(change["reason"]) and "2025-06-30" in str(change["reason"])
    assert actions[0].kind is ActionKind.COHORT_CHANGE


def test_transition_weeks_is_a_setting() -> None:
    opens = LICENCE_END - 4 * 7 * DAY
    assert apply(case(), TICK, opens - DAY, transition_weeks=4)[0].state is CaseState.REGISTERED
    assert apply(case(), TICK, opens, transition_weeks=4)[0].state is CaseState.TRANSITION


def test_registered_inside_the_window_opens_transition_on_the_next_tick() -> None:
    new, actions = apply(case(), TICK, LICENCE_END)  # last day on licence
    assert new.state is CaseState.TRANSITION
    assert [c["change"] for c in changes(actions)] == ["TRANSITION_STARTED"]


def test_tick_in_transition_is_quiet_until_the_licence_end_has_passed() -> None:
    c = case(CaseState.TRANSITION)
    assert apply(c, TICK, OPENS + DAY) == (c, [])
    assert apply(c, TICK, LICENCE_END) == (c, [])


def test_licence_end_date_passing_deregisters_with_rationale() -> None:
    new, actions = apply(case(CaseState.TRANSITION), TICK, LICENCE_END + DAY)
    assert new.state is CaseState.DEREGISTERED
    [change] = changes(actions)
    assert change["change"] == "DEREGISTERED"
    assert change["cohort"] == "FIXED"  # the cohort left
    assert "2025-06-30" in str(change["reason"]) and "completed" in str(change["reason"])
    assert change["effective_at"] == datetime(2025, 7, 1, tzinfo=UTC)


def test_missed_timers_deregister_directly_without_a_transition() -> None:
    new, actions = apply(case(), TICK, LICENCE_END + 10 * DAY)
    assert new.state is CaseState.DEREGISTERED
    assert [c["change"] for c in changes(actions)] == ["DEREGISTERED"]


def test_tick_without_a_licence_end_does_nothing() -> None:
    c = case(licence_end=None)
    assert apply(c, TICK, date(2030, 1, 1)) == (c, [])


@pytest.mark.parametrize("state", [CaseState.REFERRED, CaseState.SUSPENDED, CaseState.DEREGISTERED])
def test_tick_never_moves_cases_outside_management(state: CaseState) -> None:
    c = case(state)
    assert apply(c, TICK, LICENCE_END + DAY) == (c, [])
    assert apply(c, TICK, OPENS) == (c, [])


# --- Events ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [CaseState.REGISTERED, CaseState.TRANSITION, CaseState.SUSPENDED])
def test_licence_ended_deregisters_with_rationale(state: CaseState) -> None:
    today = date(2025, 6, 2)  # before the recorded end date: the event wins
    new, actions = apply(case(state), "LICENCE_ENDED", today, rationale="engaged with the plan")
    assert new.state is CaseState.DEREGISTERED
    [action] = actions
    assert action.kind is ActionKind.COHORT_CHANGE
    assert action.cohort_change is not None
    assert action.cohort_change["change"] == "DEREGISTERED"
    reason = str(action.cohort_change["reason"])
    assert "LICENCE_ENDED" in reason and "engaged with the plan" in reason


@pytest.mark.parametrize("event", ["SENTENCED_CUSTODY", "RECALLED"])
@pytest.mark.parametrize("state", [CaseState.REGISTERED, CaseState.TRANSITION])
def test_imprisoned_again_suspends(state: CaseState, event: str) -> None:
    today = date(2025, 4, 1)
    new, actions = apply(case(state), event, today)
    assert new.state is CaseState.SUSPENDED
    assert new.suspended_on == today
    assert changes(actions) == []  # suspension is not a contract CohortChange kind
    assert [a.kind for a in actions] == [ActionKind.REPORT_NOTE]
    assert event in actions[0].message


def test_sentenced_while_recalled_stays_suspended() -> None:
    suspended, _ = apply(case(), "RECALLED", date(2025, 4, 1))
    new, actions = apply(suspended, "SENTENCED_CUSTODY", date(2025, 4, 20))
    assert new == suspended
    assert changes(actions) == []
    assert [a.kind for a in actions] == [ActionKind.REPORT_NOTE]


def test_release_while_suspended_prompts_a_new_referral_once() -> None:
    suspended, _ = apply(case(), "SENTENCED_CUSTODY", date(2025, 4, 1))
    new_end = date(2026, 3, 31)
    released, actions = apply(
        suspended, "RELEASED_ON_LICENCE", date(2025, 9, 1), licence_end=new_end
    )
    assert released.state is CaseState.SUSPENDED  # re-registration needs the panel
    assert released.licence_end == new_end
    assert released.released_on == date(2025, 9, 1)
    [prompt] = actions
    assert prompt.kind is ActionKind.NEW_REFERRAL_PROMPT
    assert prompt.message.startswith("offer further support: new referral prompt")
    # The same release delivered again does not prompt again.
    again, repeat = apply(released, "RELEASED_ON_LICENCE", date(2025, 9, 1))
    assert (again, repeat) == (released, [])
    # Imprisoned again and released again: a new prompt.
    back, _ = apply(released, "RECALLED", date(2025, 10, 1))
    assert back.released_on is None
    _, prompt_again = apply(back, "RELEASED_ON_LICENCE", date(2025, 11, 1))
    assert [a.kind for a in prompt_again] == [ActionKind.NEW_REFERRAL_PROMPT]


def test_suspended_case_referred_again_then_accepted() -> None:
    suspended = case(CaseState.SUSPENDED)
    referred, _ = apply(suspended, REFERRAL_RECEIVED, date(2025, 9, 2))
    assert referred.state is CaseState.REFERRED
    registered, actions = apply(referred, PANEL_ACCEPTED, date(2025, 9, 9))
    assert registered.state is CaseState.REGISTERED
    assert changes(actions) == []  # the panel decision publisher writes REGISTERED


def test_release_while_registered_sets_the_new_licence() -> None:
    # Registered in custody ahead of release: the case carries on with the new licence.
    new, actions = apply(
        case(licence_end=None), "RELEASED_ON_LICENCE", REG, licence_end=LICENCE_END
    )
    assert new.state is CaseState.REGISTERED
    assert new.licence_end == LICENCE_END
    assert changes(actions) == []


@pytest.mark.parametrize("state", list(CaseState))
@pytest.mark.parametrize("event", ["ARRESTED", "DRUG_TEST_POSITIVE", "HIT_CONFIRMED", "OTHER"])
def test_events_that_do_not_move_the_lifecycle_change_nothing(state: CaseState, event: str) -> None:
    c = case(state)
    assert apply(c, event, REG) == (c, [])


@pytest.mark.parametrize(
    ("state", "event", "why"),
    [
        (CaseState.DEREGISTERED, "LICENCE_ENDED", "closed"),
        (CaseState.DEREGISTERED, "SENTENCED_CUSTODY", "closed"),
        (CaseState.DEREGISTERED, "RELEASED_ON_LICENCE", "closed"),
        (CaseState.DEREGISTERED, PANEL_ACCEPTED, "closed"),
        (CaseState.DEREGISTERED, REFERRAL_RECEIVED, "closed"),
        (CaseState.REFERRED, "LICENCE_ENDED", "not registered"),
        (CaseState.REFERRED, "SENTENCED_CUSTODY", "not registered"),
        (CaseState.REFERRED, "RECALLED", "not registered"),
        (CaseState.REFERRED, "RELEASED_ON_LICENCE", "not registered"),
        (CaseState.REFERRED, REFERRAL_RECEIVED, "suspended"),
        (CaseState.REGISTERED, PANEL_ACCEPTED, "only a referred"),
        (CaseState.TRANSITION, PANEL_ACCEPTED, "only a referred"),
        (CaseState.SUSPENDED, PANEL_ACCEPTED, "only a referred"),
        (CaseState.REGISTERED, REFERRAL_RECEIVED, "suspended"),
        (CaseState.TRANSITION, REFERRAL_RECEIVED, "suspended"),
        (CaseState.TRANSITION, "RELEASED_ON_LICENCE", "already in the community"),
    ],
)
def test_invalid_transitions_raise_a_clear_message(state: CaseState, event: str, why: str) -> None:
    with pytest.raises(InvalidTransition) as raised:
        apply(case(state), event, REG)
    message = str(raised.value)
    assert "P1" in message and str(state) in message and event in message and why in message
    assert raised.value.state is state and raised.value.event == event
    assert not can_apply(state, event)


def test_unknown_event_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown event type 'LICENSE_ENDED'"):
        apply(case(), "LICENSE_ENDED", REG)


@given(
    st.sampled_from(list(CaseState)),
    st.sampled_from(sorted(OFFENDER_EVENT_TYPES | LIFECYCLE_EVENTS)),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
)
def test_can_apply_agrees_with_apply(state: CaseState, event: str, today: date) -> None:
    try:
        apply(case(state), event, today)
    except InvalidTransition:
        assert not can_apply(state, event)
    else:
        assert can_apply(state, event)


def test_cohort_changes_encode_with_the_contract_schema() -> None:
    codec = Codec(SchemaRegistry(SCHEMAS))
    produced = [
        *changes(apply(case(), TICK, OPENS)[1]),
        *changes(apply(case(), TICK, LICENCE_END + DAY)[1]),
        *changes(apply(case(pathway=None, lead_officer=None), "LICENCE_ENDED", REG)[1]),
    ]
    assert [c["change"] for c in produced] == [
        "TRANSITION_STARTED",
        "DEREGISTERED",
        "DEREGISTERED",
    ]
    for change in produced:
        decoded = codec.decode(codec.encode("CohortChange", change), expect="CohortChange")
        assert decoded.value == change


def test_full_lifecycle_registration_to_deregistration() -> None:
    c = case(CaseState.REFERRED)
    c, _ = apply(c, PANEL_ACCEPTED, REG)
    published: list[tuple[str, date]] = []
    day = REG
    while c.state is not CaseState.DEREGISTERED:
        c, actions = apply(c, TICK, day)
        published += [(str(x["change"]), day) for x in changes(actions)]
        day += DAY
    assert published == [("TRANSITION_STARTED", OPENS), ("DEREGISTERED", LICENCE_END + DAY)]


# --- MAP pack --------------------------------------------------------------------------------

PREV = date(2025, 3, 3)  # Monday
TODAY = date(2025, 3, 10)  # next Monday


def member(person_id: str, **kw: object) -> CohortMember:
    base: dict[str, object] = {
        "person_id": person_id,
        "force": "Hampshire",
        "state": CaseState.REGISTERED,
        "registered_on": date(2025, 1, 6),
        "rag": "AMBER",
        "last_review": date(2025, 3, 1),
    }
    base.update(kw)
    return CohortMember(**base)  # type: ignore[arg-type]


def test_map_pack_window_is_inclusive_of_both_meeting_days() -> None:
    members = [member("A"), member("B"), member("C"), member("D")]
    hits = [
        Incident("A", "h-before", "CR1", PREV - DAY),
        Incident("A", "h-prev", "CR2", PREV),
        Incident("B", "h-today", "CR3", TODAY),
        Incident("C", "h-after", "CR4", TODAY + DAY),
    ]
    pack = map_pack_changes(PREV, TODAY, members, hits=hits)
    assert [h.incident_id for h in pack.hits] == ["h-prev", "h-today"]
    assert (pack.since, pack.until) == (PREV, TODAY)


def test_map_pack_new_reds_only_changes_to_red_in_the_window() -> None:
    members = [member(p) for p in "ABCDE"]
    grades = [
        GradeChange("A", "RED", "AMBER", PREV + DAY),
        GradeChange("B", "RED", None, TODAY),  # first grade RED counts as new
        GradeChange("C", "RED", "RED", TODAY),  # re-graded, not new
        GradeChange("D", "AMBER", "RED", TODAY),  # no longer RED
        GradeChange("E", "RED", "GREEN", PREV - DAY),  # before the window
        GradeChange("X", "RED", "AMBER", TODAY),  # not on the cohort
        GradeChange("A", "RED", "GREEN", PREV + 2 * DAY),  # latest kept
    ]
    pack = map_pack_changes(PREV, TODAY, members, grade_changes=grades)
    assert [(g.person_id, g.graded_on) for g in pack.new_reds] == [
        ("A", PREV + 2 * DAY),
        ("B", TODAY),
    ]


def test_map_pack_hits_and_breaches_for_the_cohort_only() -> None:
    members = [member("A"), member("Z", state=CaseState.DEREGISTERED)]
    pack = map_pack_changes(
        PREV,
        TODAY,
        members,
        hits=[Incident("A", "h1", "CR1", TODAY), Incident("Z", "h2", "CR2", TODAY)],
        breaches=[Incident("A", "b1", "ZONE1", PREV), Incident("Q", "b2", "ZONE2", TODAY)],
    )
    assert [h.incident_id for h in pack.hits] == ["h1"]
    assert [b.incident_id for b in pack.breaches] == ["b1"]


def test_map_pack_new_registrations() -> None:
    members = [
        member("before", registered_on=PREV - DAY),
        member("prev", registered_on=PREV, last_review=None),
        member("today", registered_on=TODAY, last_review=None),
        member("referred", registered_on=TODAY, state=CaseState.REFERRED, last_review=None),
    ]
    pack = map_pack_changes(PREV, TODAY, members)
    assert [m.person_id for m in pack.new_registrations] == ["prev", "today"]


def test_map_pack_licences_ending_in_the_next_8_weeks() -> None:
    horizon = TODAY + 56 * DAY
    members = [
        member("ended", licence_end=TODAY - DAY),
        member("today", licence_end=TODAY),
        member("edge", licence_end=horizon),  # its transition opens today
        member("beyond", licence_end=horizon + DAY),
        member("unknown", licence_end=None),
    ]
    pack = map_pack_changes(PREV, TODAY, members)
    assert [m.person_id for m in pack.licences_ending] == ["today", "edge"]
    assert transition_opens(horizon) == TODAY


def test_map_pack_overdue_reviews() -> None:
    members = [
        member("amber-due-today", last_review=TODAY - 28 * DAY),
        member("amber-late", last_review=TODAY - 29 * DAY),
        member("red-late", rag="RED", last_review=TODAY - 15 * DAY),
        member("red-due-today", rag="RED", last_review=TODAY - 14 * DAY),
        member("never-reviewed", last_review=None, registered_on=TODAY - 40 * DAY),
    ]
    pack = map_pack_changes(PREV, TODAY, members)
    assert [m.person_id for m in pack.overdue_reviews] == [
        "red-late",
        "never-reviewed",
        "amber-late",
    ]


def test_map_pack_is_ordered_by_force_then_grade() -> None:
    members = [
        member("g", force="Hampshire", rag="GREEN"),
        member("r", force="Hampshire", rag="RED"),
        member("n", force="Hampshire", rag=None),
        member("w", force="Isle of Wight", rag="RED"),
        member("a", force="Hampshire", rag="AMBER"),
    ]
    hits = [Incident(m.person_id, f"h-{m.person_id}", "CR", TODAY) for m in members]
    pack = map_pack_changes(PREV, TODAY, members, hits=hits)
    assert [h.person_id for h in pack.hits] == ["r", "a", "g", "n", "w"]


def test_map_pack_rejects_a_previous_meeting_after_today() -> None:
    with pytest.raises(ValueError, match="previous_meeting"):
        map_pack_changes(TODAY + DAY, TODAY, [])


def with_id(change: dict) -> dict:
    """A CohortChange as published: with its deterministic change_id."""
    from services.referrals.case.lifecycle import change_id
    return {**change, "change_id": change_id(change)}
