"""Unit tests for services.referrals.case.panel: panel dates, routing, agenda and decisions."""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import ROOT
from services.referrals.case.eligibility import Assessment
from services.referrals.case.panel import (
    OUT_OF_CYCLE,
    DecisionError,
    PanelRule,
    PanelRuleError,
    agenda,
    decide,
    decision_id,
    next_panel,
    panel_dates,
    parse_rule,
    route,
    uk_local_date,
)

DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def oracle(ordinal: int, weekday: int, year: int, month: int) -> date:
    """Brute force: list the month's days with that weekday and pick one."""
    days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    matching = [day for day in days if day.weekday() == weekday]
    return matching[-1] if ordinal == -1 else matching[ordinal - 1]


# --- panel date rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "year", "month", "expected"),
    [
        ("first Tuesday", 2027, 1, date(2027, 1, 5)),
        ("first Tuesday", 2026, 12, date(2026, 12, 1)),
        ("second Thursday", 2026, 10, date(2026, 10, 8)),
        ("second Wednesday", 2026, 10, date(2026, 10, 14)),
        ("last Thursday", 2028, 2, date(2028, 2, 24)),
        ("last Tuesday", 2028, 2, date(2028, 2, 29)),  # leap day
        ("last Tuesday", 2027, 2, date(2027, 2, 23)),
        ("last Sunday", 2027, 2, date(2027, 2, 28)),
        ("fourth Tuesday", 2028, 2, date(2028, 2, 22)),
        ("last Monday", 2024, 2, date(2024, 2, 26)),
        ("last Thursday", 2024, 2, date(2024, 2, 29)),  # leap day
        ("first Monday", 2100, 3, date(2100, 3, 1)),  # 2100 is not a leap year
    ],
)
def test_known_panel_dates(rule, year, month, expected):
    month_end = date(year, month, calendar.monthrange(year, month)[1])
    assert panel_dates(rule, date(year, month, 1), month_end) == (expected,)
    assert parse_rule(rule).date_in(year, month) == expected


@pytest.mark.parametrize("ordinal", list(ORDINALS))
@pytest.mark.parametrize("weekday", range(7))
def test_every_rule_matches_brute_force_over_five_years(ordinal, weekday):
    rule = f"{ordinal} {DAY_NAMES[weekday]}"
    expected = tuple(oracle(ORDINALS[ordinal], weekday, year, month)
                     for year in range(2026, 2031) for month in range(1, 13))

    assert panel_dates(rule, date(2026, 1, 1), date(2030, 12, 31)) == expected


def test_panel_dates_cross_a_year_end_and_bounds_are_inclusive():
    assert panel_dates("first Tuesday", date(2026, 12, 1), date(2027, 2, 2)) == (
        date(2026, 12, 1), date(2027, 1, 5), date(2027, 2, 2))
    assert panel_dates("first Tuesday", date(2026, 12, 2), date(2027, 2, 1)) == (
        date(2027, 1, 5),)
    assert panel_dates("first Tuesday", date(2027, 1, 6), date(2027, 2, 1)) == ()


def test_panel_dates_over_a_leap_february():
    assert panel_dates("last Tuesday", date(2028, 1, 1), date(2028, 3, 31)) == (
        date(2028, 1, 25), date(2028, 2, 29), date(2028, 3, 28))


@pytest.mark.parametrize(
    ("rule", "after", "expected"),
    [
        ("first Tuesday", date(2026, 12, 31), date(2027, 1, 5)),
        ("first Tuesday", date(2026, 12, 1), date(2027, 1, 5)),  # panel day: the next one
        ("first Tuesday", date(2026, 11, 30), date(2026, 12, 1)),
        ("last Thursday", date(2028, 2, 1), date(2028, 2, 24)),
        ("last Tuesday", date(2028, 2, 28), date(2028, 2, 29)),
        ("last Tuesday", date(2028, 2, 29), date(2028, 3, 28)),
        ("second Wednesday", date(2027, 12, 8), date(2028, 1, 12)),
    ],
)
def test_next_panel_is_strictly_after(rule, after, expected):
    assert next_panel(rule, after) == expected


