"""Unit tests for services.insights.outcomes and services.insights.survival.

Each measure has a small history whose expected figures are worked out by hand in the
comments, with dates on both sides of the boundaries (follow-up year, waiting period,
complete quarter, the 28 days a grade may follow a start). The comparison group, the
Kaplan-Meier curves (and, for good measure, proven reoffending and before/during) are also
checked on random histories against brute-force references written here from the
definitions, computing the same figures another way. as_of is always given: never today.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from services.insights.model import Change, Decision, Event, Grade, History, Person
from services.insights.outcomes import (
    CAVEAT,
    add_months,
    age_band,
    band_of,
    cohort_complete,
    comparison_group,
    cost_of_offending,
    offending_before_during,
    predicted_vs_actual,
    proven_reoffending,
)
from services.insights.survival import kaplan_meier, time_to_first_reoffence

D = date.fromisoformat


def at(day: str | date) -> datetime:
    return datetime.combine(D(day) if isinstance(day, str) else day,
                            datetime.min.time(), UTC) + timedelta(hours=12)


def registered(person: str, day: str, cohort: str = "FIXED") -> Change:
    return Change(person, "REGISTERED", cohort, at(day))


def deregistered(person: str, day: str, cohort: str = "FIXED") -> Change:
    return Change(person, "DEREGISTERED", cohort, at(day))


def convicted(event_id: str, person: str, on: str, offence_date: str | None,
              offence: str | None = "BURGLARY_DOMESTIC", disposal: str | None = None) -> Event:
    return Event(event_id, person, "CONVICTED", at(on), offence,
                 D(offence_date) if offence_date else None, disposal)


def graded(person: str, day: str, p: float | None, band: str | None = None,
           revision: int = 1) -> Grade:
    return Grade(person, revision, "AMBER", at(day), None, p, band)


def decided(decision_id: str, person: str, day: str, outcome: str = "REJECTED") -> Decision:
    return Decision(decision_id, "R-" + decision_id, person, outcome, "FLEX", at(day))


# -- helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "months", "expected"), [
    ("2024-02-29", 12, "2025-02-28"),  # 29 February: the next February's last day
    ("2024-02-29", 48, "2028-02-29"),
    ("2023-08-31", 6, "2024-02-29"),  # the 31st clamped to a leap February
    ("2023-01-31", 1, "2023-02-28"),
    ("2024-03-31", -1, "2024-02-29"),
    ("2024-12-15", 1, "2025-01-15"),
    ("2024-01-15", -13, "2022-12-15"),
    ("2023-03-31", 18, "2024-09-30"),
])
def test_add_months(day: str, months: int, expected: str) -> None:
    assert add_months(D(day), months) == D(expected)


def test_a_quarter_is_complete_18_months_after_its_last_day() -> None:
    # 2023-Q1 ends 31 March 2023; + 18 months = 30 September 2024.
    assert cohort_complete("2023-Q1", D("2024-09-30"))
    assert not cohort_complete("2023-Q1", D("2024-09-29"))
    # 2023-Q4 ends 31 December 2023; + 18 months = 30 June 2025.
    assert cohort_complete("2023-Q4", D("2025-06-30"))
    assert not cohort_complete("2023-Q4", D("2025-06-29"))


def test_band_from_p_one_year_only_when_the_grade_has_none() -> None:
    assert band_of(graded("X", "2023-01-01", 0.9, "LOW")) == "LOW"
    assert [band_of(graded("X", "2023-01-01", p)) for p in (0.0, 0.2499, 0.25, 0.4999, 0.5,
                                                            0.7499, 0.75, 1.0)] == [
        "LOW", "LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH", "VERY_HIGH", "VERY_HIGH"]


def test_age_band_on_the_birthday_and_the_day_before() -> None:
    assert age_band(D("1998-02-10"), D("2023-02-09")) == "18-24"
    assert age_band(D("1998-02-10"), D("2023-02-10")) == "25-34"
    assert age_band(D("2000-02-29"), D("2018-02-28")) == "under 18"  # 18 on 1 March
    assert age_band(D("2000-02-29"), D("2018-03-01")) == "18-24"
    assert age_band(D("1973-01-01"), D("2023-01-01")) == "50+"
    assert age_band(D("1973-01-02"), D("2023-01-01")) == "35-49"
    assert age_band(None, D("2023-01-01")) == "unknown"


# -- 1. proven reoffending -------------------------------------------------------------------


def worked_history() -> History:
    """Four starts in 2023-Q1 and one in Q2. Proven reoffences, by person:

    A registered 10 Jan 2023: follow-up to 10 Jan 2024 (exclusive), waiting to 10 Jul 2024.
      a1 committed 9 Jan 2024 (last day in), convicted 1 Mar 2024: counts (listed twice:
         once). a2 committed 10 Jan 2024 (first day out): no. a0 before the start: no.
    B registered 1 Feb 2023: follow-up to 1 Feb 2024, waiting to 1 Aug 2024.
      b1 committed 1 Jun 2023, convicted 31 Jul 2024 (last day of waiting): counts.
      b2 committed 1 Jul 2023, convicted 1 Aug 2024 (first day after): no.
      b3 a caution, no offence date, given 1 Sep 2023: counts, its date assumed.
    C registered 5 Mar, out 20 Mar, back 25 Mar (same quarter: counted once, from 5 Mar),
      out 15 Apr, back 1 May (FLEX: a start in Q2). Only an ARRESTED event: no reoffence.
    D registered 31 Mar 2023 (the quarter's last day), FREE: nothing.
    E registered 1 Oct 2024, after every as_of used: not known.

    2023-Q1: starts 4, reoffenders 2 (A, B), reoffences 3, assumed 1.
    """
    return History(
        people={p: Person(p, "F1") for p in "ABCD"},
        changes=[
            registered("A", "2023-01-10"),
            registered("B", "2023-02-01", "FLEX"),
            registered("C", "2023-03-05"), deregistered("C", "2023-03-20"),
            registered("C", "2023-03-25"), deregistered("C", "2023-04-15"),
            registered("C", "2023-05-01", "FLEX"),
            registered("D", "2023-03-31", "FREE"),
            Change("D", "PATHWAY_CHANGED", "FREE", at("2023-04-02"), "HOUSING"),
            registered("E", "2024-10-01"),
        ],
        events=[
            convicted("a0", "A", "2022-12-15", "2022-11-01"),
            convicted("a1", "A", "2024-03-01", "2024-01-09"),
            convicted("a2", "A", "2024-02-01", "2024-01-10"),
            convicted("a1", "A", "2024-03-01", "2024-01-09"),
            convicted("b1", "B", "2024-07-31", "2023-06-01", "VIOLENCE"),
            convicted("b2", "B", "2024-08-01", "2023-07-01", "VIOLENCE"),
            convicted("b3", "B", "2023-09-01", None, "THEFT_NON_MOTOR", disposal="CAUTION"),
            Event("c1", "C", "ARRESTED", at("2023-06-01")),
            convicted("e1", "E", "2024-11-01", "2024-10-15"),
        ],
        grades=[
            # A: the latest on or before the start (the start day itself) wins: 0.4 MEDIUM.
            graded("A", "2022-12-01", 0.3, "MEDIUM", 1),
            graded("A", "2023-01-10", 0.4, "MEDIUM", 2),
            graded("A", "2023-01-20", 0.9, "VERY_HIGH", 3),
            # B: none usable before (no p_one_year); 1 Mar is 28 days after 1 Feb: 0.8,
            # no band, so VERY_HIGH from p. The later 0.1 is not the earliest.
            graded("B", "2023-01-15", None, None, 1),
            graded("B", "2023-03-01", 0.8, None, 2),
            graded("B", "2023-03-02", 0.1, "LOW", 3),
            # C: first graded 29 days after its start: unpredicted.
            graded("C", "2023-04-03", 0.6, "HIGH"),
            # D: 0.2 without a band: LOW.
            graded("D", "2023-03-30", 0.2),
        ],
    )


def test_proven_reoffending_worked_example() -> None:
    result = proven_reoffending(worked_history(), D("2024-09-30"))
    assert result["as_of"] == "2024-09-30" and result["cohort"] is None
    assert result["quarters"] == [
        {"quarter": "2023-Q1", "complete": True, "starts": 4, "reoffenders": 2,
         "binary_rate": 0.5, "reoffences": 3, "frequency": 0.75, "per_reoffender": 1.5,
         "offence_date_assumed": 1},
        # C's return on 1 May: 2023-Q2 ends 30 Jun 2023, complete on 31 Dec 2024.
        {"quarter": "2023-Q2", "complete": False, "starts": 1, "reoffenders": None,
         "binary_rate": None, "reoffences": None, "frequency": None,
         "per_reoffender": None, "offence_date_assumed": None},
    ]


def test_proven_reoffending_a_day_before_the_quarter_is_complete() -> None:
    quarters = proven_reoffending(worked_history(), D("2024-09-29"))["quarters"]
    assert quarters[0]["quarter"] == "2023-Q1" and quarters[0]["complete"] is False
    assert quarters[0]["starts"] == 4 and quarters[0]["binary_rate"] is None


def test_proven_reoffending_by_cohort() -> None:
    # FIXED: A and C (whose two FIXED starts in Q1 count once); only A reoffended, once.
    fixed = proven_reoffending(worked_history(), D("2024-09-30"), cohort="FIXED")
    assert fixed["cohort"] == "FIXED"
    assert [(q["quarter"], q["starts"], q["reoffenders"], q["reoffences"])
            for q in fixed["quarters"]] == [("2023-Q1", 2, 1, 1)]
    # FLEX: B in Q1 (2 reoffences), C's return in Q2 (incomplete).
    flex = proven_reoffending(worked_history(), D("2024-09-30"), cohort="FLEX")
    assert [(q["quarter"], q["starts"], q["reoffences"]) for q in flex["quarters"]] == [
        ("2023-Q1", 1, 2), ("2023-Q2", 1, None)]
    assert flex["quarters"][0]["per_reoffender"] == 2.0


def test_proven_reoffending_from_29_february() -> None:
    # Registered 29 Feb 2024: follow-up to 28 Feb 2025 (exclusive), waiting to 28 Aug 2025
    # (12 months, then 6: not 29 Aug, which 18 months at once would give). 2024-Q1 is
    # complete on 31 Mar 2024 + 18 months = 30 Sep 2025.
    history = History(changes=[registered("E", "2024-02-29")], events=[
        convicted("e0", "E", "2024-04-01", "2024-02-28"),  # the day before: no
        convicted("e1", "E", "2025-08-27", "2025-02-27"),  # last day in, convicted in time
        convicted("e2", "E", "2025-03-15", "2025-02-28"),  # first day out
        convicted("e3", "E", "2025-08-28", "2024-12-01"),  # convicted a day too late
    ])
    assert proven_reoffending(history, D("2025-09-30"))["quarters"] == [
        {"quarter": "2024-Q1", "complete": True, "starts": 1, "reoffenders": 1,
         "binary_rate": 1.0, "reoffences": 1, "frequency": 1.0, "per_reoffender": 1.0,
         "offence_date_assumed": 0}]
    assert proven_reoffending(history, D("2025-09-29"))["quarters"][0]["complete"] is False


def test_proven_reoffending_counts_a_returner_again_in_a_later_quarter() -> None:
    # Out in March, back in July: two starts, one per quarter; the July start's follow-up
    # (to 1 Jul 2024) holds the offence of 1 Mar 2024 as the January one's (to 5 Jan) does
    # not. An offence before any start is no one's reoffence.
    history = History(changes=[
        registered("R", "2023-01-05"), deregistered("R", "2023-03-01"),
        registered("R", "2023-07-01"),
    ], events=[
        convicted("r0", "R", "2022-12-01", "2022-11-01"),
        convicted("r1", "R", "2024-04-01", "2024-03-01"),
    ])
    # 2023-Q3 is complete on 30 Sep 2023 + 18 months = 30 Mar 2025.
    quarters = proven_reoffending(history, D("2025-03-29"))["quarters"]
    assert [(q["quarter"], q["complete"], q["starts"], q["reoffences"]) for q in quarters] == [
        ("2023-Q1", True, 1, 0), ("2023-Q3", False, 1, None)]
    quarters = proven_reoffending(history, D("2025-03-30"))["quarters"]
    assert [(q["quarter"], q["complete"], q["starts"], q["reoffences"]) for q in quarters] == [
        ("2023-Q1", True, 1, 0), ("2023-Q3", True, 1, 1)]


def test_proven_reoffending_of_nothing() -> None:
    assert proven_reoffending(History(), D("2025-01-01"))["quarters"] == []


# -- 2. predicted against actual -------------------------------------------------------------


def test_predicted_vs_actual_worked_example() -> None:
    # 2023-Q1 (complete on 30 Sep 2024): A 0.4 MEDIUM reoffended; B 0.8 VERY_HIGH (from p)
    # reoffended; C unpredicted; D 0.2 LOW (from p) did not.
    result = predicted_vs_actual(worked_history(), D("2024-09-30"))
    assert result["starts"] == 4 and result["unpredicted"] == 1
    bands = {row["band"]: row for row in result["bands"]}
    assert [row["band"] for row in result["bands"]] == ["LOW", "MEDIUM", "HIGH", "VERY_HIGH"]
    assert bands["LOW"] == {"band": "LOW", "n": 1, "mean_predicted": 0.2, "actual_rate": 0.0,
                            "difference": pytest.approx(-0.2)}
    assert bands["MEDIUM"] == {"band": "MEDIUM", "n": 1, "mean_predicted": 0.4,
                               "actual_rate": 1.0, "difference": pytest.approx(0.6)}
    assert bands["HIGH"] == {"band": "HIGH", "n": 0, "mean_predicted": None,
                             "actual_rate": None, "difference": None}
    assert bands["VERY_HIGH"]["n"] == 1
    assert bands["VERY_HIGH"]["difference"] == pytest.approx(0.2)
    # Overall: mean (0.2 + 0.4 + 0.8) / 3 = 0.4667, actual 2/3, difference 0.2.
    overall = result["overall"]
    assert overall["band"] == "ALL" and overall["n"] == 3
    assert overall["mean_predicted"] == pytest.approx(1.4 / 3)
    assert overall["actual_rate"] == pytest.approx(2 / 3)
    assert overall["difference"] == pytest.approx(0.2)


def test_predicted_vs_actual_waits_for_complete_quarters() -> None:
    result = predicted_vs_actual(worked_history(), D("2024-09-29"))
    assert result["starts"] == 0 and result["overall"]["n"] == 0
    assert result["overall"]["mean_predicted"] is None


# -- 3. comparison group ---------------------------------------------------------------------


def comparison_history() -> History:
    """Treated (2023-Q1 starts) and comparison (2023-Q1 rejections), as_of 1 Jan 2025.

    S1 = (LOW, 25-34, BURGLARY_DOMESTIC):
      treated T1 (reoffends), T2 (25 on its start day; does not): p_t = 1/2, n_t = 2.
      comparison C1 (reoffends; rejected twice in the quarter and the record sent twice:
      once), C2, C3 (offence a day after follow-up), C7 (registered exactly 12 months later:
      not within them): p_c = 1/4, n_c = 4. C6 registered 12 months less a day later: out.
    S2 = (unknown, unknown, unknown): treated T4 (no person, no grade; does not): p_t = 0,
      n_t = 1; comparison C4 (a caution, date assumed), C5, both reoffend: p_c = 1, n_c = 2.
    S3 = (HIGH, 50+, ROBBERY): T3 only, unmatched.

    Matched treated N = 3, w1 = 2/3, w2 = 1/3.
    rate_treated = 2/3 * 1/2 + 1/3 * 0 = 1/3; rate_comparison = 2/3 * 1/4 + 1/3 * 1 = 1/2;
    difference = -1/6; variance = (2/3)^2 (1/4 / 2 + 3/16 / 4) + (1/3)^2 (0 + 0)
    = 4/9 * 0.171875 = 0.0763889, se = 0.2763854.
    """
    s1 = {"current_offence": "BURGLARY_DOMESTIC"}
    people = {
        "T1": Person("T1", "F1", D("1990-01-01"), **s1),
        "T2": Person("T2", "F1", D("1998-02-10"), **s1),
        "T3": Person("T3", "F1", D("1960-05-05"), current_offence="ROBBERY"),
        **{c: Person(c, "F1", D("1990-03-03"), **s1) for c in ("C1", "C2", "C3", "C6", "C7")},
    }
    grades = [graded(p, "2022-12-01", 0.1, "LOW") for p in ("T1", "T2", "C1", "C2", "C3", "C6",
                                                            "C7")]
    grades.append(graded("T3", "2023-02-01", 0.7, "HIGH"))
    return History(
        people=people,
        changes=[
            registered("T1", "2023-01-10"), registered("T2", "2023-02-10"),
            registered("T3", "2023-03-01"), registered("T4", "2023-03-15"),
            registered("C6", "2024-01-19"), registered("C7", "2024-01-20"),
        ],
        events=[
            convicted("t1", "T1", "2023-07-01", "2023-06-01"),
            convicted("t3", "T3", "2023-07-01", "2023-06-01", "ROBBERY"),
            convicted("c1", "C1", "2023-06-01", "2023-05-01"),
            convicted("c3", "C3", "2024-03-01", "2024-02-20"),
            convicted("c4", "C4", "2023-04-01", None, "OTHER", "CAUTION"),
            convicted("c5", "C5", "2023-03-10", "2023-03-01"),
            convicted("c6", "C6", "2023-03-10", "2023-03-01"),
        ],
        grades=grades,
        decisions=[
            decided("d1", "C1", "2023-02-01"), decided("d1", "C1", "2023-02-01"),
            decided("d1b", "C1", "2023-03-01"),
            decided("d2", "C2", "2023-02-15"), decided("d3", "C3", "2023-02-20"),
            decided("d4", "C4", "2023-01-05"), decided("d5", "C5", "2023-01-06"),
            decided("d6", "C6", "2023-01-20"), decided("d7", "C7", "2023-01-20"),
            decided("d8", "C8", "2023-02-01", "DEFERRED"),
            decided("d9", "T1", "2023-01-02", "ACCEPTED"),
        ],
    )


def test_comparison_group_worked_example() -> None:
    result = comparison_group(comparison_history(), D("2025-01-01"))
    assert result["caveat"] == CAVEAT and "Not randomised" in result["caveat"]
    assert (result["matched_treated"], result["matched_comparison"],
            result["unmatched_treated"], result["unmatched_comparison"]) == (3, 6, 1, 0)
    assert result["rate_treated"] == pytest.approx(1 / 3)
    assert result["rate_comparison"] == pytest.approx(1 / 2)
    assert result["difference"] == pytest.approx(-1 / 6)
    se = math.sqrt(4 / 9 * 0.171875)
    assert result["standard_error"] == pytest.approx(se)
    assert se == pytest.approx(0.2763854)
    assert result["ci95_low"] == pytest.approx(-1 / 6 - 1.96 * se)
    assert result["ci95_high"] == pytest.approx(-1 / 6 + 1.96 * se)
    assert result["strata"] == [
        {"band": "HIGH", "age_band": "50+", "offence": "ROBBERY", "treated": 1,
         "comparison": 0, "rate_treated": 1.0, "rate_comparison": None, "matched": False},
        {"band": "LOW", "age_band": "25-34", "offence": "BURGLARY_DOMESTIC", "treated": 2,
         "comparison": 4, "rate_treated": 0.5, "rate_comparison": 0.25, "matched": True},
        {"band": "unknown", "age_band": "unknown", "offence": "unknown", "treated": 1,
         "comparison": 2, "rate_treated": 0.0, "rate_comparison": 1.0, "matched": True},
    ]


def test_comparison_group_leaves_out_people_on_iom_when_rejected() -> None:
    # X was on IOM when rejected (registered in 2021, never left): not a comparison.
    # Y left IOM before the rejection: a comparison. Both in 2023-Q1, stratum unknown.
    history = History(changes=[
        registered("X", "2021-01-01"), registered("Y", "2021-01-01"),
        deregistered("Y", "2022-06-01"), registered("T", "2023-01-01"),
    ], decisions=[decided("dx", "X", "2023-01-10"), decided("dy", "Y", "2023-01-10")])
    result = comparison_group(history, D("2025-01-01"))
    # Treated: X, Y (2021-Q1) and T; Y's stratum "unknown" as everyone's.
    assert result["matched_treated"] == 3 and result["matched_comparison"] == 1


def test_comparison_group_with_nothing_matched() -> None:
    result = comparison_group(History(changes=[registered("T", "2023-01-01")]), D("2025-01-01"))
    assert result["matched_treated"] == 0 and result["unmatched_treated"] == 1
    assert result["rate_treated"] is None and result["ci95_low"] is None


# -- 4. time to first reoffence --------------------------------------------------------------


def survival_history() -> History:
    """as_of 1 Jun 2024. Day 1 is the start day; a start is followed for 365 days.

    FIXED, registered 1 Jan 2023 unless said:
      K1 offence 11 Jan (day 11): event 11.
      K2 deregistered 21 Jan (followed 20 days): censored 20; its offence on 21 Jan is after.
         Back on 1 Feb (same quarter): not a second start.
      K3 offence 20 Jan: event 20 (before K2's censoring on the same day).
      K4 nothing; an offence on 1 Jan 2024 is day 366: censored 365.
      K5 registered 2 May 2024 (30 days to as_of), offence 31 May convicted on as_of: event 30.
      K6 registered 2 May 2024, nothing: censored 30.
      K7 offence 1 Mar 2023 convicted after as_of, not known: censored 365.
      K8 registered on as_of: no day observed, left out.
    n = 7. S(11) = 6/7; S(20) = 6/7 * 5/6 = 5/7 (at risk 6); S(30) = 5/7 * 3/4 = 15/28
    (at risk K4 K5 K6 K7); at 365 two censored. Never 0.5 or below: no median.
    FLEX, registered 1 Jun 2023: F1 offence on the start day (day 1), F2 the next (day 2), F3
    nothing: S(1) = 2/3, S(2) = 1/3 (median 2), censored at 365.
    """
    changes = [registered(k, "2023-01-01") for k in ("K1", "K2", "K3", "K4", "K7")]
    changes += [deregistered("K2", "2023-01-21"), registered("K2", "2023-02-01"),
                registered("K5", "2024-05-02"), registered("K6", "2024-05-02"),
                registered("K8", "2024-06-01")]
    changes += [registered(f, "2023-06-01", "FLEX") for f in ("F1", "F2", "F3")]
    return History(changes=changes, events=[
        convicted("k1", "K1", "2023-02-01", "2023-01-11"),
        convicted("k2", "K2", "2023-02-01", "2023-01-21"),
        convicted("k3", "K3", "2023-02-01", "2023-01-20"),
        convicted("k4", "K4", "2024-02-01", "2024-01-01"),
        convicted("k5", "K5", "2024-06-01", "2024-05-31"),
        convicted("k7", "K7", "2024-06-02", "2023-03-01"),
        convicted("f1", "F1", "2023-07-01", "2023-06-01"),
        convicted("f2", "F2", "2023-06-02", None),  # no offence date: convicted 2 Jun
        convicted("f2", "F2", "2023-06-02", None),  # sent twice
    ])


def test_time_to_first_reoffence_worked_example() -> None:
    result = time_to_first_reoffence(survival_history(), D("2024-06-01"))
    assert result["follow_up_days"] == 365 and list(result["cohorts"]) == ["FIXED", "FLEX"]
    fixed = result["cohorts"]["FIXED"]
    assert (fixed["subjects"], fixed["events"], fixed["censored"], fixed["median"]) == (
        7, 3, 4, None)
    assert fixed["curve"] == [
        {"day": 0, "survival": 1.0, "at_risk": 7, "events": 0, "censored": 0},
        {"day": 11, "survival": pytest.approx(6 / 7), "at_risk": 7, "events": 1, "censored": 0},
        {"day": 20, "survival": pytest.approx(5 / 7), "at_risk": 6, "events": 1, "censored": 1},
        {"day": 30, "survival": pytest.approx(15 / 28), "at_risk": 4, "events": 1,
         "censored": 1},
        {"day": 365, "survival": pytest.approx(15 / 28), "at_risk": 2, "events": 0,
         "censored": 2},
    ]
    flex = result["cohorts"]["FLEX"]
    assert flex["median"] == 2
    assert [(r["day"], r["survival"], r["at_risk"]) for r in flex["curve"]] == [
        (0, 1.0, 3), (1, pytest.approx(2 / 3), 3), (2, pytest.approx(1 / 3), 2),
        (365, pytest.approx(1 / 3), 1)]


def test_kaplan_meier_median_is_the_first_day_at_or_below_a_half() -> None:
    # Four subjects: events on days 5 and 9, censored 7 and 12. S(5) = 3/4; at 9, at risk
    # 2: S = 3/4 * 1/2 = 3/8, the median.
    result = kaplan_meier([(5, True), (7, False), (9, True), (12, False)])
    assert result["median"] == 9
    assert [r["survival"] for r in result["curve"]] == [1.0, 0.75, 0.75, 0.375, 0.375]
    assert kaplan_meier([])["curve"] == [
        {"day": 0, "survival": 1.0, "at_risk": 0, "events": 0, "censored": 0}]


# -- 5. before and during --------------------------------------------------------------------


def before_during_history() -> History:
    """as_of 1 Jan 2024.

    P registered 1 Jan 2023 (FIXED), deregistered 2 Jul 2023 (182 days during), back 1 Oct
      2023 (FLEX; 92 days to as_of). Before the first: 1 Jan 2022 to 31 Dec 2022, 365 days;
      before the second: from the first's end, 2 Jul to 30 Sep 2023, 91 days (not back into
      the first registration or its year before).
      p1 burglary 1 Jan 2022 (first day before): before. p2 theft 31 Dec 2021: neither.
      p3 burglary 1 Jul 2023 (last day of the first; listed twice): during.
      p4 violence 2 Jul 2023 (the day it ended): before the second.
      p5 violence 31 Dec 2023, convicted after as_of: not known.
      p6 no offence date nor category, convicted 1 Nov 2023: during ("unknown"), assumed.
    Q registered 1 Jun 2023 (FREE), still on: 365 days before, 214 during.
      q1 robbery 31 May 2023: before; q2 robbery 1 Jun 2023: during.
    Before: 365 + 91 + 365 = 821 days, 3 offences; during: 182 + 92 + 214 = 488 days, 3.
    """
    return History(
        changes=[
            registered("P", "2023-01-01"), deregistered("P", "2023-07-02"),
            registered("P", "2023-10-01", "FLEX"), registered("Q", "2023-06-01", "FREE"),
        ],
        events=[
            convicted("p1", "P", "2022-03-01", "2022-01-01"),
            convicted("p2", "P", "2022-02-01", "2021-12-31", "THEFT_NON_MOTOR"),
            convicted("p3", "P", "2023-08-01", "2023-07-01"),
            convicted("p3", "P", "2023-08-01", "2023-07-01"),
            convicted("p4", "P", "2023-08-15", "2023-07-02", "VIOLENCE"),
            convicted("p5", "P", "2024-01-02", "2023-12-31", "VIOLENCE"),
            convicted("p6", "P", "2023-11-01", None, None),
            convicted("q1", "Q", "2023-06-15", "2023-05-31", "ROBBERY"),
            convicted("q2", "Q", "2023-09-01", "2023-06-01", "ROBBERY"),
        ],
    )


def test_offending_before_during_worked_example() -> None:
    result = offending_before_during(before_during_history(), D("2024-01-01"))
    years_before, years_during = 821 / 365.25, 488 / 365.25
    assert result["registrations"] == 3 and result["people"] == 2
    assert result["person_years_before"] == pytest.approx(years_before)
    assert result["person_years_during"] == pytest.approx(years_during)
    assert (result["offences_before"], result["offences_during"]) == (3, 3)
    assert result["rate_before"] == pytest.approx(3 / years_before)
    assert result["rate_during"] == pytest.approx(3 / years_during)
    assert result["offence_date_assumed"] == 1
    assert [(c["offence"], c["offences_before"], c["offences_during"])
            for c in result["categories"]] == [
        ("BURGLARY_DOMESTIC", 1, 1), ("ROBBERY", 1, 1), ("VIOLENCE", 1, 0), ("unknown", 0, 1)]
    violence = result["categories"][2]
    assert violence["rate_before"] == pytest.approx(1 / years_before)
    assert violence["rate_during"] == 0.0


def test_offending_before_during_by_cohort() -> None:
    # FLEX: P's return only, its year before still cut at the FIXED registration's end.
    flex = offending_before_during(before_during_history(), D("2024-01-01"), cohort="FLEX")
    assert (flex["registrations"], flex["offences_before"], flex["offences_during"]) == (1, 1, 1)
    assert flex["person_years_before"] == pytest.approx(91 / 365.25)
    assert flex["person_years_during"] == pytest.approx(92 / 365.25)
    fixed = offending_before_during(before_during_history(), D("2024-01-01"), cohort="FIXED")
    assert fixed["person_years_before"] == pytest.approx(365 / 365.25)
    assert (fixed["offences_before"], fixed["offences_during"]) == (1, 1)
    empty = offending_before_during(History(), D("2024-01-01"))
    assert empty["rate_before"] is None and empty["categories"] == []


# -- 6. cost ---------------------------------------------------------------------------------


def test_cost_of_offending() -> None:
    # Burglary: (3.0 - 1.0) * 2 years = 4 prevented, * 5000 = 20000; 2 during = 10000.
    # Violence: (0.5 - 1.0) * 2 = -1 (one more during), * 10000 = -10000; 2 during = 20000.
    # Other: no unit cost, so no figure.
    before_during = {"person_years_during": 2.0, "categories": [
        {"offence": "BURGLARY_DOMESTIC", "offences_before": 6, "offences_during": 2,
         "rate_before": 3.0, "rate_during": 1.0},
        {"offence": "OTHER", "offences_before": 1, "offences_during": 1,
         "rate_before": 0.5, "rate_during": 0.5},
        {"offence": "VIOLENCE", "offences_before": 1, "offences_during": 2,
         "rate_before": 0.5, "rate_during": 1.0},
    ]}
    result = cost_of_offending(before_during, {"BURGLARY_DOMESTIC": 5000.0,
                                               "VIOLENCE": 10000.0}, "Home Office 2018")
    assert result["source"] == "Home Office 2018"
    assert result["categories"] == [
        {"offence": "BURGLARY_DOMESTIC", "unit_cost": 5000.0, "offences_during": 2,
         "cost_during": 10000.0, "offences_prevented": 4.0, "cost_prevented": 20000.0},
        {"offence": "VIOLENCE", "unit_cost": 10000.0, "offences_during": 2,
         "cost_during": 20000.0, "offences_prevented": -1.0, "cost_prevented": -10000.0},
    ]
    assert result["uncosted"] == [{"offence": "OTHER", "offences_before": 1,
                                   "offences_during": 1}]
    assert result["cost_prevented"] == 10000.0 and result["cost_during"] == 30000.0


def test_cost_of_offending_from_the_measure() -> None:
    measure = offending_before_during(before_during_history(), D("2024-01-01"))
    result = cost_of_offending(measure, {"ROBBERY": 100.0}, "test")
    # Robbery: 1 before in 821 days, 1 during in 488: (1/years_before - 1/years_during)
    # * years_during = 488/821 - 1: negative, more offences a year during than before.
    assert result["categories"][0]["offences_prevented"] == pytest.approx(488 / 821 - 1)
    assert [u["offence"] for u in result["uncosted"]] == [
        "BURGLARY_DOMESTIC", "VIOLENCE", "unknown"]
    nothing = cost_of_offending(offending_before_during(History(), D("2024-01-01")), {}, "x")
    assert nothing["cost_prevented"] == 0 and nothing["categories"] == []


# -- random histories against brute-force references -----------------------------------------

COHORTS = ("FIXED", "FLEX", "FREE")
CATEGORIES = (None, "BURGLARY_DOMESTIC", "ROBBERY")


def random_history(rng: random.Random) -> tuple[History, date]:
    """People who register, leave, come back (sometimes registered twice without leaving),
    are rejected, graded and convicted, with missing dates, records sent twice, events
    before any start, 29 February days and records after as_of."""
    base = date(2021, 1, 1)
    history = History()

    def day_after(day: date, most: int) -> date:
        later = day + timedelta(days=rng.randint(1, most))
        leap = date(2024, 2, 29)
        return leap if day < leap < later and rng.random() < 0.5 else later

    for i in range(rng.randint(3, 25)):
        person = f"P{i}"
        if rng.random() < 0.8:
            dob = None if rng.random() < 0.2 else date(rng.randint(1955, 2004),
                                                        rng.randint(1, 12), rng.randint(1, 28))
            history.people[person] = Person(person, "F1", dob, None, rng.choice(CATEGORIES))
        day, on = base + timedelta(days=rng.randint(0, 1200)), False
        for _ in range(rng.randint(0, 5)):  # strictly later each time: no ties
            day = day_after(day, 250)
            if on and rng.random() < 0.75:
                change, on = deregistered(person, day.isoformat()), False
            else:
                change, on = registered(person, day.isoformat(), rng.choice(COHORTS)), True
            history.changes.append(change)
            if rng.random() < 0.1:
                history.changes.append(change)
        for j in range(rng.randint(0, 3)):
            when = base + timedelta(days=rng.randint(0, 1300))
            decision = decided(f"{person}-d{j}", person, when.isoformat(),
                               rng.choice(("REJECTED", "REJECTED", "ACCEPTED", "DEFERRED")))
            history.decisions += [decision] * rng.randint(1, 2)
        for j in range(rng.randint(0, 4)):
            when = base + timedelta(days=rng.randint(-100, 1300))
            p = None if rng.random() < 0.15 else round(rng.random(), 3)
            band = rng.choice((None, "LOW", "MEDIUM", "HIGH", "VERY_HIGH"))
            history.grades.append(graded(person, when.isoformat(), p, band, j + 1))
        for j in range(rng.randint(0, 8)):
            on_day = base + timedelta(days=rng.randint(-200, 1500))
            offence = (None if rng.random() < 0.15
                       else (on_day - timedelta(days=rng.randint(0, 400))).isoformat())
            kind = "CONVICTED" if rng.random() < 0.85 else "ARRESTED"
            event = Event(f"{person}-e{j}", person, kind, at(on_day), rng.choice(CATEGORIES),
                          D(offence) if offence else None,
                          rng.choice((None, "CAUTION", "CUSTODY")))
            history.events += [event] * rng.randint(1, 2)
    for items in (history.changes, history.events, history.decisions, history.grades):
        rng.shuffle(items)
    return history, base + timedelta(days=rng.randint(200, 1900))


def ref_add_months(day: date, months: int) -> date:
    """add_months the slow way: count months forward, then step back from the 31st."""
    year, month = day.year, day.month
    for _ in range(abs(months)):
        month += 1 if months > 0 else -1
        if month == 13:
            year, month = year + 1, 1
        elif month == 0:
            year, month = year - 1, 12
    for last in range(day.day, 0, -1):
        try:
            return date(year, month, last)
        except ValueError:
            continue
    raise AssertionError


def ref_quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month + 2) // 3


def ref_complete(day: date, as_of: date) -> bool:
    year, quarter = ref_quarter(day)
    first_of_next = date(year + quarter // 4, quarter % 4 * 3 + 1, 1)
    return ref_add_months(first_of_next - timedelta(days=1), 18) <= as_of


def ref_registrations(history: History, as_of: date) -> list[tuple[str, date, str, date | None]]:
    """Every registration as (person, start, cohort, end): it ends at the person's next
    REGISTERED or DEREGISTERED change."""
    changes = [c for c in set(history.changes) if c.effective_at.date() <= as_of]
    found = []
    for change in changes:
        if change.change != "REGISTERED":
            continue
        later = [c.effective_at for c in changes if c.person_id == change.person_id
                 and c.change in ("REGISTERED", "DEREGISTERED")
                 and c.effective_at > change.effective_at]
        found.append((change.person_id, change.effective_at.date(), change.cohort,
                      min(later).date() if later else None))
    return found


def ref_starts(history: History, as_of: date) -> list[tuple[str, date, str, date | None]]:
    registrations = ref_registrations(history, as_of)
    return [r for r in registrations
            if not any(o[0] == r[0] and ref_quarter(o[1]) == ref_quarter(r[1]) and o[1] < r[1]
                       for o in registrations)]


def ref_convictions(history: History, person: str, as_of: date) -> list[tuple[date, date]]:
    """(offence date, conviction date) of the person's CONVICTED events known by as_of."""
    events = {e.event_id: e for e in history.events}
    return [(e.offence_date or e.occurred_at.date(), e.occurred_at.date())
            for e in events.values() if e.person_id == person and e.type == "CONVICTED"
            and e.occurred_at.date() <= as_of]


def ref_reoffences(history: History, person: str, start: date, as_of: date) -> int:
    follow_up = ref_add_months(start, 12)
    waiting = ref_add_months(follow_up, 6)
    return sum(1 for offence, conviction in ref_convictions(history, person, as_of)
               if start <= offence < follow_up and conviction < waiting)


def ref_stratum(history: History, person: str, day: date, as_of: date) -> tuple[str, str, str]:
    grades = [g for g in history.grades if g.person_id == person
              and g.p_one_year is not None and g.graded_at.date() <= as_of]
    before = [g for g in grades if g.graded_at.date() <= day]
    after = [g for g in grades if 0 < (g.graded_at.date() - day).days <= 28]
    key = lambda g: (g.graded_at, g.revision)  # noqa: E731
    grade = max(before, key=key) if before else min(after, key=key) if after else None
    if grade is None:
        band = "unknown"
    elif grade.static_band:
        band = grade.static_band
    else:
        band = ("LOW", "MEDIUM", "HIGH", "VERY_HIGH")[min(3, int(grade.p_one_year * 4))]
    who = history.people.get(person)
    if who is None or who.date_of_birth is None:
        age = "unknown"
    else:
        years = next(n for n in range(200, -1, -1)
                     if ref_add_months(who.date_of_birth, 12 * n) <= day
                     and not (who.date_of_birth.month == 2 and who.date_of_birth.day == 29
                              and (day.month, day.day) == (2, 28)))
        age = ("under 18" if years < 18 else "18-24" if years <= 24 else "25-34" if years <= 34
               else "35-49" if years <= 49 else "50+")
    return band, age, (who.current_offence if who else None) or "unknown"


def ref_comparison(history: History, as_of: date) -> dict:
    """The comparison group's estimate treated person by treated person: each matched start
    carries 1/N, its stratum's comparison rate is found by scanning every comparison."""
    registrations = ref_registrations(history, as_of)
    decisions = {d.decision_id: d for d in history.decisions}.values()

    def untreated(person: str, day: date) -> bool:
        return not any(r[0] == person and (day <= r[1] < ref_add_months(day, 12)
                                           or (r[1] < day and (r[3] is None or r[3] > day)))
                       for r in registrations)

    rejected = [(d.person_id, d.decided_at.date()) for d in decisions
                if d.outcome == "REJECTED" and d.decided_at.date() <= as_of
                and untreated(d.person_id, d.decided_at.date())]
    rejected = [r for r in set(rejected) if not any(  # two rejections a day: one start
        o[0] == r[0] and ref_quarter(o[1]) == ref_quarter(r[1]) and o[1] < r[1]
        for o in rejected)]
    treated = [(ref_stratum(history, p, s, as_of), ref_reoffences(history, p, s, as_of) > 0)
               for p, s, _, _ in ref_starts(history, as_of) if ref_complete(s, as_of)]
    comparison = [(ref_stratum(history, p, d, as_of), ref_reoffences(history, p, d, as_of) > 0)
                  for p, d in rejected if ref_complete(d, as_of)]
    matched = [(s, y) for s, y in treated if any(cs == s for cs, _ in comparison)]
    n = len(matched)
    rate_t = rate_c = variance = 0.0
    for stratum, outcome in matched:
        same_t = [y for s, y in treated if s == stratum]
        same_c = [y for s, y in comparison if s == stratum]
        p_t, p_c = sum(same_t) / len(same_t), sum(same_c) / len(same_c)
        rate_t += outcome / n
        rate_c += p_c / n
        # This start's share of its stratum's w^2 * var: (1/N) * (n_t,s / N) * var.
        variance += (1 / n) * (len(same_t) / n) * (p_t * (1 - p_t) / len(same_t)
                                                   + p_c * (1 - p_c) / len(same_c))
    strata = {s for s, _ in matched}
    return {"matched_treated": n,
            "matched_comparison": sum(1 for s, _ in comparison if s in strata),
            "unmatched_treated": len(treated) - n,
            "unmatched_comparison": sum(1 for s, _ in comparison if s not in strata),
            "rate_treated": rate_t, "rate_comparison": rate_c,
            "standard_error": math.sqrt(variance)}


@pytest.mark.parametrize("seed", range(150))
def test_comparison_group_against_brute_force(seed: int) -> None:
    history, as_of = random_history(random.Random(seed))
    result = comparison_group(history, as_of)
    expected = ref_comparison(history, as_of)
    for key in ("matched_treated", "matched_comparison", "unmatched_treated",
                "unmatched_comparison"):
        assert result[key] == expected[key], key
    if expected["matched_treated"] == 0:
        assert result["difference"] is None
        return
    for key in ("rate_treated", "rate_comparison", "standard_error"):
        assert result[key] == pytest.approx(expected[key], abs=1e-12), key
    difference = expected["rate_treated"] - expected["rate_comparison"]
    assert result["difference"] == pytest.approx(difference, abs=1e-12)
    assert result["ci95_low"] == pytest.approx(difference - 1.96 * expected["standard_error"])
    assert result["ci95_high"] == pytest.approx(difference + 1.96 * expected["standard_error"])


def ref_survival_subjects(history: History, as_of: date) -> dict[str, list[tuple[int, bool]]]:
    subjects: dict[str, list[tuple[int, bool]]] = {}
    for person, start, cohort, end in ref_starts(history, as_of):
        stop = min(365, (as_of - start).days, (end - start).days if end else 365)
        if stop <= 0:
            continue
        days = [(offence - start).days + 1 for offence, _ in
                ref_convictions(history, person, as_of)]
        days = [d for d in days if 1 <= d <= stop]
        subjects.setdefault(cohort, []).append((min(days), True) if days else (stop, False))
    return subjects


@pytest.mark.parametrize("seed", range(150))
def test_time_to_first_reoffence_against_brute_force(seed: int) -> None:
    history, as_of = random_history(random.Random(seed))
    result = time_to_first_reoffence(history, as_of)["cohorts"]
    subjects = ref_survival_subjects(history, as_of)
    assert sorted(result) == sorted(subjects)
    for cohort, people in subjects.items():
        curve = result[cohort]["curve"]
        assert curve[0] == {"day": 0, "survival": 1.0, "at_risk": len(people), "events": 0,
                            "censored": 0}
        # S(day): the product over event days e <= day of (1 - d_e / n_e), d_e and n_e
        # found by scanning every person on every day.
        factors = [1.0]
        for e in range(1, 367):
            deaths = sum(1 for t, event in people if event and t == e)
            at_risk = sum(1 for t, _ in people if t >= e)
            factors.append(1 - deaths / at_risk if deaths else 1.0)
        median = None
        for day in range(0, 367):
            survival = math.prod(factors[: day + 1])
            step = [row for row in curve if row["day"] <= day][-1]
            assert step["survival"] == pytest.approx(survival, abs=1e-12), (cohort, day)
            if median is None and survival <= 0.5 + 1e-12:
                median = day
        assert result[cohort]["median"] == median
        for row in curve[1:]:
            assert row["at_risk"] == sum(1 for t, _ in people if t >= row["day"])
            assert row["events"] == sum(1 for t, e in people if e and t == row["day"])
            assert row["censored"] == sum(1 for t, e in people if not e and t == row["day"])
        assert [row["day"] for row in curve[1:]] == sorted({t for t, _ in people})


@pytest.mark.parametrize("seed", range(100))
def test_proven_reoffending_against_brute_force(seed: int) -> None:
    history, as_of = random_history(random.Random(seed))
    starts = ref_starts(history, as_of)
    quarters = {}
    for person, start, _, _ in starts:
        year, quarter = ref_quarter(start)
        row = quarters.setdefault(f"{year}-Q{quarter}", {"starts": 0, "reoffenders": 0,
                                                         "reoffences": 0})
        row["starts"] += 1
        reoffences = ref_reoffences(history, person, start, as_of)
        row["reoffenders"] += reoffences > 0
        row["reoffences"] += reoffences
        row["complete"] = ref_complete(start, as_of)
    result = proven_reoffending(history, as_of)["quarters"]
    assert [q["quarter"] for q in result] == sorted(quarters)
    for row in result:
        expected = quarters[row["quarter"]]
        assert (row["complete"], row["starts"]) == (expected["complete"], expected["starts"])
        if row["complete"]:
            assert (row["reoffenders"], row["reoffences"]) == (expected["reoffenders"],
                                                               expected["reoffences"])
            assert row["binary_rate"] == expected["reoffenders"] / expected["starts"]
            assert 0 <= row["binary_rate"] <= 1 and row["frequency"] >= row["binary_rate"]


@pytest.mark.parametrize("seed", range(100))
def test_offending_before_during_against_brute_force(seed: int) -> None:
    """Day by day: a day is during a registration in [start, end or as_of), and before one
    in the 365 days before its start, if after the end of every earlier registration."""
    history, as_of = random_history(random.Random(seed))
    registrations = ref_registrations(history, as_of)
    before_days = during_days = before = during = 0
    for person, start, _, end in registrations:
        earlier_ends = [r[3] for r in registrations if r[0] == person and r[1] < start]
        days_before = [start - timedelta(days=n) for n in range(1, 366)]
        days_before = [d for d in days_before if all(d >= e for e in earlier_ends)]
        days_during = [start + timedelta(days=n) for n in range(((end or as_of) - start).days)]
        before_days += len(days_before)
        during_days += len(days_during)
        offences = [o for o, _ in ref_convictions(history, person, as_of)]
        before += sum(1 for o in offences if o in set(days_before))
        during += sum(1 for o in offences if o in set(days_during))
    result = offending_before_during(history, as_of)
    assert result["registrations"] == len(registrations)
    assert result["person_years_before"] == pytest.approx(before_days / 365.25)
    assert result["person_years_during"] == pytest.approx(during_days / 365.25)
    assert (result["offences_before"], result["offences_during"]) == (before, during)
    assert sum(c["offences_during"] for c in result["categories"]) == during
