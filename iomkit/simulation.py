"""Playing a simulated world (``iomkit.simulator``) onto the bus, as the agencies and the tag
supplier would: people, enrolments, pings as they arrive (late bursts included), crimes as
they are reported. As fast as the broker takes them, or ``speed`` times real time; a
progress bar with rates. The world's ground truth (``truth_json``) is written beside it by
``iom simulate --truth FILE`` for checking."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Collection
from typing import Any

import orjson
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from iomkit import headers as h
from iomkit import kafka, kernel
from iomkit.codec import Codec
from iomkit.metrics import samples, sum_of
from iomkit.settings import Settings
from iomkit.simulator import World, ms


def truth_json(world: World) -> bytes:
    """crime_ref -> the people the hit rule places near it, with the world's summary."""
    return orjson.dumps({"seed": world.seed, "start": world.start, "end": world.end,
                         "summary": world.summary(),
                         "truth": {ref: sorted(people) for ref, people in
                                   sorted(world.truth.items())}},
                        option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z)


async def play(settings: Settings, codec: Codec, world: World, speed: float = 0.0,
               show: bool = True) -> Counter[str]:
    """Publish every message of ``world``; records published per topic. ``speed`` 0: as
    fast as possible; otherwise a message is sent ``(at - start) / speed`` after the world's
    start (what comes before it at once).
    Every delivery is checked before it returns (a failed one raises)."""
    messages = world.messages()
    producer = kernel.Outputs(kafka.producer(settings, enable_idempotence=True))
    await producer.start()
    sent: Counter[str] = Counter()
    columns = (TextColumn("simulating"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.completed:,} of {task.total:,} records, {task.fields[rate]}"),
               TimeElapsedColumn())
    try:
        with Progress(*columns, disable=not show) as progress:
            task = progress.add_task("records", total=len(messages), rate="")
            # What comes before the world starts (people, tags fitted a day earlier) is sent
            # at once; the pace counts from the start.
            began, first = time.monotonic(), ms(world.start)
            for n, message in enumerate(messages, 1):
                if speed > 0:
                    wait = (message.at_ms - first) / 1000 / speed - (time.monotonic() - began)
                    if wait > 0:
                        await asyncio.sleep(wait)
                await producer.send(message.topic, codec.encode(message.record, message.value),
                                    key=message.key.encode(),
                                    headers=h.record_headers(message.record))
                sent[message.topic] += 1
                if n % 1000 == 0 or n == len(messages):
                    rate = n / max(time.monotonic() - began, 1e-6)
                    progress.update(task, completed=n, rate=f"{rate:,.0f}/s")
            await producer.flush()
    finally:
        await producer.stop()
    return sent


# -- a day carried: one line every few seconds ------------------------------------------------

# What the summary adds up from the services' /metrics (name, labels that must match).
FIGURES: dict[str, tuple[str, dict[str, str]]] = {
    "fixes_in": ("iom_records_in_total", {"service": "gps_stream", "topic": "iom.tag.pings"}),
    "hits_out": ("iom_records_out_total", {"service": "gps_stream", "topic": "iom.gps.hits"}),
    "grades_changed": ("iom_risk_grades_total", {"changed": "true"}),
    "notified": ("iom_notifications_total", {"state": "DELIVERED"}),
    "dead_letters": ("iom_dead_letters_total", {}),
    "lag": ("iom_consumer_lag", {}),
}


def totals(expositions: list[str]) -> dict[str, float]:
    """Each figure of FIGURES summed over the services' metric pages."""
    parsed = samples(expositions)  # once for all the figures
    return {figure: sum_of(parsed, name, labels) for figure, (name, labels) in FIGURES.items()}


def active_hits(seen: list[Any], prefix: str, people: Collection[str] | None = None
                ) -> set[tuple[str, str]]:
    """(crime_ref, person_id) of the hits read off iom.gps.hits (``seen``: records with a
    ``value``) whose crime_ref starts with ``prefix`` and whose latest revision is ACTIVE:
    what a world's ground truth is held to. ``people``: only theirs (the world's own; a
    real trail on the same bus, such as make run's demo tag, can meet a simulated crime, a
    true hit the world's truth does not know of)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in seen:
        hit = record.value
        if not hit or not hit["crime_ref"].startswith(prefix):
            continue
        if people is not None and hit["person_id"] not in people:
            continue
        if hit["hit_id"] not in latest or hit["revision"] > latest[hit["hit_id"]]["revision"]:
            latest[hit["hit_id"]] = hit
    return {(h["crime_ref"], h["person_id"]) for h in latest.values() if h["status"] == "ACTIVE"}


def summary_line(now: dict[str, float], before: dict[str, float], seconds: float,
                 found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> str:
    """One line: fixes a second, hits against the ground truth of the crimes published so
    far, grades changed, notifications delivered, dead letters, consumer lag."""
    rate = (now["fixes_in"] - before["fixes_in"]) / seconds if seconds > 0 else 0.0
    return (f"day: fixes {rate:,.0f}/s ({now['fixes_in']:,.0f} in); hits {len(found & truth)}"
            f" of {len(truth)} in the ground truth, {len(found - truth)} not in it; grades "
            f"changed {now['grades_changed']:,.0f}; notifications delivered "
            f"{now['notified']:,.0f}; dead letters {now['dead_letters']:,.0f}; consumer lag "
            f"{now['lag']:,.0f}")
