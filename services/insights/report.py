"""The page's figures as one document, its tables (what the charts draw, and the CSV and
Parquet exports), and the suppression of small counts for views that leave a force. Pure.

The management information covers the date range asked for; the outcome measures are by
quarterly cohort of start, each as complete as the data allows on ``as_of`` (outcomes.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.insights import mi, outcomes, survival
from services.insights.config import UnitCosts
from services.insights.model import History

# A dict holding any of these counts below the threshold also loses its rates: a rate of a
# handful of people identifies them as surely as the count.
DENOMINATORS = ("starts", "n", "subjects", "registrations", "people", "at_risk", "treated",
                "comparison", "matched_treated", "matched_comparison", "received", "sent",
                "tags", "size")
RATES = ("binary_rate", "frequency", "per_reoffender", "mean_predicted", "actual_rate",
         "difference", "rate_treated", "rate_comparison", "rate_before", "rate_during",
         "survival", "share_usable", "standard_error", "ci95_low", "ci95_high",
         "median_days_to_decision", "median_hours_report_to_ruling",
         "median_seconds_to_delivery", "median")
NOT_COUNTS = frozenset({"day", "follow_up_days", "median", "unit_cost"})


def build(history: History, *, start: datetime, end: datetime, as_of: datetime,
          costs: UnitCosts) -> dict[str, Any]:
    today = as_of.date()
    before_during = outcomes.offending_before_during(history, today)
    return {
        "as_of": as_of.isoformat(),
        "mi": mi.management_information(history, start, end),
        "outcomes": {
            "reoffending": outcomes.proven_reoffending(history, today),
            "reoffending_by_cohort": {cohort: outcomes.proven_reoffending(history, today,
                                                                          cohort)
                                      for cohort in mi.COHORTS},
            "calibration": outcomes.predicted_vs_actual(history, today),
            "comparison": outcomes.comparison_group(history, today),
            "survival": survival.time_to_first_reoffence(history, today),
            "before_during": before_during,
            "cost": outcomes.cost_of_offending(before_during, costs.costs, costs.source),
        },
    }


def suppress(document: Any, below: int) -> Any:
    """A copy with every count from 1 to ``below`` - 1 replaced by None, and the rates of a
    group that small too (zero is shown: it identifies nobody). Secondary suppression (a
    total minus its shown parts) is not done: see the README."""
    if isinstance(document, list):
        return [suppress(item, below) for item in document]
    if not isinstance(document, dict):
        return document
    small = any(_small(document.get(key), below) for key in DENOMINATORS)
    out = {}
    for key, value in document.items():
        if small and key in RATES:
            out[key] = None
        elif _small(value, below) and key not in NOT_COUNTS:
            out[key] = None
        else:
            out[key] = suppress(value, below)
    return out


def _small(value: Any, below: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < below


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _rows(items: list[dict[str, Any]], columns: list[str], **fixed: Any
          ) -> Iterator[tuple[Any, ...]]:
    for item in items:
        merged = {**fixed, **item}
        yield tuple(merged.get(c) for c in columns)


def tables(document: dict[str, Any]) -> dict[str, Table]:
    m, o = document["mi"], document["outcomes"]
    cohort_now = [(dimension, value, n) for dimension in ("cohort", "pathway", "rag")
                  for value, n in m["cohort"][f"by_{dimension}"].items()]
    activity = [(area, measure, value)
                for area in ("cohort", "referrals", "reviews", "hits", "zone_breaches",
                             "tag_health", "notifications")
                for measure, value in m[area].items() if not isinstance(value, dict)]
    month_cols = ["month", "size", "RED", "AMBER", "GREEN", "ungraded"]
    action_cols = ["agency", "agreed", "closed", "closed_late", "open", "overdue"]
    quarter_cols = ["cohort", "quarter", "complete", "starts", "reoffenders", "binary_rate",
                    "reoffences", "frequency", "per_reoffender", "offence_date_assumed"]
    reoffending = list(_rows(o["reoffending"]["quarters"], quarter_cols, cohort="ALL"))
    for cohort, measure in o["reoffending_by_cohort"].items():
        reoffending += _rows(measure["quarters"], quarter_cols, cohort=cohort)
    band_cols = ["band", "n", "mean_predicted", "actual_rate", "difference"]
    calibration = o["calibration"]
    comparison = o["comparison"]
    summary = [(k, v) for k, v in comparison.items()
               if k not in ("strata", "as_of", "caveat")]  # the caveat is the page's text
    strata_cols = ["band", "age_band", "offence", "treated", "comparison", "rate_treated",
                   "rate_comparison", "matched"]
    km_cols = ["cohort", "day", "survival", "at_risk", "events", "censored"]
    km = [row for cohort, curve in o["survival"]["cohorts"].items()
          for row in _rows(curve["curve"], km_cols, cohort=cohort)]
    bd = o["before_during"]
    bd_cols = ["offence", "offences_before", "offences_during", "rate_before", "rate_during"]
    before_during = [*_rows(bd["categories"], bd_cols),
                     ("ALL", bd["offences_before"], bd["offences_during"], bd["rate_before"],
                      bd["rate_during"])]
    cost = o["cost"]
    cost_cols = ["offence", "unit_cost", "offences_during", "cost_during",
                 "offences_prevented", "cost_prevented"]
    costs = [*_rows(cost["categories"], cost_cols),
             *_rows(cost["uncosted"], cost_cols)]
    return {
        "cohort_by_month": Table("Cohort at each month's end, by RAG", month_cols,
                                 list(_rows(m["cohort_by_month"], month_cols))),
        "cohort_now": Table("Cohort at the end of the range", ["dimension", "value", "people"],
                            cohort_now),
        "caseload": Table("Caseload per lead officer", ["lead_officer", "people"],
                          list(_rows(m["caseload"], ["lead_officer", "people"]))),
        "activity": Table("Activity in the range", ["area", "measure", "value"], activity),
        "plan_actions": Table("Plan actions by partner agency", action_cols,
                              list(_rows(m["plan_actions"], action_cols))),
        "reoffending": Table("Proven reoffending by quarterly cohort", quarter_cols,
                             reoffending),
        "calibration": Table("Predicted (OGRS3, one year) against actual", band_cols,
                             [*_rows(calibration["bands"], band_cols),
                              *_rows([calibration["overall"]], band_cols)]),
        "comparison": Table("Against a comparison group (not randomised)",
                            ["measure", "value"], summary),
        "comparison_strata": Table("Comparison strata", strata_cols,
                                   list(_rows(comparison["strata"], strata_cols))),
        "survival": Table("Time to first proven reoffence (Kaplan-Meier)", km_cols, km),
        "before_during": Table("Proven offences per person-year, before and during IOM",
                               bd_cols, before_during),
        "cost": Table("Estimated cost of offences (unit costs: " + cost["source"] + ")",
                      cost_cols, costs),
    }


TABLE_NAMES = ("cohort_by_month", "cohort_now", "caseload", "activity", "plan_actions",
               "reoffending",
               "calibration", "comparison", "comparison_strata", "survival", "before_during",
               "cost")


def csv_bytes(table: Table) -> bytes:
    """RFC 4180 CSV with a header row; a suppressed or unknown figure is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode()


def cohort_by_force(history: History, now: datetime) -> list[tuple[str, str, str, int]]:
    """(force, cohort type, rag, people) now: the ops gauges' figures."""
    counts: dict[tuple[str, str, str], int] = {}
    for member in mi.cohort_at(history, now):
        person = history.people.get(member.person_id)
        key = (person.force if person else "unknown", member.cohort, member.rag or "ungraded")
        counts[key] = counts.get(key, 0) + 1
    return [(*key, n) for key, n in sorted(counts.items())]


def latest_reoffending_by_force(history: History, now: datetime) -> dict[str, float | None]:
    """Each force's binary proven reoffending rate of its latest complete quarter."""
    forces = sorted({p.force for p in history.people.values()})
    out: dict[str, float | None] = {}
    for force in forces:
        people = {k: p for k, p in history.people.items() if p.force == force}
        own = History(people=people,
                      changes=[c for c in history.changes if c.person_id in people],
                      events=[e for e in history.events if e.person_id in people],
                      grades=[g for g in history.grades if g.person_id in people])
        quarters = [q for q in outcomes.proven_reoffending(own, now.date())["quarters"]
                    if q["complete"]]
        out[force] = quarters[-1]["binary_rate"] if quarters else None
    return out