@given(ordinal=st.sampled_from(list(ORDINALS)), weekday=st.integers(0, 6),
       after=st.dates(date(1990, 1, 1), date(2200, 12, 1)))
def test_next_panel_is_the_first_panel_date_after(ordinal, weekday, after):
    rule = f"{ordinal} {DAY_NAMES[weekday]}"
    found = next_panel(rule, after)

    assert found > after
    assert found.weekday() == weekday
    assert panel_dates(rule, after + timedelta(days=1), found) == (found,)


@pytest.mark.parametrize(
    "text",
    ["first Tuesday", "First tuesday", "  LAST   THURSDAY ", "2nd Wed", "last thu",
     "first Tuesday of the month", "third friday of each month", "4th Sunday"],
)
def test_rule_spellings_that_are_understood(text):
    rule = parse_rule(text)

    assert isinstance(rule, PanelRule)
    assert parse_rule(rule) is rule


def test_a_parsed_rule_means_what_it_says():
    assert parse_rule("2nd Wed") == PanelRule(2, 2, "2nd Wed")
    assert parse_rule("last Sunday of the month").ordinal == -1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fifth Monday", "does not occur in every month"),
        ("5th Friday", "does not occur in every month"),
        ("first Tuesday and third Tuesday", "not understood"),
        ("Tuesday", "not understood"),
        ("", "not understood"),
        ("every Tuesday", "unknown position 'every'"),
        ("first Tusday", "unknown weekday 'Tusday'"),
        ("monthly", "not understood"),
        ("the first Tuesday", "not understood"),
        ("1 Tuesday", "unknown position '1'"),
    ],
)
def test_rules_that_are_refused_say_why(text, problem):
    with pytest.raises(PanelRuleError) as refused:
        panel_dates(text, date(2027, 1, 1), date(2027, 12, 31))

    assert problem in str(refused.value)
    assert repr(text) in str(refused.value)
    assert "e.g. 'first Tuesday'" in str(refused.value)
    assert refused.value.rule == text


def test_a_rule_that_is_not_text_is_refused():
    with pytest.raises(PanelRuleError, match="must be text"):
        parse_rule(3)  # type: ignore[arg-type]


def test_dates_must_be_dates_in_order():
    with pytest.raises(ValueError, match=r"^end"):
        panel_dates("first Tuesday", date(2027, 2, 1), date(2027, 1, 1))
    with pytest.raises(TypeError, match=r"^start"):
        panel_dates("first Tuesday", datetime(2027, 1, 1, tzinfo=UTC), date(2027, 2, 1))
    with pytest.raises(TypeError, match=r"^after"):
        next_panel("first Tuesday", "2027-01-01")  # type: ignore[arg-type]


# --- UK dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), date(2026, 7, 2)),  # BST
        (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), date(2026, 12, 1)),  # GMT
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 28)),  # night before BST
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # last BST night
        (datetime(2026, 7, 1, 23, 30), date(2026, 7, 2)),  # naive: taken as UTC
    ],
)
def test_uk_local_date(moment, expected):
    assert uk_local_date(moment) == expected


@given(st.datetimes(datetime(1997, 1, 1), datetime(2037, 12, 31), timezones=st.just(UTC)))
def test_uk_local_date_agrees_with_the_tz_database(moment):
    assert uk_local_date(moment) == moment.astimezone(ZoneInfo("Europe/London")).date()


# --- routing --------------------------------------------------------------------------------


