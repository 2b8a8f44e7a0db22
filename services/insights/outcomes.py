"""Outcome measures: does offending change for people managed on IOM?

Pure functions of a :class:`~services.insights.model.History` and an ``as_of`` date (never
the clock), each returning plain JSON-able dicts and lists (dates as ISO strings) for the web
layer and its charts. Definitions, shared by every measure:

- **Known**: only records dated on or before ``as_of`` are read, so a history looked at as of
  an earlier day sees what was known then. An event listed twice (same event_id) counts once,
  as do a decision listed twice and a cohort change listed twice.
- **Registration**: a REGISTERED cohort change. It lasts, as the days [start, end), until the
  person's next DEREGISTERED, or their next REGISTERED (which starts a new registration);
  one still open at ``as_of`` is observed up to ``as_of``. Datetimes count on their own date.
- **Start**: each registration is a start (someone who leaves and comes back starts again),
  but within one quarter a person counts once, at their first start in it. A quarter is named
  after the start date, e.g. "2025-Q3". A cohort filter (FIXED, FLEX, FREE) keeps the starts
  of that cohort first, then applies the once-a-quarter rule.
- **Proven reoffence** (the Ministry of Justice proven reoffending measure): a CONVICTED
  event (any disposal: a caution is CONVICTED with disposal CAUTION) whose offence was
  committed in the follow-up year [start, start + 12 months) and whose conviction (the
  event's occurred_at) came before the end of the six-month waiting period that follows it,
  start + 12 months + 6 months. Months are calendar months, a 29 February or a 31st
  becoming the month's last day (:func:`add_months`), so a 29 February 2024 start is
  followed to 28 February 2025 (exclusive) and waited for until 28 August 2025 (exclusive).
  An event without an offence_date is taken to be committed on its conviction date, and
  counted as ``offence_date_assumed``.
- **Complete cohort**: a quarter whose last day + 18 months is on or before ``as_of``: every
  start in it has had its follow-up and waiting period. Only complete quarters get rates.
- **Prediction**: the ``p_one_year`` of the person's latest grade (among those that have a
  p_one_year) graded on or before the start day; failing that, the earliest graded in the 28
  days after it; failing that the start is *unpredicted*. Its band is the grade's
  ``static_band``; a grade without one is banded on p_one_year: < 0.25 LOW, < 0.5 MEDIUM,
  < 0.75 HIGH, else VERY_HIGH. (That fallback is an approximation: the risk service bands
  OGRS3 on the two-year probability, at 0.50, 0.75 and 0.90.)
- **Person-years**: days / 365.25, before IOM as during it.

The comparison group (:func:`comparison_group`) is NOT randomised; see its docstring. Time
to first reoffence (Kaplan-Meier) is in survival.py.
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from iomkit.offences import STATIC_BANDS
from services.insights.model import Change, Decision, Event, Grade, History

FOLLOW_UP_MONTHS = 12
WAITING_MONTHS = 6
#: A quarter is complete this long after its last day (follow-up + waiting period).
COMPLETE_AFTER_MONTHS = FOLLOW_UP_MONTHS + WAITING_MONTHS
#: A grade this many days after a start still predicts it (scored soon after registering).
GRADE_AFTER_DAYS = 28
YEAR_DAYS = 365.25
BEFORE_DAYS = 365
UNKNOWN = "unknown"
Z95 = 1.96

CAVEAT = (
    "Not randomised. The comparison group is people the panel rejected who were not "
    "registered in the 12 months after, matched only on OGRS3 band, age band and offence "
    "category. The panel rejected them for reasons that may bear on their reoffending, so "
    "the difference is an association, not a measured effect of IOM."
)


def add_months(day: date, months: int) -> date:
    """``day`` moved by calendar months, the 29th-31st clamped to the month's last day."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def cohort_complete(quarter: str, as_of: date) -> bool:
    """Every start in ``quarter`` has had 12 months' follow-up and 6 months' waiting by as_of.

    The quarter's last day is its latest start; add_months never moves an earlier day past a
    later one, and start + 12 + 6 months <= start + 18 months, so checking it is enough."""
    year, number = int(quarter[:4]), int(quarter[-1])
    last = date(year, number * 3, calendar.monthrange(year, number * 3)[1])
    return add_months(last, COMPLETE_AFTER_MONTHS) <= as_of


