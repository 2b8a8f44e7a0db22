"""A batch consumer for hot paths (aiokafka ``getmany``): decode a batch, hand the good
records to the handler, dead-letter the bad ones, send the state changes to their
changelogs, flush the outputs, and only then commit. A Faust stream costs ~75 us a record
before any code runs; this loop costs a few.

State stores (``ChangelogStore``) follow the group's assignment: a partition assigned to
this worker is rebuilt from its changelog before any of its records are handled; a
revoked one is forgotten.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition

from iomkit import headers as h
from iomkit import kafka, kernel, metrics
from iomkit import log as logging
from iomkit.changelog import ChangelogStore
from iomkit.codec import Codec, DecodeError
from iomkit.deadletters import Clock, DeadLetters, utc_now
from iomkit.settings import Settings
from iomkit.topics import TopicSpec, key_of


@dataclass(frozen=True, slots=True)
class Item:
    """One decoded record with where it came from."""

    value: Any  # the decoded record (a dict), or the JSON value of an internal topic
    topic: str
    partition: int
    offset: int
    key: bytes | None
    record: str | None  # the Avro record name; None on internal JSON topics
    raw: bytes  # the original value, for a dead letter
    headers: list[tuple[str, bytes]]
    timestamp: int  # the record's Kafka timestamp (ms)

    @property
    def cause(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


class PartitionState(Protocol):
    """State that follows the assignment (e.g. ``ChangelogStore``)."""

    async def restore(self, partitions: Iterable[int]) -> int: ...

    def drop(self, partitions: Iterable[int]) -> None: ...

    async def flush(self, producer: kernel.Outputs) -> int: ...


RecordHandler = Callable[[Item], Awaitable[None]]


class _FollowAssignment(ConsumerRebalanceListener):
    def __init__(self, stores: Sequence[PartitionState], log: logging.Logger) -> None:
        self.stores = stores
        self.log = log

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Offsets are committed after every batch, so nothing is pending here.
        for store in self.stores:
            store.drop({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        partitions = {tp.partition for tp in assigned}
        for store in self.stores:
            await store.restore(partitions)
        self.log.info("partitions.assigned", partitions=sorted(partitions))


class BatchConsumer:
    def __init__(
        self, service: str, specs: Sequence[TopicSpec], settings: Settings, group_id: str,
        codec: Codec, clock: Clock = utc_now, *, record_handler: RecordHandler,
        stores: Sequence[PartitionState] = (), max_records: int = 5000,
        timeout_ms: int = 200,
    ) -> None:
        """``record_handler`` gets one record at a time: one that raises goes to dead
        letters and the rest carry on."""
        self.service = service
        self.specs = {spec.name: spec for spec in specs}
        self.settings = settings
        self.group_id = group_id
        # Created in run(): aiokafka clients belong to the running event loop.
        self.consumer: AIOKafkaConsumer = None  # type: ignore[assignment]
        self.producer: kernel.Outputs = None  # type: ignore[assignment]
        self.codec = codec
        # Dead letters go through our own producer: flushed before every commit.
        self.dead_letters = DeadLetters(service, self._send, clock)
        self.record_handler = record_handler
        self.stores = stores
        self.max_records = max_records
        self.timeout_ms = timeout_ms
        self.log = logging.get(f"services.{service}.batch")
        self.ready = asyncio.Event()  # set once partitions are assigned and restored
        self.last_batch = 0  # records in the last batch: a full one means a backlog

    @property
    def caught_up(self) -> bool:
        """Assigned, restored, and not working through a backlog."""
        return self.ready.is_set() and self.last_batch < self.max_records

    def subscribe(self) -> None:
        listener = _FollowAssignment(self.stores, self.log)
        self.consumer.subscribe(list(self.specs), listener=listener)

    async def run_once(self) -> int:
        batches = await self.consumer.getmany(
            timeout_ms=self.timeout_ms, max_records=self.max_records
        )
        if self.consumer.assignment():
            self.ready.set()
        self.last_batch = sum(len(records) for records in batches.values())
        if not batches:
            return 0
        started = time.perf_counter()
        per_partition: list[list[Item]] = []
        count = 0
        for tp, records in batches.items():
            # aiokafka may hand over records before the assignment callback has finished
            # restoring: a partition's state is always complete before its records run.
            for store in self.stores:
                await store.restore([tp.partition])
            count += len(records)
            metrics.RECORDS_IN.labels(self.service, tp.topic).inc(len(records))
            spec = self.specs[tp.topic]
            decoded = [await self._decode(spec, message) for message in records]
            per_partition.append([item for item in decoded if item is not None])
        # Records of several topics are handled in the order they were written (as Kafka
        # Streams does), each partition's own order kept.
        items = (per_partition[0] if len(per_partition) == 1 else
                 list(heapq.merge(*per_partition, key=lambda item: item.timestamp)))
        await self._each(items)
        await self.checkpoint()
        metrics.PROCESSING_SECONDS.labels(self.service, "batch").observe(
            time.perf_counter() - started
        )
        return count

    async def checkpoint(self) -> None:
        """Quix Streams' order: the outputs delivered, the state sent to its changelogs (and
        local stores written), those delivered, then the commit. A delivery that failed
        raises ``DeliveryFailed`` before anything is committed."""
        await self.producer.flush()
        for store in self.stores:
            await store.flush(self.producer)
        await self.producer.flush()
        await self.consumer.commit()

    async def _decode(self, spec: TopicSpec, message: ConsumerRecord) -> Item | None:
        try:
            value = kernel.decode(self.codec, spec, message.value)
        except DecodeError as exc:
            await self.dead_letter(message.topic, message.partition, message.offset,
                                   message.key, message.value, str(exc),
                                   "decode", list(message.headers or ()))
            return None
        return Item(value, message.topic, message.partition, message.offset, message.key,
                    spec.record, message.value, list(message.headers or ()), message.timestamp)

    async def _each(self, items: Sequence[Item]) -> None:
        for item in items:
            try:
                await self.record_handler(item)
            except Exception as exc:  # one bad record must never stop the stream
                self.log.debug("record.failed", topic=item.topic, offset=item.offset, exc=True)
                await self.dead_letter(
                    item.topic, item.partition, item.offset, item.key, item.raw,
                    f"{item.record or item.topic}: {type(exc).__name__}: {exc}", "handler",
                    item.headers,
                )

    async def publish(self, spec: TopicSpec, value: dict[str, Any], cause: str | None = None,
                      *, key: bytes | None = None) -> None:
        """Encode and send one record of ``spec`` through the hot path's producer: its
        delivery is checked at the next checkpoint, before the input is committed."""
        assert spec.record is not None
        await self.producer.send(
            spec.name, self.codec.encode(spec.record, value),
            key=key_of(spec, value) if key is None else key,
            headers=h.record_headers(spec.record, cause))
        metrics.RECORDS_OUT.labels(self.service, spec.name).inc()

    async def send_json(self, spec: TopicSpec, key: bytes | None, value: Any,
                        partition: int | None = None) -> None:
        """Send to an internal topic of JSON values (views, ticks, evidence), checked alike."""
        await self.producer.send(spec.name, orjson.dumps(value, option=orjson.OPT_UTC_Z),
                                 key=key, partition=partition)
        metrics.RECORDS_OUT.labels(self.service, spec.name).inc()

    async def _send(self, topic: str, key: bytes | None, value: bytes | None,
                    headers: list[tuple[str, bytes]]) -> None:
        await self.producer.send(topic, value, key=key, headers=headers)
        metrics.RECORDS_OUT.labels(self.service, topic).inc()

    async def dead_letter(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
        reason: str, kind: str, headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        await self.dead_letters(topic=topic, partition=partition, offset=offset, key=key,
                                value=value, reason=reason, kind=kind,
                                original_headers=headers or [])

    async def start(self) -> None:
        changelogs = [s.spec for s in self.stores if isinstance(s, ChangelogStore)]
        if changelogs:  # a changelog must exist before a partition can be restored from it
            await kafka.create_topics(self.settings, changelogs)
        self.producer = kernel.Outputs(kafka.producer(self.settings))
        self.consumer = kafka.consumer(self.settings, group_id=self.group_id,
                                       max_poll_records=self.max_records)
        await self.producer.start()
        await self.consumer.start()
        self.subscribe()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.producer.stop()

    async def run(self) -> None:
        await self.start()
        try:
            while True:
                try:
                    await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Nothing of this batch was committed: it is read again after a restart.
                    kernel.stop_now(self.log, "batch.failed", service=self.service,
                                    reason=f"{type(exc).__name__}: {exc}")
        finally:
            await self.stop()