def referral(referral_id: str = "R-1", person_id: str = "P-1", *, urgent: bool = False,
             submitted: datetime = datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
             cohort: str = "FIXED") -> dict[str, object]:
    return {
        "referral_id": referral_id,
        "person_id": person_id,
        "referring_agency": "Hampshire Constabulary",
        "referrer": "DC J. Marsh",
        "proposed_cohort": cohort,
        "reason": "Repeat burglary on release.",
        "urgent": urgent,
        "index_offence": "Burglary dwelling",
        "submitted_at": submitted,
    }


def test_an_urgent_referral_goes_out_of_cycle_at_once():
    assert route(referral(urgent=True), date(2026, 11, 10), "first Tuesday") == OUT_OF_CYCLE


def test_a_routine_referral_goes_to_the_next_panel():
    assert route(referral(), date(2026, 11, 10), "first Tuesday") == date(2026, 12, 1)
    assert route(referral(), date(2026, 12, 1), "first Tuesday") == date(2027, 1, 5)
    assert route(referral(), date(2026, 12, 31), "last Thursday") == date(2027, 1, 28)


# --- agenda ---------------------------------------------------------------------------------

PANEL = date(2026, 12, 1)


def advice(person_id: str, force: str = "Hampshire", cohort: str | None = "FIXED") -> Assessment:
    return Assessment(person_id=person_id, force=force, cohort=cohort,  # type: ignore[arg-type]
                      reasons=("under statutory supervision",))


def grade(person_id: str, rag: str) -> dict[str, object]:
    return {"person_id": person_id, "rag": rag, "reasons": [f"{rag} because"]}


def ruling(referral_id: str, outcome: str, panel_date: date) -> dict[str, object]:
    return {"decision_id": f"D-{referral_id}-{panel_date}", "referral_id": referral_id,
            "person_id": "P-x", "outcome": outcome, "cohort": "FIXED", "pathway": None,
            "lead_officer": None, "rationale": "r", "panel_date": panel_date,
            "decided_at": datetime.combine(panel_date, datetime.min.time(), UTC)}


def test_agenda_puts_urgent_first_then_by_submission_time():
    referrals = [
        referral("R-late", "P-1", submitted=datetime(2026, 11, 20, tzinfo=UTC)),
        referral("R-urgent-late", "P-2", urgent=True,
                 submitted=datetime(2026, 11, 25, tzinfo=UTC)),
        referral("R-early", "P-3", submitted=datetime(2026, 11, 2, tzinfo=UTC)),
        referral("R-urgent-early", "P-4", urgent=True,
                 submitted=datetime(2026, 11, 5, tzinfo=UTC)),
    ]
    people = {p: advice(p) for p in ("P-1", "P-2", "P-3", "P-4")}
    items = agenda(referrals, [], people, {"P-1": grade("P-1", "RED")}, PANEL)

    assert [item.referral["referral_id"] for item in items] == [
        "R-urgent-early", "R-urgent-late", "R-early", "R-late"]
    by_id = {item.referral["referral_id"]: item for item in items}
    assert by_id["R-late"].rag == "RED"
    assert by_id["R-late"].grade_reasons == ("RED because",)
    assert by_id["R-early"].rag is None
    assert by_id["R-early"].assessment == people["P-3"]


def test_a_tie_on_submission_time_is_broken_by_referral_id():
    same = datetime(2026, 11, 2, tzinfo=UTC)
    items = agenda([referral("R-b", "P-1", submitted=same), referral("R-a", "P-2", submitted=same)],
                   [], {}, {}, PANEL)

    assert [item.referral["referral_id"] for item in items] == ["R-a", "R-b"]


def test_decided_referrals_leave_the_agenda_and_deferred_ones_come_back():
    referrals = [referral("R-acc", "P-1"), referral("R-rej", "P-2"), referral("R-def", "P-3"),
                 referral("R-new", "P-4")]
    decisions = [ruling("R-acc", "ACCEPTED", date(2026, 11, 3)),
                 ruling("R-rej", "REJECTED", date(2026, 11, 3)),
                 ruling("R-def", "DEFERRED", date(2026, 11, 3))]
    items = agenda(referrals, decisions, {}, {}, PANEL)

    assert {item.referral["referral_id"] for item in items} == {"R-def", "R-new"}
    deferred = next(item for item in items if item.referral["referral_id"] == "R-def")
    assert deferred.deferred_on == (date(2026, 11, 3),)