def band_of(grade: Grade) -> str:
    """The grade's static band, or one read off p_one_year when the grade has none."""
    if grade.static_band:
        return grade.static_band
    p = grade.p_one_year
    if p is None:
        return UNKNOWN
    return "LOW" if p < 0.25 else "MEDIUM" if p < 0.5 else "HIGH" if p < 0.75 else "VERY_HIGH"


def age_band(date_of_birth: date | None, day: date) -> str:
    """Age in whole years on ``day``, banded; "under 18" too, though IOM is for adults."""
    if date_of_birth is None:
        return UNKNOWN
    age = day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month,
                                                                   date_of_birth.day))
    for upper, band in ((18, "under 18"), (25, "18-24"), (35, "25-34"), (50, "35-49")):
        if age < upper:
            return band
    return "50+"


@dataclass(frozen=True)
class Registration:
    person_id: str
    start: date
    cohort: str
    end: date | None  # DEREGISTERED or registered again; None while still open at as_of

    @property
    def quarter(self) -> str:
        return quarter_of(self.start)


@dataclass(frozen=True)
class Offence:
    offence_date: date  # the conviction date when the event did not say
    convicted_on: date
    offence: str
    assumed: bool  # offence_date was missing


class Known:
    """The history as known on ``as_of``, indexed by person: what every measure reads."""

    def __init__(self, history: History, as_of: date) -> None:
        self.as_of = as_of
        self.people = history.people
        self.registrations = _registrations(history.changes, as_of)
        self.offences = _offences(history.events, as_of)
        self.grades: dict[str, list[Grade]] = defaultdict(list)
        for grade in sorted(history.grades, key=lambda g: (g.graded_at, g.revision)):
            # A grade without p_one_year predicts nothing, so it is not a candidate.
            if grade.p_one_year is not None and grade.graded_at.date() <= as_of:
                self.grades[grade.person_id].append(grade)

    def starts(self, cohort: str | None = None) -> list[Registration]:
        """The starts: registrations, the first of a person's in a quarter only."""
        seen: set[tuple[str, str]] = set()
        starts = []
        for registration in self.registrations:  # in date order, so the first comes first
            key = (registration.person_id, registration.quarter)
            if (cohort is None or registration.cohort == cohort) and key not in seen:
                seen.add(key)
                starts.append(registration)
        return starts

    def proven(self, person_id: str, start: date) -> list[Offence]:
        """The proven reoffences of a start on ``start`` (the MoJ definition above)."""
        follow_up_end = add_months(start, FOLLOW_UP_MONTHS)
        waiting_end = add_months(follow_up_end, WAITING_MONTHS)
        return [o for o in self.offences.get(person_id, ())
                if start <= o.offence_date < follow_up_end and o.convicted_on < waiting_end]

    def prediction(self, person_id: str, day: date) -> Grade | None:
        """The grade that predicted a start on ``day`` (module docstring), if any."""
        grades = self.grades.get(person_id, [])
        before = [g for g in grades if g.graded_at.date() <= day]
        if before:
            return before[-1]
        latest = day + timedelta(days=GRADE_AFTER_DAYS)
        return next((g for g in grades if day < g.graded_at.date() <= latest), None)


def _registrations(changes: Iterable[Change], as_of: date) -> list[Registration]:
    by_person: dict[str, list[Change]] = defaultdict(list)
    for change in dict.fromkeys(changes):  # a change listed twice counts once
        if (change.change in ("REGISTERED", "DEREGISTERED")
                and change.effective_at.date() <= as_of):
            by_person[change.person_id].append(change)
    registrations = []
    for person_id, person_changes in by_person.items():
        current: Registration | None = None
        for change in sorted(person_changes, key=lambda c: c.effective_at):
            day = change.effective_at.date()
            if current is not None:  # DEREGISTERED ends it; another REGISTERED replaces it
                registrations.append(replace(current, end=day))
                current = None
            if change.change == "REGISTERED":
                current = Registration(person_id, day, change.cohort, None)
        if current is not None:
            registrations.append(current)
    # sorted() is stable: a person's same-day registrations keep their order.
    return sorted(registrations, key=lambda r: r.start)


