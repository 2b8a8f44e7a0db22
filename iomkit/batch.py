"""A batch consumer for hot paths (aiokafka ``getmany``): decode a batch, hand the good
records to the handler, dead-letter the bad ones, send the state changes to their
changelogs, flush the outputs, and only then commit. A Faust stream costs ~75 us a record
before any code runs; this loop costs a few.

State stores (``ChangelogStore``) follow the group's assignment: a partition assigned to
this worker is rebuilt from its changelog before any of its records are handled; a
revoked one is forgotten.

Inputs of several topics are handled in the order they were written, across batches (as
Kafka Streams' partition groups do): ``getmany`` hands over whichever partitions' records
were fetched first, so with a backlog (after a restart) a batch could hold a person's
events and not the Person record written before them, and the state would differ from
the one an uninterrupted worker built. Fetched records wait in a buffer until every
input of the same partition number either has a record buffered (whose time is known)
or has nothing more on the broker.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import ConsumerRecord, TopicPartition

from iomkit import headers as h
from iomkit import kafka, kernel, metrics
from iomkit import log as logging
from iomkit.changelog import ChangelogStore
from iomkit.codec import Codec, DecodeError
from iomkit.deadletters import Clock, DeadLetters, utc_now
from iomkit.heap import Heap
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
YIELD_EVERY = 250  # records handled between turns of the event loop
Buffers = dict[TopicPartition, deque[ConsumerRecord]]


def in_written_order(buffers: Mapping[TopicPartition, deque[ConsumerRecord]],
                     lagging: Collection[TopicPartition], rank: Mapping[str, int],
                     limit: int) -> list[ConsumerRecord]:
    """Take up to ``limit`` records off ``buffers`` (every assigned input partition, empty
    or not) in the order they were written: by timestamp, on a tie the topic ranked
    first, each partition's own order kept. Inputs of one partition number are one key
    space (one person's state): none of its records is taken while another of its
    inputs has an empty buffer and is ``lagging`` (more on the broker than fetched),
    because that input's next record may be older. Partition numbers are independent."""
    blocked = {tp.partition for tp, records in buffers.items()
               if not records and tp in lagging}
    heap = [(records[0].timestamp, rank[tp.topic], tp.partition, tp.topic, tp)
            for tp, records in buffers.items() if records and tp.partition not in blocked]
    heapq.heapify(heap)
    taken: list[ConsumerRecord] = []
    while heap and len(taken) < limit:
        *_, tp = heapq.heappop(heap)
        if tp.partition in blocked:
            continue
        records = buffers[tp]
        taken.append(records.popleft())
        if records:
            heapq.heappush(heap, (records[0].timestamp, rank[tp.topic], tp.partition,
                                  tp.topic, tp))
        elif tp in lagging:
            blocked.add(tp.partition)
    return taken


class _FollowAssignment(ConsumerRebalanceListener):
    def __init__(self, stores: Sequence[PartitionState], buffers: Buffers,
                 log: logging.Logger, revoked: set[int]) -> None:
        self.stores = stores
        self.buffers = buffers
        self.log = log
        self.revoked = revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Records fetched but not handled yet are read again by whoever is assigned them
        # (positions restart from the committed offsets). This runs on the loop between
        # two awaits of a batch being handled: the batch leaves the rest of these
        # partitions' records alone and does not commit them (see ``revoked``).
        self.revoked.update(tp.partition for tp in revoked)
        for tp in revoked:
            self.buffers.pop(tp, None)
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
        timeout_ms: int = 200, max_wait_s: float = 30.0,
    ) -> None:
        """``record_handler`` gets one record at a time: one that raises goes to dead
        letters and the rest carry on. ``max_wait_s``: how long records may wait for a
        lagging input of their partition number to be fetched before they are handled
        anyway (a partition the broker does not serve must not stop the others for good).
        """
        self.service = service
        self.specs = {spec.name: spec for spec in specs}
        # On equal timestamps the topic listed first goes first (people before events).
        self.rank = {spec.name: n for n, spec in enumerate(specs)}
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
        self.max_wait_s = max_wait_s
        self.ready = asyncio.Event()  # set once partitions are assigned and restored
        self.last_batch = 0  # records in the last batch: a full one means a backlog
        # Fetched, not handled yet; bounded: a partition holding max_records is not fetched.
        self.buffers: Buffers = {}
        self._waiting_since: dict[int, float] = {}  # partition number -> blocked since
        self._not_awaited: set[int] = set()  # waited max_wait_s: handled anyway (logged)
        # Partition numbers revoked since the batch being handled began: their state was
        # dropped, so their records are neither handled nor committed (their owner, maybe
        # this worker again, reads them from the last commit with the state restored).
        self.revoked: set[int] = set()

    @property
    def caught_up(self) -> bool:
        """Assigned, restored, and not working through a backlog."""
        return self.ready.is_set() and self.last_batch < self.max_records

    def subscribe(self) -> None:
        listener = _FollowAssignment(self.stores, self.buffers, self.log, self.revoked)
        self.consumer.subscribe(list(self.specs), listener=listener)

    async def run_once(self) -> int:
        assigned = self._follow_assignment()
        # Only partitions short of records are fetched: one waiting for a lagging input
        # of its partition number does not grow without bound.
        wanted = [tp for tp, records in self.buffers.items()
                  if len(records) < self.max_records]
        # After a batch, buffered records are handled at once (waiting for more cost the
        # risk hot path a fifth of its time); after an empty one, wait for records to
        # come (buffered ones may all be held for a lagging input: no busy loop).
        fetched = await self.consumer.getmany(
            *wanted, timeout_ms=0 if self.last_batch else self.timeout_ms,
            max_records=self.max_records
        ) if wanted or not assigned else {}
        # Again: partitions may have been assigned while getmany waited (the first
        # assignment always is), and each of them must be seen empty, not missed: a
        # partition missing from the buffers would not hold back the others' records.
        assigned = self._follow_assignment()
        if assigned:
            self.ready.set()
        for tp, records in fetched.items():
            # One revoked meanwhile is read again by its new owner from the committed offset.
            if tp in assigned:
                self.buffers[tp].extend(records)
        taken = in_written_order(self.buffers, await self._lagging(), self.rank,
                                 self.max_records)
        self.last_batch = len(taken)
        if not taken:
            return 0
        started = time.perf_counter()
        self.revoked.clear()
        # aiokafka may hand over records before the assignment callback has finished
        # restoring: a partition's state is always complete before its records run.
        for store in self.stores:
            await store.restore({record.partition for record in taken})
        handled: dict[TopicPartition, int] = {}
        per_topic: dict[str, int] = {}
        items: list[Item] = []
        for record in taken:
            tp = TopicPartition(record.topic, record.partition)
            handled[tp] = record.offset + 1
            per_topic[record.topic] = per_topic.get(record.topic, 0) + 1
            item = await self._decode(self.specs[record.topic], record)
            if item is not None:
                items.append(item)
        await self._each(items)
        if self.revoked:
            self.log.info("batch.partitions_revoked", partitions=sorted(self.revoked))
            handled = {tp: offset for tp, offset in handled.items()
                       if tp.partition not in self.revoked}
        await self.checkpoint(handled)
        # Counted once handled and committed, as a Faust agent counts what it handled (a
        # benchmark's rate, a dashboard's throughput), not when fetched into the buffers.
        for topic, count in per_topic.items():
            metrics.RECORDS_IN.labels(self.service, topic).inc(count)
        metrics.PROCESSING_SECONDS.labels(self.service, "batch").observe(
            time.perf_counter() - started
        )
        return len(taken)

    def _follow_assignment(self) -> set[TopicPartition]:
        """The buffers hold exactly the assigned partitions (an empty one for each)."""
        assigned = self.consumer.assignment()
        for tp in set(self.buffers) - assigned:
            del self.buffers[tp]
        for tp in assigned:
            self.buffers.setdefault(tp, deque())
        return assigned

    async def _lagging(self) -> set[TopicPartition]:
        """Input partitions with records on the broker not fetched yet (or not known, before
        their first fetch), unless their partition number has waited ``max_wait_s``."""
        lagging: set[TopicPartition] = set()
        for tp in list(self.buffers):
            if tp not in self.consumer.assignment():
                del self.buffers[tp]
                continue
            highwater = self.consumer.highwater(tp)  # as of the last fetch response
            try:
                if highwater is None or await self.consumer.position(tp) < highwater:
                    lagging.add(tp)
            except IllegalStateError:  # revoked while the position was awaited
                self.buffers.pop(tp, None)
        now = time.monotonic()
        waiting = {tp.partition for tp in lagging if not self.buffers.get(tp)}
        for partition in set(self._waiting_since) - waiting:
            del self._waiting_since[partition]
            self._not_awaited.discard(partition)
        for partition in waiting:
            since = self._waiting_since.setdefault(partition, now)
            if now - since > self.max_wait_s:
                if partition not in self._not_awaited:
                    self._not_awaited.add(partition)
                    self.log.warning("inputs.order_not_awaited", partition=partition,
                                     waited_s=round(now - since, 1))
                lagging = {tp for tp in lagging if tp.partition != partition}
        return lagging

    async def checkpoint(self, handled: Mapping[TopicPartition, int]) -> None:
        """Quix Streams' order: the outputs delivered, the state sent to its changelogs (and
        local stores written), those delivered, then the commit of the ``handled`` offsets
        (never the consumer's position: records fetched but still buffered are not
        handled). A delivery that failed raises ``DeliveryFailed`` before anything is
        committed."""
        await self.producer.flush()
        for store in self.stores:
            await store.flush(self.producer)
        await self.producer.flush()
        if handled:
            try:
                await self.consumer.commit(dict(handled))
            except CommitFailedError as refused:
                # The group rebalanced while this batch was handled (a worker joined or left,
                # or this one was too slow to heartbeat): its partitions may be another's now.
                # The outputs are delivered and idempotent; whoever owns the partitions reads
                # these records again from the last commit (at-least-once). Not a reason to
                # stop: the consumer rejoins at its next fetch.
                self.log.warning("commit.refused", service=self.service,
                                 reason=type(refused).__name__, records=len(handled))

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
        for n, item in enumerate(items, 1):
            if n % YIELD_EVERY == 0:
                # The producer's sender runs on this loop: let it ship what the batch has
                # sent so far while the rest is handled, not all of it at the checkpoint.
                await asyncio.sleep(0)
            if item.partition in self.revoked:
                continue
            try:
                with kernel.handling(item.timestamp):
                    await self.record_handler(item)
            except Exception as exc:  # one bad record must never stop the stream
                if item.partition in self.revoked:  # its state went while it was handled
                    continue
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
        heap = Heap()
        try:
            while True:
                try:
                    if await self.run_once():
                        heap.after_batch()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Nothing of this batch was committed: it is read again after a restart.
                    kernel.stop_now(self.log, "batch.failed", service=self.service,
                                    reason=f"{type(exc).__name__}: {exc}")
        finally:
            await self.stop()
