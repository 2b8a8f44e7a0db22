"""Time to first proven reoffence: Kaplan-Meier survival curves per cohort, on whole days.
Pure, like outcomes.py, whose definitions (starts, registrations, offences) it uses.

Time is counted in days of follow-up: day 1 is the start day itself, day 365 the last of the
365 days each start is followed for. A start is observed on its first ``stop`` days, stop =
365, or fewer when as_of comes first (the days before as_of) or the registration ends first
(deregistered, or registered again: the days before that). Its event is the first offence it
was observed committing (by offence date, with the conviction known by as_of even if it came
after stop), on day (offence date - start) + 1; with none, it is censored at ``stop``. So
S(d) is the share not known to have reoffended in their first d days, S(365) the follow-up
year's. Events on a day come before censorings on the same day (the usual convention), which
is exact here: a start censored at d was observed on day d.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date

from services.insights.model import History
from services.insights.outcomes import Known

#: Each start is followed for this many days (a fixed length, unlike outcomes' months).
FOLLOW_UP_DAYS = 365


def kaplan_meier(observations: Iterable[tuple[int, bool]]) -> dict:
    """The survival step curve of ``observations``: (day, event) pairs, event False for a
    censoring.

    Returns {"subjects", "events", "censored", "median", "curve"}: ``curve`` is a list of
    {"day", "survival", "at_risk", "events", "censored"}, first day 0 with survival 1.0,
    then one row per distinct event or censoring day, ``survival`` being S(day) after that
    day's events. ``median`` is the first day survival falls to 0.5 or below, None if it
    never does.
    """
    observations = list(observations)
    events = Counter(day for day, event in observations if event)
    censored = Counter(day for day, event in observations if not event)
    at_risk = len(observations)
    survival = 1.0
    median: int | None = None
    curve = [{"day": 0, "survival": 1.0, "at_risk": at_risk, "events": 0, "censored": 0}]
    for day in sorted(events.keys() | censored.keys()):
        if events[day]:
            survival *= 1 - events[day] / at_risk
        curve.append({"day": day, "survival": survival, "at_risk": at_risk,
                      "events": events[day], "censored": censored[day]})
        if median is None and survival <= 0.5:
            median = day
        at_risk -= events[day] + censored[day]
    return {
        "subjects": len(observations),
        "events": sum(events.values()),
        "censored": sum(censored.values()),
        "median": median,
        "curve": curve,
    }


def time_to_first_reoffence(history: History, as_of: date) -> dict:
    """Kaplan-Meier survival to the first proven reoffence (module docstring), per cohort of
    the registration, over the starts of all quarters; a start with no day observed (stop 0:
    registered on as_of, or deregistered the same day) is left out.
    Returns {"as_of", "follow_up_days", "cohorts": {cohort: survival.kaplan_meier(...)}}:
    {"subjects", "events", "censored", "median", "curve": [{"day", "survival", "at_risk",
    "events", "censored"}]}, the curve starting at day 0 with survival 1.0."""
    known = Known(history, as_of)
    observations: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for start in known.starts():
        stop = min(FOLLOW_UP_DAYS, (as_of - start.start).days,
                   (start.end - start.start).days if start.end else FOLLOW_UP_DAYS)
        if stop <= 0:
            continue
        days = ((o.offence_date - start.start).days + 1 for o in known.offences.get(
            start.person_id, ()))
        first = min((day for day in days if 1 <= day <= stop), default=None)
        observations[start.cohort].append((stop, False) if first is None else (first, True))
    return {"as_of": as_of.isoformat(), "follow_up_days": FOLLOW_UP_DAYS,
            "cohorts": {cohort: kaplan_meier(observations[cohort])
                        for cohort in sorted(observations)}}