def test_a_referral_deferred_twice_then_accepted_is_gone():
    referrals = [referral("R-1")]
    decisions = [ruling("R-1", "DEFERRED", date(2026, 11, 3)),
                 ruling("R-1", "DEFERRED", PANEL),
                 ruling("R-1", "ACCEPTED", date(2027, 1, 5))]

    assert agenda(referrals, decisions[:2], {}, {}, date(2027, 1, 5))[0].deferred_on == (
        date(2026, 11, 3), PANEL)
    assert agenda(referrals, decisions, {}, {}, date(2027, 2, 2)) == ()


def test_decisions_of_later_panels_do_not_change_an_earlier_agenda():
    referrals = [referral("R-1")]
    decisions = [ruling("R-1", "ACCEPTED", date(2027, 1, 5))]

    assert [i.referral["referral_id"] for i in agenda(referrals, decisions, {}, {}, PANEL)] == [
        "R-1"]


def test_only_referrals_made_before_the_panel_day_are_on_its_agenda():
    referrals = [
        referral("R-eve", "P-1", submitted=datetime(2026, 11, 30, 23, 59, tzinfo=UTC)),
        referral("R-day", "P-2", submitted=datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        referral("R-after", "P-3", submitted=datetime(2026, 12, 5, tzinfo=UTC)),
    ]

    assert [i.referral["referral_id"] for i in agenda(referrals, [], {}, {}, PANEL)] == ["R-eve"]


def test_a_referral_made_late_on_a_summer_evening_counts_from_the_uk_date():
    # 23:30 UTC on 6 July is 00:30 on 7 July in the UK: the panel of 7 July is too soon.
    late = referral("R-1", submitted=datetime(2027, 7, 6, 23, 30, tzinfo=UTC))

    assert agenda([late], [], {}, {}, date(2027, 7, 7)) == ()
    assert len(agenda([late], [], {}, {}, date(2027, 7, 8))) == 1


def test_the_agenda_is_per_force():
    referrals = [referral("R-h", "P-h"), referral("R-k", "P-k"), referral("R-none", "P-none")]
    people = {"P-h": advice("P-h", "Hampshire"), "P-k": advice("P-k", "Kent")}

    hampshire = agenda(referrals, [], people, {}, PANEL, force="hampshire")
    everyone = agenda(referrals, [], people, {}, PANEL)

    assert [i.referral["referral_id"] for i in hampshire] == ["R-h"]
    assert {i.referral["referral_id"] for i in everyone} == {"R-h", "R-k", "R-none"}


def test_a_repeated_referral_record_appears_once():
    items = agenda([referral("R-1"), referral("R-1")], [], {}, {}, PANEL)

    assert len(items) == 1


def test_agenda_needs_a_date():
    with pytest.raises(TypeError, match=r"^panel_date"):
        agenda([], [], {}, {}, datetime(2026, 12, 1, tzinfo=UTC))


# --- decisions ------------------------------------------------------------------------------

DECIDED_AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
CODEC = Codec(SchemaRegistry(ROOT / "schemas"))


def accept(**changes: object):
    values: dict[str, object] = {
        "outcome": "ACCEPTED", "panel_date": PANEL, "decided_at": DECIDED_AT,
        "cohort": "FIXED", "pathway": "CATCH_AND_CONTROL", "lead_officer": "PC A. Patel",
        "rationale": "Meets FIXED criteria.",
    }
    values.update(changes)
    return decide(referral(), **values)  # type: ignore[arg-type]


def test_an_acceptance_gives_the_decision_and_a_registration():
    result = accept()
    expected_id = hashlib.sha256(b"R-1|2026-12-01|ACCEPTED").hexdigest()[:32]

    assert result.decision == {
        "decision_id": expected_id, "referral_id": "R-1", "person_id": "P-1",
        "outcome": "ACCEPTED", "cohort": "FIXED", "pathway": "CATCH_AND_CONTROL",
        "lead_officer": "PC A. Patel", "rationale": "Meets FIXED criteria.",
        "panel_date": PANEL, "decided_at": DECIDED_AT, "chair": None, "agencies_present": [],
    }
    assert result.cohort_change == with_id({
        "person_id": "P-1", "change": "REGISTERED", "cohort": "FIXED",
        "pathway": "CATCH_AND_CONTROL", "lead_officer": "PC A. Patel",
        "reason": f"Accepted by panel decision {expected_id} on 2026-12-01.",
        "effective_at": DECIDED_AT,
    })
    assert decision_id("R-1", PANEL, "ACCEPTED") == expected_id


def test_the_records_are_valid_against_the_schemas():
    result = accept()
    for name, value in (("PanelDecision", result.decision),
                        ("CohortChange", result.cohort_change)):
        assert value is not None
        assert CODEC.decode(CODEC.encode(name, value), expect=name).value == value
    rejected = decide(referral(), outcome="REJECTED", panel_date=PANEL, decided_at=DECIDED_AT,
                      rationale="Not prolific.")
    assert CODEC.decode(CODEC.encode("PanelDecision", rejected.decision)).value == (
        rejected.decision)


def test_a_decision_records_its_chair_and_the_agencies_present_each_once():
    result = accept(chair="  Supt Hale ", agencies_present=[
        "Hampshire Police", "probation", " Probation ", "", "Southampton  Housing"])
    assert result.decision["chair"] == "Supt Hale"
    assert result.decision["agencies_present"] == ["Hampshire Police", "probation",
                                                   "Southampton Housing"]
    assert CODEC.decode(CODEC.encode("PanelDecision", result.decision)).value == (
        result.decision)
    with pytest.raises(DecisionError) as error:
        accept(agencies_present="Hampshire Police")
    assert error.value.field == "agencies_present"


def test_the_same_decision_twice_has_the_same_id_and_outcomes_differ():
    assert accept().decision["decision_id"] == accept().decision["decision_id"]
    ids = {decision_id("R-1", PANEL, outcome) for outcome in ("ACCEPTED", "REJECTED", "DEFERRED")}
    assert len(ids) == 3 and all(len(i) == 32 for i in ids)


def test_an_acceptance_without_a_rationale_records_one_from_its_facts():
    result = accept(rationale="  ")

    assert result.decision["rationale"] == (
        "Accepted onto IOM: cohort FIXED, pathway CATCH_AND_CONTROL, lead officer PC A. Patel.")


@pytest.mark.parametrize("field", ["cohort", "pathway", "lead_officer"])
@pytest.mark.parametrize("missing", [None, "", "   "])
def test_an_acceptance_needs_cohort_pathway_and_lead_officer(field, missing):
    with pytest.raises(DecisionError) as refused:
        accept(**{field: missing})

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: an accepted referral needs")


@pytest.mark.parametrize("outcome", ["REJECTED", "DEFERRED"])
def test_rejections_and_deferrals_need_a_rationale(outcome):
    for missing in (None, "", " \n "):
        with pytest.raises(DecisionError) as refused:
            decide(referral(), outcome=outcome, panel_date=PANEL, decided_at=DECIDED_AT,
                   rationale=missing)
        assert refused.value.field == "rationale"


@pytest.mark.parametrize("outcome", ["REJECTED", "DEFERRED"])
def test_rejections_and_deferrals_record_the_cohort_considered_and_no_registration(outcome):
    result = decide(referral(cohort="FLEX"), outcome=outcome, panel_date=PANEL,
                    decided_at=DECIDED_AT, rationale="Awaiting an accommodation assessment.")

    assert result.cohort_change is None
    assert result.decision["cohort"] == "FLEX"
    assert result.decision["pathway"] is None and result.decision["lead_officer"] is None
    assert result.decision["outcome"] == outcome
    considered = decide(referral(cohort="FLEX"), outcome=outcome, panel_date=PANEL,
                        decided_at=DECIDED_AT, rationale="r", cohort="FREE")
    assert considered.decision["cohort"] == "FREE"


@pytest.mark.parametrize("field", ["pathway", "lead_officer"])
def test_a_rejection_carries_no_pathway_or_lead_officer(field):
    value = "PREVENT_AND_DETER" if field == "pathway" else "PC A. Patel"
    with pytest.raises(DecisionError) as refused:
        decide(referral(), outcome="REJECTED", panel_date=PANEL, decided_at=DECIDED_AT,
               rationale="Not prolific.", **{field: value})

    assert refused.value.field == field


def test_a_rejection_of_a_referral_with_an_unknown_proposed_cohort_needs_the_cohort():
    with pytest.raises(DecisionError) as refused:
        decide(referral(cohort="UNKNOWN"), outcome="REJECTED", panel_date=PANEL,
               decided_at=DECIDED_AT, rationale="r")

    assert refused.value.field == "cohort"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"outcome": "APPROVED"}, "outcome"),
        ({"outcome": "UNKNOWN"}, "outcome"),
        ({"cohort": "MAPPA"}, "cohort"),
        ({"pathway": "CATCH_AND_RELEASE"}, "pathway"),
        ({"lead_officer": 42}, "lead_officer"),
        ({"rationale": ["a"]}, "rationale"),
        ({"panel_date": "2026-12-01"}, "panel_date"),
        ({"panel_date": datetime(2026, 12, 1, tzinfo=UTC)}, "panel_date"),
        ({"decided_at": datetime(2026, 12, 1, 14, 0)}, "decided_at"),
        ({"decided_at": date(2026, 12, 1)}, "decided_at"),
        ({"decided_at": datetime(2026, 11, 30, 23, 0, tzinfo=UTC)}, "decided_at"),
    ],
)
def test_invalid_decisions_are_refused_naming_the_field(changes, field):
    with pytest.raises(DecisionError) as refused:
        accept(**changes)

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


