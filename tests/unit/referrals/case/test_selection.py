"""Selection signals, pure: prolific from convictions (window edges, 29 February), short
sentences, the person's flags, the arrest rule, force priority flags in eligibility."""

from __future__ import annotations

from datetime import date

import pytest

from services.referrals.case import selection
from services.referrals.case.eligibility import Candidate, ForcePriorities, assess
from services.referrals.case.selection import ProlificRule, ProlificSettings, SignalError
from services.referrals.config import ReferralsSettings


def history(*days: date, offence: str = "BURGLARY_DOMESTIC") -> list[dict]:
    held: list[dict] = []
    for n, day in enumerate(days):
        entry = selection.conviction_entry(f"E-{n}", day, offence, {})
        assert entry is not None
        selection.keep_conviction(held, entry)
    return held


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2025, 3, 1), 12, date(2024, 3, 1)),
    (date(2024, 2, 29), 12, date(2023, 2, 28)),  # no 29 February in 2023
    (date(2025, 2, 28), 12, date(2024, 2, 28)),
    (date(2024, 3, 31), 1, date(2024, 2, 29)),  # a shorter month, leap year
    (date(2023, 3, 31), 1, date(2023, 2, 28)),
    (date(2025, 1, 15), 13, date(2023, 12, 15)),  # across two year ends
])
def test_months_before_keeps_the_day_or_the_months_last(day: date, months: int,
                                                         expected: date) -> None:
    assert selection.months_before(day, months) == expected


@pytest.mark.parametrize(("oldest", "prolific"), [
    (date(2024, 2, 29), False),  # a day before the window (1 March 2024): not counted
    (date(2024, 3, 1), True),  # on the window's first day: counted
    (date(2024, 3, 2), True),  # a day inside
])
def test_the_m_month_window_edge_a_day_either_side(oldest: date, prolific: bool) -> None:
    rule = ProlificRule(3, 12)
    found = selection.prolific(history(oldest, date(2024, 9, 1), date(2025, 2, 28)),
                               date(2025, 3, 1), rule)
    assert found.prolific is prolific
    assert found.count == (3 if prolific else 2)
    assert found.window_from == date(2024, 3, 1)


def test_on_29_february_the_window_starts_28_february_of_the_common_year() -> None:
    rule = ProlificRule(2, 12)
    as_of = date(2024, 2, 29)
    assert selection.prolific(history(date(2023, 2, 28), date(2024, 1, 1)), as_of, rule).prolific
    assert not selection.prolific(history(date(2023, 2, 27), date(2024, 1, 1)), as_of,
                                  rule).prolific
    # A conviction after the day is not yet known on that day.
    assert not selection.prolific(history(date(2024, 1, 1), date(2024, 3, 1)), as_of,
                                  rule).prolific


def test_only_neighbourhood_crime_counts_and_theft_only_when_not_shoplifting() -> None:
    assert selection.conviction_entry("E", date(2025, 1, 1), "VIOLENCE", {}) is None
    assert selection.conviction_entry("E", date(2025, 1, 1), None, {}) is None
    assert selection.conviction_entry("E", date(2025, 1, 1), "ROBBERY", {}) is not None
    theft = "THEFT_NON_MOTOR"
    assert selection.conviction_entry("E", date(2025, 1, 1), theft, {}) is None  # may be
    assert selection.conviction_entry("E", date(2025, 1, 1), theft,
                                      {"offence_text": "shop lifting at Tesco"}) is None
    assert selection.conviction_entry("E", date(2025, 1, 1), theft,
                                      {"offence_text": "theft of a bicycle"}) is not None


def test_the_history_keeps_an_event_once_and_is_bounded() -> None:
    held = history(date(2025, 1, 1))
    assert not selection.keep_conviction(held, {"event_id": "E-0", "on": "2025-01-01",
                                                "offence": "ROBBERY"})
    for n in range(selection.KEEP_CONVICTIONS + 20):
        selection.keep_conviction(held, {"event_id": f"X-{n:04d}", "on": "2025-02-01",
                                         "offence": "ROBBERY"})
    assert len(held) == selection.KEEP_CONVICTIONS
    assert held[0]["on"] == "2025-02-01"  # the oldest went first


def test_the_rule_is_per_force_with_a_default_and_settings_refuse_nonsense() -> None:
    settings = ReferralsSettings(force_prolific={"Thames Valley": {"convictions": 2,
                                                                   "months": 6}})
    assert settings.prolific().for_force("thames  VALLEY") == ProlificRule(2, 6)
    assert settings.prolific().for_force("Hampshire") == ProlificRule(3, 12)
    assert ProlificSettings().for_force(None) == ProlificRule(3, 12)
    days = history(date(2025, 1, 10), date(2025, 2, 10))
    assert selection.prolific(days, date(2025, 3, 1), ProlificRule(2, 6)).prolific
    assert not selection.prolific(days, date(2025, 3, 1), ProlificRule(3, 12)).prolific
    with pytest.raises(ValueError, match="months"):
        ReferralsSettings(force_prolific={"Kent": {"months": 0}})
    with pytest.raises(ValueError, match="unknown keys"):
        ReferralsSettings(force_prolific={"Kent": {"years": 1}})


