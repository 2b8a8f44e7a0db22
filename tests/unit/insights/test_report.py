"""The page's document: small counts suppressed for views that leave a force, the tables
the charts and exports are made of, CSV that parses back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from services.insights import report
from services.insights.config import UnitCosts
from services.insights.model import Change, Event, Grade, History, Person


def test_small_counts_and_their_rates_are_suppressed_zero_and_days_are_not():
    document = {"quarters": [
        {"quarter": "2025-Q1", "starts": 3, "reoffenders": 1, "binary_rate": 0.33},
        {"quarter": "2025-Q2", "starts": 40, "reoffenders": 12, "binary_rate": 0.3},
        {"quarter": "2025-Q3", "starts": 40, "reoffenders": 0, "binary_rate": 0.0}],
        "curve": [{"day": 3, "survival": 0.9, "at_risk": 2, "events": 1}],
        "complete": True}
    out = report.suppress(document, 5)
    q1, q2, q3 = out["quarters"]
    assert q1 == {"quarter": "2025-Q1", "starts": None, "reoffenders": None,
                  "binary_rate": None}
    assert q2 == document["quarters"][1]
    assert q3["reoffenders"] == 0 and q3["binary_rate"] == 0.0
    assert out["curve"] == [{"day": 3, "survival": None, "at_risk": None, "events": None}]
    assert out["complete"] is True  # a bool is not a count
    assert document["quarters"][0]["starts"] == 3  # the original is left alone


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def small_history() -> History:
    people = {f"P{n}": Person(f"P{n}", "Hampshire", date(1990, 1, 1), "MALE", "ROBBERY")
              for n in range(6)}
    changes = [Change(p, "REGISTERED", "FIXED", at(2024, 1, 10), None, "PC 1") for p in people]
    grades = [Grade(p, 1, "RED", at(2024, 1, 9), 0.6, 0.4, "MEDIUM") for p in people]
    events = [Event("E1", "P0", "CONVICTED", at(2024, 9, 1), "ROBBERY", date(2024, 5, 1))]
    return History(people=people, changes=changes, grades=grades, events=events)


def test_every_table_is_made_and_matches_the_document():
    document = report.build(small_history(), start=at(2024, 1, 1), end=at(2025, 1, 1),
                            as_of=at(2026, 1, 1), costs=UnitCosts("a named source", {}))
    tables = report.tables(document)
    assert tuple(tables) == report.TABLE_NAMES
    [q1] = [r for r in tables["reoffending"].rows if r[0] == "ALL"]
    # 6 starts in 2024-Q1, complete by 2025-09-30 + ... (as of 2026-01-01), 1 reoffender
    assert q1[:6] == ("ALL", "2024-Q1", True, 6, 1, 1 / 6)
    months = tables["cohort_by_month"]
    assert [r[1] for r in months.rows] == [6] * 12
    assert tables["caseload"].rows == [("PC 1", 6)]
    assert ("dimension", "value", "people") == tuple(tables["cohort_now"].columns)
    # suppressed below 7: the six are hidden everywhere they are counted
    hidden = report.tables(report.suppress(document, 7))
    assert hidden["caseload"].rows == [("PC 1", None)]
    assert next(r for r in hidden["reoffending"].rows if r[0] == "ALL")[3:6] == (None,) * 3


def test_csv_has_a_header_and_empty_fields_for_missing_figures():
    table = report.Table("t", ["band", "n", "rate"], [("LOW", 3, 0.5), ('a "b", c', None, 1)])
    parsed = list(csv.reader(io.StringIO(report.csv_bytes(table).decode())))
    assert parsed == [["band", "n", "rate"], ["LOW", "3", "0.5"], ['a "b", c', "", "1"]]


def test_gauges_figures_by_force():
    history = small_history()
    history.people["K"] = Person("K", "Kent")
    history.changes.append(Change("K", "REGISTERED", "FLEX", at(2024, 2, 1)))
    assert report.cohort_by_force(history, at(2025, 1, 1)) == [
        ("Hampshire", "FIXED", "RED", 6), ("Kent", "FLEX", "ungraded", 1)]
    rates = report.latest_reoffending_by_force(history, at(2026, 1, 1))
    assert rates == {"Hampshire": 1 / 6, "Kent": 0.0}