def _offences(events: Iterable[Event], as_of: date) -> dict[str, list[Offence]]:
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event.event_id, event)  # the same event sent twice counts once
    offences: dict[str, list[Offence]] = defaultdict(list)
    for event in unique.values():
        convicted_on = event.occurred_at.date()
        if event.type == "CONVICTED" and convicted_on <= as_of:
            offences[event.person_id].append(Offence(
                event.offence_date or convicted_on, convicted_on, event.offence or UNKNOWN,
                event.offence_date is None))
    return offences


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def proven_reoffending(history: History, as_of: date, cohort: str | None = None) -> dict:
    """Proven reoffending per quarter of start (the MoJ measure, module docstring).

    {"as_of", "cohort", "quarters": [{"quarter", "complete", "starts", "reoffenders",
    "binary_rate", "reoffences", "frequency", "per_reoffender", "offence_date_assumed"}]},
    quarters in order; an incomplete quarter has only its starts, the rest None."""
    known = Known(history, as_of)
    by_quarter: dict[str, list[Registration]] = defaultdict(list)
    for start in known.starts(cohort):
        by_quarter[start.quarter].append(start)
    quarters = []
    for quarter in sorted(by_quarter):
        starts = by_quarter[quarter]
        row: dict = {"quarter": quarter, "complete": cohort_complete(quarter, as_of),
                     "starts": len(starts)}
        if not row["complete"]:  # some follow-ups or waiting periods not over: no rates yet
            row.update(dict.fromkeys(("reoffenders", "binary_rate", "reoffences", "frequency",
                                      "per_reoffender", "offence_date_assumed")))
            quarters.append(row)
            continue
        proven = [known.proven(s.person_id, s.start) for s in starts]
        reoffenders = sum(1 for offences in proven if offences)
        reoffences = sum(len(offences) for offences in proven)
        row.update({
            "reoffenders": reoffenders, "binary_rate": _ratio(reoffenders, len(starts)),
            "reoffences": reoffences, "frequency": _ratio(reoffences, len(starts)),
            "per_reoffender": _ratio(reoffences, reoffenders),
            "offence_date_assumed": sum(o.assumed for offences in proven for o in offences),
        })
        quarters.append(row)
    return {"as_of": as_of.isoformat(), "cohort": cohort, "quarters": quarters}


def _calibration(band: str, pairs: list[tuple[float, bool]]) -> dict:
    n = len(pairs)
    predicted = _ratio(sum(p for p, _ in pairs), n)
    actual = _ratio(sum(1 for _, reoffended in pairs if reoffended), n)
    return {"band": band, "n": n, "mean_predicted": predicted, "actual_rate": actual,
            "difference": None if n == 0 else actual - predicted}


def predicted_vs_actual(history: History, as_of: date, cohort: str | None = None) -> dict:
    """Calibration: OGRS3's one-year prediction against proven reoffending, per band.

    Starts in complete quarters only. {"as_of", "cohort", "starts", "unpredicted",
    "bands": [{"band", "n", "mean_predicted", "actual_rate", "difference"}], "overall": {the
    same, band "ALL"}}; the four bands always, LOW first (None figures when n is 0), then any
    band the grades name that is not one of them; difference = actual - predicted."""
    known = Known(history, as_of)
    starts = [s for s in known.starts(cohort) if cohort_complete(s.quarter, as_of)]
    by_band: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    unpredicted = 0
    for start in starts:
        grade = known.prediction(start.person_id, start.start)
        if grade is None or grade.p_one_year is None:
            unpredicted += 1
            continue
        reoffended = bool(known.proven(start.person_id, start.start))
        by_band[band_of(grade)].append((grade.p_one_year, reoffended))
    bands = [*STATIC_BANDS, *sorted(set(by_band) - set(STATIC_BANDS))]
    return {
        "as_of": as_of.isoformat(), "cohort": cohort, "starts": len(starts),
        "unpredicted": unpredicted,
        "bands": [_calibration(band, by_band.get(band, [])) for band in bands],
        "overall": _calibration("ALL", [pair for pairs in by_band.values() for pair in pairs]),
    }


def _stratum(known: Known, person_id: str, day: date) -> tuple[str, str, str]:
    grade = known.prediction(person_id, day)
    person = known.people.get(person_id)
    return (band_of(grade) if grade is not None else UNKNOWN,
            age_band(person.date_of_birth if person else None, day),
            (person.current_offence if person else None) or UNKNOWN)


