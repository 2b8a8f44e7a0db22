"""Soak of what every notifications worker keeps in memory: the evidence map's crimes
(``MapCrimes``, forgotten ``IOM_NOTIFY_CRIME_DAYS`` = 31 days after the crime on an hourly
timer, as ``app.forget_old_crimes``), the console board (``Board``: 2,000 newest cards, each
console's queue 256 cards, oldest dropped), the unfinished notifications (``Unfinished``:
pending, retrying or FAILED only) and the people directory (``Directory``), with no broker.

Driven for 42 simulated days in 10-minute steps: 300 people on iom.people, half registered
(people republished now and then, a few registered and deregistered); 2 crimes an hour; 6
new hits an hour (each revised once or twice within the next hours, some qualified) and a
zone breach an hour, all put on the board with two consoles listening, one that keeps up,
one that never reads; for each card two notifications, PENDING when made, 1 in 20 RETRYING once,
DELIVERED 10-30 minutes later, but 1 in 50 FAILED for good (a receiver that refused them and
was never redelivered to), read back into ``Unfinished`` as the worker follows
iom.notifications and forgotten ``IOM_NOTIFY_UNFINISHED_DAYS`` = 30 days after they were
made, hourly (``app.forget_old_unfinished``). Sizes are sampled every step.

Figures (peak over days 32-36 -> peak over days 37-41; ``pytest -s`` prints them): map
crimes 1,488 -> 1,488 (2 an hour for 31 days); board cards 2,000 -> 2,000 (full from day
12); the stalled console's queue 256 -> 256 (15,301 of its oldest cards dropped over the
42 days); the live console's 8 -> 8; unfinished notifications 444 -> 457 (30 days of
FAILED ones and what is in flight); people 300 -> 300, registered 154 -> 152.

Not driven: the outbox's per-recipient queues (``outbox.py``, bounded by
``IOM_NOTIFY_QUEUE_LIMIT`` with back pressure).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notifications.config import NotifySettings
from services.notifications.console import Board
from services.notifications.mapcrimes import MapCrimes
from services.notifications.routing import Directory
from services.notifications.unfinished import Unfinished
from tests.unit.soak.plateau import Sizes

START = datetime(2028, 1, 3, tzinfo=UTC)
DAYS = 42
STEP = timedelta(minutes=10)
PEOPLE = 300
RECIPIENTS = ("hampshire-police", "southampton-housing")


def test_notifications_memory_is_flat_once_the_crime_window_is_full() -> None:
    rng = random.Random(14)
    notify = NotifySettings()
    directory = Directory()
    clock = [START]
    board = Board(directory, clock=lambda: clock[0])
    crimes = MapCrimes()
    unfinished = Unfinished()
    live, stalled = board.listen(), board.listen()
    people = [f"P-{i:04d}" for i in range(PEOPLE)]
    for i, person in enumerate(people):
        directory.person(person, "Hampshire")
        if i % 2:
            directory.cohort(person, "REGISTERED", "PC 1")  # half of them on IOM
    sizes = Sizes({
        "map crimes": lambda: len(crimes),
        "board cards": lambda: len(board.items),
        "stalled console queue": stalled.qsize,
        "live console queue": live.qsize,
        "unfinished notifications": lambda: len(unfinished.latest),
        "unfinished made_from": lambda: len(unfinished.made_from),
        "people (directory)": lambda: len(directory._force),
        "registered (directory)": lambda: len(directory._registered),
    })
    # Full within the first days (bounded by the board's size, the queue's, the people and
    # what is in flight), so they are not asked to grow between days 0-4 and 32-36.
    bounded_early = ("board cards", "stalled console queue", "live console queue",
                     "people (directory)", "registered (directory)")

    due: dict[int, list[dict[str, Any]]] = {}  # step -> notification states to read back
    revisions: dict[int, list[tuple[str, int]]] = {}  # step -> hit revisions to put
    hits = crime_no = made = 0
    offset = 0

    def read_back(notification: dict[str, Any]) -> None:
        nonlocal offset
        offset += 1
        unfinished.keep(notification, f"iom.gps.hits/{offset % 12}/{offset}")

    def card_made(source_id: str, person: str, at_step: int, now: datetime) -> None:
        nonlocal made
        for recipient in RECIPIENTS:
            made += 1
            n = {"notification_id": f"N-{made}", "recipient": recipient, "person_id": person,
                 "source_id": source_id, "state": "PENDING", "created_at": now, "attempts": 0}
            read_back(n)
            later = at_step + rng.randrange(1, 4)
            if rng.random() < 1 / 20:
                due.setdefault(at_step + 1, []).append({**n, "state": "RETRYING", "attempts": 1})
                later += 1
            end = "FAILED" if rng.random() < 1 / 50 else "DELIVERED"
            due.setdefault(later, []).append({**n, "state": end, "attempts": 8})

    steps_a_day = 24 * 6
    for step in range(DAYS * steps_a_day):
        now = START + step * STEP
        clock[0] = now
        day = step // steps_a_day
        person = rng.choice(people)
        if rng.random() < 0.05:
            directory.person(person, "Hampshire")  # a Person republished
        if rng.random() < 0.02:
            directory.cohort(person, rng.choice(("REGISTERED", "DEREGISTERED")), "PC 1")
        if step % 3 == 0:  # 2 crimes an hour, reported an hour or two after
            crime_no += 1
            began = now - timedelta(minutes=rng.randrange(60, 180))
            crimes.keep({"crime_ref": f"44/{crime_no}/28", "version": 1,
                         "committed_from": began, "committed_to": began + timedelta(minutes=30)})
        hits += 1  # 6 new hits an hour, each revised once or twice within a few hours
        hit_id = f"H-{hits}"
        board.hit({"hit_id": hit_id, "revision": 1, "person_id": person, "fixes": [],
                   "nearest_fix_at": now})
        card_made(hit_id, person, step, now)
        for k in range(rng.randrange(1, 3)):
            revisions.setdefault(step + rng.randrange(1, 24), []).append((hit_id, 2 + k))
        for revised, revision in revisions.pop(step, []):
            if board.hit({"hit_id": revised, "revision": revision, "person_id": person,
                          "fixes": [], "nearest_fix_at": now}):
                card_made(revised, person, step, now)
            if rng.random() < 0.1:
                board.qualify(revised, {"outcome": "RULED_OUT"})
        if step % 6 == 0:  # a zone breach an hour
            board.breach({"breach_id": f"B-{step}", "person_id": person})
            card_made(f"B-{step}", person, step, now)
        for notification in due.pop(step, []):
            read_back(notification)
        if step % 6 == 0:  # app.forget_old_crimes, _evidence and _unfinished, hourly
            board.expire()
            crimes.forget_before(now - timedelta(days=notify.crime_days))
            unfinished.forget_before(now - timedelta(days=notify.unfinished_days))
        sizes.sample(day)
        while not live.empty():  # the console that keeps up
            live.get_nowait()

    assert board.dropped > 0  # the stalled console did lose its oldest cards
    figures = sizes.assert_flat(early=range(0, 5), full=range(32, 37), late=range(37, 42),
                                grows=tuple(n for n in sizes.probes if n not in bounded_early))
    sizes.report("notifications, 42 days: 2 crimes/h, 6 hits/h (+ revisions), 1 breach/h",
                 figures)
    print(f"  stalled console: {board.dropped:,} cards dropped")
