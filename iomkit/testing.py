"""Helpers for tests that talk to the real broker: produce, consume, wait."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from iomkit import headers as h
from iomkit import kafka, kernel
from iomkit.codec import Codec, DecodeError
from iomkit.processes import SERVICES
from iomkit.settings import Settings
from iomkit.topics import TopicSpec, key_of


def clock_offset_s() -> float:
    """The suite's clock offset: ``IOM_CLOCK_OFFSET_S`` as the services read it (they inherit
    the environment), so ``IOM_CLOCK_OFFSET_S=... make test`` runs every test on another day."""
    return float(os.environ.get("IOM_CLOCK_OFFSET_S") or 0)


def now() -> datetime:
    """The tests' 'now', on the same clock as the services they start."""
    return datetime.now(UTC) + timedelta(seconds=clock_offset_s())


def offset_to(moment: datetime) -> str:
    """``IOM_CLOCK_OFFSET_S`` that puts a service's clock at ``moment`` (for tests of a day)."""
    return str((moment - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes | None
    headers: dict[str, str]
    record: str | None
    value: dict[str, Any] | None


async def produce(
    settings: Settings, codec: Codec, spec: TopicSpec, values: list[dict[str, Any]]
) -> None:
    assert spec.record is not None
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(
                spec.name, codec.encode(spec.record, value), key=key_of(spec, value),
                headers=h.record_headers(spec.record),
            )
    finally:
        await producer.stop()


async def produce_many(
    settings: Settings, codec: Codec, spec: TopicSpec, values: list[dict[str, Any]]
) -> None:
    """Like ``produce``, for many records: sent without waiting for each, then all awaited
    (a delivery that failed raises)."""
    assert spec.record is not None
    producer = kernel.Outputs(kafka.producer(settings))
    await producer.start()
    try:
        headers = h.record_headers(spec.record)
        for value in values:
            await producer.send(spec.name, codec.encode(spec.record, value),
                                key=key_of(spec, value), headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def produce_raw(
    settings: Settings, topic: str, items: list[tuple[bytes | None, bytes]]
) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


class Reader:
    """Reads a topic from the beginning (no group) and keeps everything it saw."""

    def __init__(self, settings: Settings, codec: Codec, topic: str) -> None:
        self.settings = settings
        self.codec = codec
        self.topic = topic
        self.seen: list[Received] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Reader:
        self._consumer = kafka.consumer(self.settings, self.topic, group_id=None)
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._consumer is not None
        await kafka.stop_consumer(self._consumer)

    async def poll(self) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=200)
        for records in batches.values():
            for m in records:
                try:
                    decoded = self.codec.decode(m.value)
                    name, value = decoded.name, decoded.value
                except DecodeError:
                    name, value = None, None
                self.seen.append(Received(
                    m.topic, m.partition, m.offset, m.key, m.value, h.as_dict(m.headers),
                    name, value,
                ))

    async def wait_for(
        self, condition: Callable[[list[Received]], bool], within: float = 30.0
    ) -> list[Received]:
        deadline = time.monotonic() + within
        while not condition(self.seen):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.topic}: condition not met within {within}s; saw {len(self.seen)} "
                    f"records: {[r.value for r in self.seen][:10]}"
                )
            await self.poll()
        return self.seen

    async def settle(self, quiet: float = 2.0) -> list[Received]:
        """Keep reading until nothing new arrives for ``quiet`` seconds."""
        last = len(self.seen)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet:
            await self.poll()
            if len(self.seen) != last:
                last = len(self.seen)
                quiet_since = time.monotonic()
        return self.seen


# The groups of a service's worker: Faust's (the app id) and its batch consumers'.
WORKER_GROUPS = ("", "-inputs", "-devices")


async def start_groups_at_the_end(settings: Settings, prefix: str = "throughcare-") -> int:
    """Commit every idle consumer group of the services (``prefix``) at the end of every
    topic, so workers started next read only what is produced from now on.

    One broker serves the whole suite: without this, a worker a test starts first reads
    every record earlier tests left behind (thousands of offender events: minutes of the
    referrals worker's time before it reached the test's own records). A group with live
    members is left alone (the broker would refuse). Returns how many groups were moved."""
    admin = await kafka.admin(settings)
    try:
        groups = {str(g[0]) for g in await admin.list_consumer_groups()
                  if str(g[0]).startswith(prefix)}
        names = [t for t in await admin.list_topics() if not t.startswith("__")]
    finally:
        await admin.close()
    # and the groups no worker has made yet: a group without a commit starts at the
    # earliest record, the whole history
    groups |= {f"{prefix}{name}{part}" for name in SERVICES for part in WORKER_GROUPS}
    probe = kafka.consumer(settings, group_id=None)
    await probe.start()
    try:
        await probe._client.set_topics(names)  # their metadata (no public way to ask for it)
        parts = [TopicPartition(t, p) for t in names
                 for p in sorted(probe.partitions_for_topic(t) or ())]
        ends = {tp: end for tp, end in (await probe.end_offsets(parts)).items() if end > 0}
    finally:
        await kafka.stop_consumer(probe)
    if not ends:
        return 0
    moved = 0
    for group in sorted(groups):
        member = kafka.consumer(settings, group_id=group)
        await member.start()
        try:
            member.assign(list(ends))
            await member.commit(ends)
            moved += 1
        except KafkaError:
            pass  # a live group (a worker still running): its offsets are its own
        finally:
            await kafka.stop_consumer(member)
    return moved


async def metrics_page(port: int) -> str:
    """A worker's /metrics, read off the event loop."""
    import asyncio

    from iomkit.metrics import page_of

    return await asyncio.to_thread(page_of, port)


@dataclass(frozen=True)
class Latency:
    """One service's end-to-end latency of one path, as its /metrics says."""

    count: float  # outputs measured since arrival
    since_arrival_s: float  # mean seconds from the input's arrival on the bus
    event_count: float
    since_event_s: float  # mean seconds from the input's event time


def latency(page: str, service: str, path: str) -> Latency:
    from iomkit.metrics import sample_sum

    def read(name: str) -> tuple[float, float]:
        count = sample_sum([page], f"{name}_count", service=service, path=path)
        total = sample_sum([page], f"{name}_sum", service=service, path=path)
        return count, total / count if count else 0.0

    arrival, event = read("iom_arrival_to_output_seconds"), read("iom_event_to_output_seconds")
    return Latency(arrival[0], arrival[1], event[0], event[1])