def comparison_starts(known: Known, decisions: Iterable[Decision]) -> list[tuple[str, date]]:
    """The comparison starts: (person_id, decision day) of each REJECTED decision whose person
    was neither on IOM that day nor registered in the 12 months after, the first such of a
    person's in a quarter only (as for starts)."""
    by_id: dict[str, Decision] = {}
    for decision in decisions:
        by_id.setdefault(decision.decision_id, decision)
    registrations: dict[str, list[Registration]] = defaultdict(list)
    for registration in known.registrations:
        registrations[registration.person_id].append(registration)
    seen: set[tuple[str, str]] = set()
    found = []
    for decision in sorted(by_id.values(), key=lambda d: d.decided_at):
        day = decision.decided_at.date()
        if decision.outcome != "REJECTED" or day > known.as_of:
            continue
        until = add_months(day, FOLLOW_UP_MONTHS)
        if any(day <= r.start < until or (r.start < day and (r.end is None or r.end > day))
               for r in registrations[decision.person_id]):
            continue  # registered within the year, or already on IOM: not untreated
        key = (decision.person_id, quarter_of(day))
        if key not in seen:
            seen.add(key)
            found.append((decision.person_id, day))
    return found


def comparison_group(history: History, as_of: date) -> dict:
    """Proven reoffending of starts against a comparison group, stratified. NOT randomised.

    Treated: the starts of complete quarters. Comparison: :func:`comparison_starts` in complete
    quarters, started on the decision day, followed up and counted the same way. Both are
    matched exactly on strata (band as for predictions, "unknown" when unpredicted; age band
    at start; the person's current_offence or "unknown"). Over strata with both groups,
    weights w = treated in stratum / matched treated: rate = sum w * rate, difference =
    treated - comparison, se = sqrt(sum w^2 (pt(1-pt)/nt + pc(1-pc)/nc)), 95% CI = difference
    +- 1.96 se. Returns {"as_of", "caveat", "matched_treated", "matched_comparison",
    "unmatched_treated", "unmatched_comparison", "rate_treated", "rate_comparison",
    "difference", "standard_error", "ci95_low", "ci95_high", "strata": [{"band",
    "age_band", "offence", "treated", "comparison", "rate_treated", "rate_comparison",
    "matched"}]}; figures None when nothing matched."""
    known = Known(history, as_of)
    groups: dict[tuple[str, str, str], tuple[list[bool], list[bool]]] = defaultdict(
        lambda: ([], []))
    for start in known.starts():
        if cohort_complete(start.quarter, as_of):
            groups[_stratum(known, start.person_id, start.start)][0].append(
                bool(known.proven(start.person_id, start.start)))
    for person_id, day in comparison_starts(known, history.decisions):
        if cohort_complete(quarter_of(day), as_of):
            groups[_stratum(known, person_id, day)][1].append(bool(known.proven(person_id, day)))
    # Sorted, so the sums are added in the same order every time (same float result).
    matched = sorted(key for key, (treated, comparison) in groups.items()
                     if treated and comparison)
    is_matched = set(matched)
    matched_treated = sum(len(groups[key][0]) for key in matched)
    rate_treated = rate_comparison = variance = 0.0
    for key in matched:
        treated, comparison = groups[key]
        weight = len(treated) / matched_treated
        p_t, p_c = sum(treated) / len(treated), sum(comparison) / len(comparison)
        rate_treated += weight * p_t
        rate_comparison += weight * p_c
        variance += weight ** 2 * (p_t * (1 - p_t) / len(treated)
                                   + p_c * (1 - p_c) / len(comparison))
    se = math.sqrt(variance)
    difference = rate_treated - rate_comparison
    any_matched = matched_treated > 0
    return {
        "as_of": as_of.isoformat(), "caveat": CAVEAT,
        "matched_treated": matched_treated,
        "matched_comparison": sum(len(groups[key][1]) for key in matched),
        "unmatched_treated": sum(len(t) for key, (t, _) in groups.items()
                                 if key not in is_matched),
        "unmatched_comparison": sum(len(c) for key, (_, c) in groups.items()
                                    if key not in is_matched),
        "rate_treated": rate_treated if any_matched else None,
        "rate_comparison": rate_comparison if any_matched else None,
        "difference": difference if any_matched else None,
        "standard_error": se if any_matched else None,
        "ci95_low": difference - Z95 * se if any_matched else None,
        "ci95_high": difference + Z95 * se if any_matched else None,
        "strata": [
            {"band": key[0], "age_band": key[1], "offence": key[2],
             "treated": len(treated), "comparison": len(comparison),
             "rate_treated": _ratio(sum(treated), len(treated)),
             "rate_comparison": _ratio(sum(comparison), len(comparison)),
             "matched": key in is_matched}
            for key, (treated, comparison) in sorted(groups.items())],
    }


