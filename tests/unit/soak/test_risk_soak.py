"""Soak of the risk worker's per-person state (``PersonState``, the changelog store's
values): 160 simulated days through ``rescoring.rescore`` as the hot path applies each
input, with no broker. Events are kept 120 days (``person.KEEP_EVENTS``, convictions
kept), grade changes 100 (``person.KEEP_CHANGES``).

Driven: 120 people; 110 of them quiet (an offender event, zone breach or GPS hit about
every 10 days, one hit in five later withdrawn), 10 busy (two inputs a day); a review tick
for every person each simulated day (``IOM_RISK_REVIEW_INTERVAL_S``, 86400); complete
grades on, so every change of reasons is a published grade. No convictions: those are
facts and are kept for good. Sizes are sampled daily.

Figures (peak over days 125-129 -> peak over days 155-159; ``pytest -s`` prints them):
events held, all people 3,614 -> 3,648; the busiest person's 233 -> 234 (two a day for
120 days); grade changes held by the 10 busy people 975 -> 1,000, the busiest person's
100 -> 100. Grade changes are bounded by count, not time: the quiet people held 4,694
after 160 days, still filling towards 100 each.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.risk import rules as rules_module
from services.risk.person import KEEP_CHANGES, PersonState
from services.risk.rescoring import REVIEW, rescore
from tests.unit.soak.plateau import Sizes

START = datetime(2028, 1, 3, 9, tzinfo=UTC)
DAYS = 160
PEOPLE = 120
BUSY = 10
KINDS = ("ARRESTED", "BREACH_RAISED", "RECALLED", "CHARGED", "MISSED_APPOINTMENT")


def person(i: int) -> dict[str, Any]:
    return {"person_id": f"P-{i:04d}", "force": "Hampshire", "sex": "MALE",
            "date_of_birth": date(1980 + i % 10, 1 + i % 12, 1 + i % 28),
            "first_sanction_date": date(2003, 5, 1), "previous_sanctions": 2 + i % 9,
            "current_offence": "BURGLARY_DOMESTIC", "current_conviction_date": date(2024, 6, 1),
            "licence_end_date": None}


def test_risk_person_state_is_flat_once_the_event_window_is_full() -> None:
    rng = random.Random(14)
    rules = rules_module.load()
    states = {i: PersonState() for i in range(PEOPLE)}
    for i, state in states.items():
        rescore(state, "Person", person(i), START, rules, True)
    sizes = Sizes({
        "events held (all people)": lambda: sum(len(s.events) for s in states.values()),
        "events held (busiest person)": lambda: max(len(s.events) for s in states.values()),
        # Changes are bounded by count, not time: a quiet person fills to 100 in a year or
        # more, so only the busy people's sum must be flat here (each person's is checked).
        "grade changes held (busy people)": lambda: sum(len(states[i].changes)
                                                        for i in range(BUSY)),
        "grade changes held (busiest person)": lambda: max(len(s.changes)
                                                           for s in states.values()),
    })
    made = 0
    hits: list[tuple[int, str, datetime]] = []
    for day in range(DAYS):
        for i, state in states.items():
            inputs = 2 if i < BUSY else (1 if rng.random() < 0.1 else 0)
            for _ in range(inputs):
                made += 1
                now = START + timedelta(days=day, minutes=rng.randrange(600))
                at = now - timedelta(hours=rng.randrange(1, 48))
                kind = rng.random()
                if kind < 0.6:
                    record, value = "OffenderEvent", {
                        "event_id": f"EV-{made}", "person_id": f"P-{i:04d}",
                        "type": rng.choice(KINDS), "occurred_at": at, "offence": None}
                elif kind < 0.8:
                    record, value = "ZoneBreach", {"breach_id": f"B-{made}", "first_fix_at": at}
                else:
                    record, value = "CrimeHit", {"hit_id": f"H-{made}", "status": "ACTIVE",
                                                 "nearest_fix_at": at}
                    if rng.random() < 0.2:
                        hits.append((i, f"H-{made}", now + timedelta(days=rng.randrange(1, 5))))
                rescore(state, record, value, now, rules, True)
        tick = START + timedelta(days=day, hours=23)
        for i, hit, when in [h for h in hits if h[2] <= tick]:  # withdrawn hits
            rescore(states[i], "CrimeHit", {"hit_id": hit, "status": "WITHDRAWN",
                                             "nearest_fix_at": when}, when, rules, True)
        hits = [h for h in hits if h[2] > tick]
        for state in states.values():  # the review timer: time passing, every person
            rescore(state, REVIEW, {"as_of": tick.isoformat()}, tick, rules, True)
        sizes.sample(day)

    assert max(len(s.changes) for s in states.values()) == KEEP_CHANGES
    quiet_changes = sum(len(states[i].changes) for i in range(BUSY, PEOPLE))
    print(f"\n  quiet people's grade changes after {DAYS} days: {quiet_changes:,} "
          f"(at most {KEEP_CHANGES} each)")
    figures = sizes.assert_flat(early=range(0, 5), full=range(125, 130),
                                late=range(DAYS - 5, DAYS),
                                grows=tuple(sizes.probes))
    sizes.report(f"risk, {PEOPLE} people ({BUSY} busy), {DAYS} days, daily reviews", figures)
