"""Prometheus metrics every service serves on /metrics. No person ids in labels, ever."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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

CONTENT_TYPE = CONTENT_TYPE_LATEST
_log = logging.get("iomkit.metrics")


def exposition() -> bytes:
    return generate_latest()



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