def offending_before_during(history: History, as_of: date, cohort: str | None = None) -> dict:
    """Proven offences per person-year in the year before each registration and during it.

    Every registration counts (not only starts: the time on IOM is all of it). During: the
    days [start, end), end = deregistered or registered again, or as_of while open. Before:
    the 365 days before the start, cut short so as not to reach back into the person's
    previous registration (nor, as a result, into its before-year: an offence is not counted
    twice). Offences are CONVICTED events by offence date (conviction on or before as_of).
    Returns {"as_of", "cohort", "registrations", "people", "person_years_before",
    "person_years_during", "offences_before", "offences_during", "rate_before",
    "rate_during", "offence_date_assumed", "categories": [{"offence", "offences_before",
    "offences_during", "rate_before", "rate_during"}]} (categories by event.offence, or
    "unknown"; rates per person-year, None with no person-years)."""
    known = Known(history, as_of)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # offence -> [before, during]
    previous_end: dict[str, date] = {}
    registrations = before_days = during_days = assumed = 0
    people: set[str] = set()
    for registration in known.registrations:
        person_id, start = registration.person_id, registration.start
        year_before = start - timedelta(days=BEFORE_DAYS)
        before_from = max(year_before, previous_end.get(person_id, year_before))
        end = registration.end or as_of
        previous_end[person_id] = end  # any cohort's registration is time on IOM
        if cohort is not None and registration.cohort != cohort:
            continue
        registrations += 1
        people.add(person_id)
        before_days += (start - before_from).days
        during_days += (end - start).days
        for offence in known.offences.get(person_id, ()):
            if before_from <= offence.offence_date < end:  # before (0) or during (1)
                counts[offence.offence][offence.offence_date >= start] += 1
                assumed += offence.assumed
    years_before, years_during = before_days / YEAR_DAYS, during_days / YEAR_DAYS
    before = sum(c[0] for c in counts.values())
    during = sum(c[1] for c in counts.values())
    return {
        "as_of": as_of.isoformat(), "cohort": cohort, "registrations": registrations,
        "people": len(people), "person_years_before": years_before,
        "person_years_during": years_during, "offences_before": before,
        "offences_during": during, "rate_before": _ratio(before, years_before),
        "rate_during": _ratio(during, years_during), "offence_date_assumed": assumed,
        "categories": [
            {"offence": offence, "offences_before": b, "offences_during": d,
             "rate_before": _ratio(b, years_before), "rate_during": _ratio(d, years_during)}
            for offence, (b, d) in sorted(counts.items())],
    }


def cost_of_offending(before_during: Mapping, unit_costs: Mapping[str, float],
                      source: str) -> dict:
    """What the change in offending is worth, from :func:`offending_before_during`'s output.

    Per category with a unit cost: offences_prevented = (rate_before - rate_during) *
    person_years_during (negative: more offences during than before, a cost incurred),
    cost_prevented = offences_prevented * unit_cost, and cost_during = offences_during *
    unit_cost. A category without a unit cost is listed in ``uncosted`` with its counts and
    no figure. Returns {"source", "person_years_during", "categories": [{"offence",
    "unit_cost", "offences_during", "cost_during", "offences_prevented",
    "cost_prevented"}], "uncosted": [{"offence", "offences_before", "offences_during"}],
    "cost_prevented", "cost_during"} (totals over costed categories; offences_prevented and
    cost_prevented None when a rate is None, i.e. no person-years)."""
    years = before_during["person_years_during"]
    costed, uncosted = [], []
    for category in before_during["categories"]:
        unit = unit_costs.get(category["offence"])
        if unit is None:
            uncosted.append({key: category[key]
                             for key in ("offence", "offences_before", "offences_during")})
            continue
        rates = (category["rate_before"], category["rate_during"])
        prevented = None if None in rates else (rates[0] - rates[1]) * years
        costed.append({
            "offence": category["offence"], "unit_cost": unit,
            "offences_during": category["offences_during"],
            "cost_during": category["offences_during"] * unit,
            "offences_prevented": prevented,
            "cost_prevented": None if prevented is None else prevented * unit,
        })
    prevented_costs = [row["cost_prevented"] for row in costed]
    return {
        "source": source, "person_years_during": years, "categories": costed,
        "uncosted": uncosted,
        "cost_prevented": None if None in prevented_costs else sum(prevented_costs),
        "cost_during": sum(row["cost_during"] for row in costed),
    }