@pytest.mark.parametrize(("details", "length", "short"), [
    ({"sentence_months": "6"}, "6 months", True),
    ({"sentence_months": "11.5"}, "11.5 months", True),
    ({"sentence_months": "12"}, "12 months", False),
    ({"sentence_days": "364"}, "364 days", True),
])
def test_a_sentence_under_12_months_is_short(details: dict, length: str, short: bool) -> None:
    found = selection.sentence("SENTENCED_CUSTODY", "E-1", date(2025, 6, 1), details)
    assert found is not None and found["length"] == length and found["short"] is short


def test_sentence_days_are_counted_on_the_calendar_across_29_february() -> None:
    def short(on: date, days: int) -> bool:
        found = selection.sentence("SENTENCED_COMMUNITY", "E", on, {"sentence_days": str(days)})
        assert found is not None
        return found["short"]

    assert short(date(2023, 3, 1), 365)  # reaches 29 February 2024: under 12 months
    assert not short(date(2023, 3, 1), 366)  # reaches 1 March 2024: 12 months
    assert not short(date(2024, 3, 1), 365)  # reaches 1 March 2025
    assert short(date(2024, 2, 29), 364)  # 27 February 2025, before 28 February 2025
    assert not short(date(2024, 2, 29), 365)  # 28 February 2025: twelve months


def test_a_sentence_without_a_length_or_of_another_type_records_nothing_and_bad_is_named(
) -> None:
    assert selection.sentence("SENTENCED_CUSTODY", "E", date(2025, 1, 1), {}) is None
    assert selection.sentence("CONVICTED", "E", date(2025, 1, 1),
                              {"sentence_months": "6"}) is None
    for details, key in (({"sentence_months": "six"}, "sentence_months"),
                         ({"sentence_months": "-1"}, "sentence_months"),
                         ({"sentence_days": "30.5"}, "sentence_days")):
        with pytest.raises(SignalError, match=key):
            selection.sentence("SENTENCED_CUSTODY", "E", date(2025, 1, 1), details)


def test_a_later_sentence_replaces_an_earlier_one_never_the_reverse() -> None:
    early = selection.sentence("SENTENCED_CUSTODY", "E-1", date(2025, 1, 1),
                               {"sentence_months": "6"})
    late = selection.sentence("SENTENCED_COMMUNITY", "E-2", date(2025, 5, 1),
                              {"sentence_months": "18"})
    assert early is not None and late is not None
    assert selection.newer_sentence(None, early) and selection.newer_sentence(early, late)
    assert not selection.newer_sentence(late, early)


def test_flags_default_when_the_writer_is_older_than_contract_1_1() -> None:
    assert selection.flags({"person_id": "P"}) == {
        "mappa_level": None, "ppo": False, "rosh_level": None, "priority_flags": []}
    assert selection.flags({"mappa_level": "LEVEL_2", "ppo": True, "rosh_level": "HIGH",
                            "priority_flags": ["KNIFE_CRIME", "DOMESTIC_ABUSE"]}) == {
        "mappa_level": "LEVEL_2", "ppo": True, "rosh_level": "HIGH",
        "priority_flags": ["DOMESTIC_ABUSE", "KNIFE_CRIME"]}
    assert selection.mappa_managed({"mappa_level": "LEVEL_1"})
    assert not selection.mappa_managed({"mappa_level": None})


@pytest.mark.parametrize(("in_cohort", "referred", "cohort", "alert"), [
    (False, False, "FIXED", True),
    (True, False, "FIXED", False),  # already on IOM
    (False, True, "FIXED", False),  # already before a panel
    (False, False, "FLEX", False),
    (False, False, None, False),
])
def test_arrest_candidate(in_cohort: bool, referred: bool, cohort: str | None,
                          alert: bool) -> None:
    assert selection.arrest_candidate(in_cohort=in_cohort, referred=referred,
                                      cohort=cohort) is alert


# -- in eligibility -------------------------------------------------------------------------------


def candidate(**changes) -> Candidate:
    facts = {"person_id": "P-1", "force": "Hampshire", "under_statutory_supervision": True,
             "index_offence": "VIOLENCE", "rag": "RED", "static_band": "HIGH"}
    return Candidate(**{**facts, **changes})


def test_prolific_from_the_history_makes_a_violent_index_offence_fixed() -> None:
    assert assess(candidate()).cohort == "FLEX"
    reason = "prolific: 3 neighbourhood crime convictions from ..."
    advice = assess(candidate(prolific=True, prolific_reason=reason))
    assert advice.cohort == "FIXED" and reason in advice.reasons
    # Not prolific: the evidence is still said, the cohort does not change.
    assert assess(candidate(prolific=False, prolific_reason="not prolific: 1")).cohort == "FLEX"


def test_priority_flags_match_priorities_named_in_words_or_as_codes() -> None:
    free = {"under_statutory_supervision": False, "rag": None, "static_band": None}
    advice = assess(candidate(flags={"DOMESTIC_ABUSE"}, flags_from_person=True, **free))
    assert advice.cohort == "FREE"
    assert ("matches force priority of Hampshire: domestic abuse perpetrators "
            "(the person's priority flags)") in advice.reasons
    settings = ForcePriorities(by_force={"Thames Valley": ["knife crime", "COUNTY_LINES"]})
    tv = {"force": "Thames Valley", **free}
    assert assess(candidate(flags={"KNIFE_CRIME"}, **tv), settings).cohort == "FREE"
    assert assess(candidate(flags={"county lines"}, **tv), settings).cohort == "FREE"
    assert assess(candidate(flags={"DOMESTIC_ABUSE"}, **tv), settings).cohort is None
