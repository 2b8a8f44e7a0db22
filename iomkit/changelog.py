"""State for batch consumers: kept in memory per partition, every change also written to a
compacted changelog topic, so whichever worker is assigned a partition rebuilds its state
from Kafka (after a crash, a rebalance or on a new machine).

Writes are buffered per batch and sent once per key (the latest value), before the batch's
offsets are committed: a restarted worker sees the state of every committed batch, and of
uncommitted ones whose changelog got through, so re-processing them is a no-op for handlers
that dedupe by id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from iomkit import kafka
from iomkit import log as logging
from iomkit.settings import Settings
from iomkit.topics import TopicSpec

V = TypeVar("V")
_log = logging.get("iomkit.changelog")


class ChangelogStore(Generic[V]):
    def __init__(
        self, settings: Settings, service: str, name: str,
        dump: Callable[[V], Any] = lambda v: v, load: Callable[[Any], V] = lambda v: v,
    ) -> None:
        self.settings = settings
        self.spec = TopicSpec(f"throughcare-{service}-{name}-changelog", "key", None,
                              compacted=True)
        self._dump = dump
        self._load = load
        self._data: dict[int, dict[bytes, V]] = {}
        self._dirty: dict[int, set[bytes]] = {}
        self._restoring = asyncio.Lock()

    @property
    def topic(self) -> str:
        return self.spec.name

    # -- reads and writes -----------------------------------------------------------

    def owned(self) -> set[int]:
        return set(self._data)

    def get(self, partition: int, key: bytes) -> V | None:
        return self._data[partition].get(key)

    def put(self, partition: int, key: bytes, value: V) -> None:
        self._data[partition][key] = value
        self._dirty.setdefault(partition, set()).add(key)

    def delete(self, partition: int, key: bytes) -> None:
        self._data[partition].pop(key, None)
        self._dirty.setdefault(partition, set()).add(key)

    def items(self, partition: int) -> Iterator[tuple[bytes, V]]:
        return iter(list(self._data.get(partition, {}).items()))

    def __len__(self) -> int:
        return sum(len(values) for values in self._data.values())

    async def flush(self, producer: AIOKafkaProducer) -> int:
        """Send the latest value of every changed key to its partition of the changelog
        (a tombstone for a deleted key). The caller flushes the producer and commits."""
        sent = 0
        dirty, self._dirty = self._dirty, {}
        for partition, keys in dirty.items():
            values = self._data.get(partition, {})
            for key in keys:
                value = values.get(key)
                payload = None if value is None else orjson.dumps(self._dump(value))
                await producer.send(self.topic, payload, key=key, partition=partition)
                sent += 1
        return sent

    # -- partitions come and go -----------------------------------------------------

    async def restore(self, partitions: Iterable[int]) -> int:
        """Rebuild the given partitions from the changelog, from its beginning; those
        already here are left alone (a partition is restored once while owned)."""
        partitions = set(partitions)
        if partitions <= set(self._data):
            return 0
        async with self._restoring:
            wanted = sorted(partitions - set(self._data))  # another caller may have done it
            return await self._restore(wanted) if wanted else 0

    async def _restore(self, wanted: list[int]) -> int:
        reader = kafka.consumer(self.settings, group_id=None, enable_auto_commit=False)
        await reader.start()
        restored = 0
        try:
            tps = [TopicPartition(self.topic, p) for p in wanted]
            reader.assign(tps)
            await reader.seek_to_beginning(*tps)
            ends = await reader.end_offsets(tps)
            data: dict[int, dict[bytes, V]] = {p: {} for p in wanted}
            pending = {tp for tp in tps if ends[tp] > 0}
            while pending:
                batches = await reader.getmany(*pending, timeout_ms=500, max_records=10_000)
                for tp, records in batches.items():
                    for record in records:
                        if record.value is None:
                            data[tp.partition].pop(record.key, None)
                        else:
                            data[tp.partition][record.key] = self._load(orjson.loads(record.value))
                        restored += 1
                pending = {tp for tp in pending if await reader.position(tp) < ends[tp]}
        finally:
            await kafka.stop_consumer(reader)
        self._data.update(data)
        _log.info("changelog.restored", topic=self.topic, partitions=wanted, records=restored)
        return restored

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns (their changes are already sent)."""
        for partition in partitions:
            self._data.pop(partition, None)
            self._dirty.pop(partition, None)
