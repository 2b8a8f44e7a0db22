"""A faster way to produce keyed records with aiokafka, prototyped here to be measured.

``AIOKafkaProducer.send`` costs ~14 us a record in Python before any byte moves: a
coroutine, a metadata wait, the pure-Python murmur2 partitioner, two partition-set
lookups and one future per record. ``KeyedBatchProducer`` fills one ``BatchBuilder`` per
partition itself (``create_batch`` / ``send_batch``, both public aiokafka API), with the
default partitioner's murmur2 cached per key, so a record costs one dict lookup and one
append. Placement is identical to ``send(key=...)``: the same key lands on the same
partition. Delivery is reported per batch, not per record.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

NO_HEADERS: list[tuple[str, bytes]] = []  # the Cython builder wants a list (never filled)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition aiokafka's (and Java's) default partitioner picks for ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class KeyedBatchProducer:
    def __init__(self, producer: AIOKafkaProducer, topic: str, partitions: int) -> None:
        self.producer = producer
        self.topic = topic
        self.partitions = partitions
        self._partition_of: dict[bytes, int] = {}
        self._builders: list[Any] = [producer.create_batch() for _ in range(partitions)]
        self._counts = [0] * partitions
        self._deliveries: list[asyncio.Future[Any]] = []

    async def send(self, key: bytes, value: bytes) -> None:
        """Queue one record; ships the partition's batch when it is full."""
        partition = self._partition_of.get(key)
        if partition is None:
            partition = self._partition_of[key] = partition_of(key, self.partitions)
        builder = self._builders[partition]
        if builder.append(timestamp=None, key=key, value=value, headers=NO_HEADERS) is None:
            await self._ship(partition)
            builder = self._builders[partition]
            if builder.append(timestamp=None, key=key, value=value, headers=NO_HEADERS) is None:
                raise ValueError(f"record of {len(value)} bytes is larger than a batch")
        self._counts[partition] += 1

    async def _ship(self, partition: int) -> None:
        builder = self._builders[partition]
        self._builders[partition] = self.producer.create_batch()
        self._counts[partition] = 0
        self._deliveries.append(
            await self.producer.send_batch(builder, self.topic, partition=partition)
        )

    async def flush(self) -> None:
        """Ship every partly filled batch and wait until all batches are acknowledged;
        raises the first delivery error."""
        for partition in range(self.partitions):
            if self._counts[partition]:
                await self._ship(partition)
        await self.producer.flush()
        deliveries, self._deliveries = self._deliveries, []
        await asyncio.gather(*deliveries)