@pytest.mark.parametrize("field", ["referral_id", "person_id"])
def test_a_referral_without_ids_cannot_be_decided(field):
    broken = referral() | {field: ""}
    with pytest.raises(DecisionError) as refused:
        decide(broken, outcome="REJECTED", panel_date=PANEL, decided_at=DECIDED_AT,
               rationale="r")

    assert refused.value.field == field


def test_decided_at_is_kept_in_utc():
    from datetime import timezone

    summer = datetime(2026, 12, 1, 15, 0, tzinfo=timezone(timedelta(hours=1)))
    assert accept(decided_at=summer).decision["decided_at"] == DECIDED_AT


def test_an_urgent_referral_is_decided_out_of_cycle_on_the_day():
    urgent = referral(urgent=True, submitted=datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    today = date(2026, 11, 10)
    assert route(urgent, today, "first Tuesday") == OUT_OF_CYCLE

    result = decide(urgent, outcome="ACCEPTED", panel_date=today,
                    decided_at=datetime(2026, 11, 10, 16, 0, tzinfo=UTC), cohort="FIXED",
                    pathway="CATCH_AND_CONTROL", lead_officer="PC A. Patel")

    assert result.decision["panel_date"] == today
    assert agenda([urgent], [result.decision], {}, {}, PANEL) == ()


def with_id(change: dict) -> dict:
    """A CohortChange as published: with its deterministic change_id."""
    from services.referrals.case.lifecycle import change_id
    return {**change, "change_id": change_id(change)}
