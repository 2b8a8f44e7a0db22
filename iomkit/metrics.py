"""Prometheus metrics every service serves on /metrics. No person ids in labels, ever."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.samples import Sample

from iomkit import log as logging
from iomkit.settings import Settings

RECORDS_IN = Counter(
    "iom_records_in_total", "Records consumed, by service and topic", ["service", "topic"]
)
RECORDS_OUT = Counter(
    "iom_records_out_total", "Records produced, by service and topic", ["service", "topic"]
)
DEAD_LETTERS = Counter(
    "iom_dead_letters_total",
    "Records sent to iom.dead-letters, by service, source topic and kind of failure",
    ["service", "topic", "kind"],
)
SKIPPED = Counter(
    "iom_records_skipped_total",
    "Records a group-less reader could not apply (its group consumer dead-letters them)",
    ["service", "topic"],
)
PROCESSING_SECONDS = Histogram(
    "iom_processing_seconds",
    "Time to handle one record (or one batch on batch consumers), by service and topic",
    ["service", "topic"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_LAG = Gauge(
    "iom_consumer_lag",
    "End offset minus committed offset, by consumer group, topic and partition",
    ["service", "group", "topic", "partition"],
)

STREAM_STALLED = Gauge(
    "iom_stream_stalled",
    "1 while records wait on a worker's partitions and its agents have handled none for 15 s"
    " (the worker then fetches them again)",
    ["service"],
)

STORE_ENTRIES = Gauge(
    "iom_store_entries",
    "Entries a worker holds in a store (a table, fixes, live crimes, ...), by service and store",
    ["service", "store"],
)
STORE_BYTES = Gauge(
    "iom_store_bytes", "Bytes of a worker's stores on disk (its folder under IOM_STORE_DIR)",
    ["service"],
)

# End to end, from an input to the output it caused: the paths ops ask about. Seconds to a
# day: a fix sent late by its tag, or an event recorded weeks after it happened, lands in the
# top buckets (or +Inf) instead of hiding the system's own latency in the low ones.
PATHS = ("fix_to_hit", "crime_to_hit", "enrolment_to_hit", "event_to_grade", "hit_to_webhook")
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
                   21600, 86400)
ARRIVAL_TO_OUTPUT = Histogram(
    "iom_arrival_to_output_seconds",
    "From an input's arrival on the bus (its record's timestamp) to the output it caused"
    " being published or delivered: the system's own latency, by service and path",
    ["service", "path"], buckets=LATENCY_BUCKETS,
)
EVENT_TO_OUTPUT = Histogram(
    "iom_event_to_output_seconds",
    "From an input's own event time (a fix's recorded_at, a crime's reported_at, an event's"
    " occurred_at, an enrolment's effective_at, a hit's detected_at) to the output it"
    " caused, by service and path:"
    " includes the time before the input reached the bus",
    ["service", "path"], buckets=LATENCY_BUCKETS,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_log = logging.get("iomkit.metrics")


def exposition() -> bytes:
    return generate_latest()


def page_of(port: int, timeout: float = 10.0) -> str:
    """A local worker's /metrics page (open to any caller, as Prometheus reads it)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as page:
        return page.read().decode()


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (a store's files come and go as it compacts)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            pass  # compacted away while we looked
    return total


def samples(expositions: Iterable[str]) -> list[Sample]:
    """Every sample of metric pages in Prometheus's text format, parsed once."""
    from prometheus_client.parser import text_string_to_metric_families

    return [sample for text in expositions
            for family in text_string_to_metric_families(text) for sample in family.samples]


def sum_of(parsed: Iterable[Sample], name: str, labels: Mapping[str, str]) -> float:
    """The sum of the ``parsed`` samples called ``name`` whose labels include ``labels``."""
    return sum(s.value for s in parsed
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def sample_sum(expositions: Iterable[str], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``, over metric
    pages (a reader of /metrics: tests)."""
    return sum_of(samples(expositions), name, labels)


def elapsed_s(since_ms: float | None, now_ms: float) -> float | None:
    """Seconds from ``since_ms`` to ``now_ms``; a clock a little ahead counts as 0."""
    return None if since_ms is None else max(0.0, (now_ms - since_ms) / 1000)


def epoch_ms(at: datetime | float | None) -> float | None:
    return at.timestamp() * 1000 if isinstance(at, datetime) else at


def observe_latency(service: str, path: str, *, arrived_ms: float | None,
                    event_at: datetime | float | None, now: datetime,
                    wall_ms: float | None = None) -> None:
    """Observe one output of ``path``. Arrival is a Kafka timestamp, so it is measured on the
    machine's clock (``wall_ms``); event time on the service's clock (``now``), the one its
    outputs are stamped with. An input without the one or the other is not observed there."""
    wall = time.time() * 1000 if wall_ms is None else wall_ms
    since_arrival = elapsed_s(arrived_ms, wall)
    if since_arrival is not None:
        ARRIVAL_TO_OUTPUT.labels(service, path).observe(since_arrival)
    since_event = elapsed_s(epoch_ms(event_at), now.timestamp() * 1000)
    if since_event is not None:
        EVENT_TO_OUTPUT.labels(service, path).observe(since_event)



async def measure_lag(settings: Settings, service: str, group: str, topics: Iterable[str]) -> None:
    """Set CONSUMER_LAG once: end offset minus the group's committed offset."""
    from aiokafka.structs import TopicPartition

    from iomkit.kafka import admin, consumer, stop_consumer

    topics = list(topics)
    client = await admin(settings)
    probe = consumer(settings)
    await probe.start()
    try:
        committed = await client.list_consumer_group_offsets(group)
        described = await client.describe_topics(topics)
        tps = [
            TopicPartition(t["topic"], p["partition"])
            for t in described if not t.get("error_code")
            for p in t["partitions"]
        ]
        if not tps:
            return
        ends = await probe.end_offsets(tps)
        for tp in tps:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else 0
            CONSUMER_LAG.labels(service, group, tp.topic, str(tp.partition)).set(
                max(0, ends[tp] - position)
            )
    finally:
        await stop_consumer(probe)
        await client.close()


async def watch_lag(
    settings: Settings, service: str, group: str, topics: Iterable[str]
) -> None:
    """Keep CONSUMER_LAG current until cancelled; a failed measurement is logged, not fatal."""
    topics = list(topics)
    while True:
        try:
            await measure_lag(settings, service, group, topics)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker may be briefly away; try again next round
            _log.warning("lag.measure_failed", service=service, error=type(exc).__name__)
        await asyncio.sleep(settings.lag_interval_s)
