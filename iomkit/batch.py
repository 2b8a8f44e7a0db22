"""A batch consumer for hot paths (aiokafka ``getmany``): decode a batch, hand the good
records to the handler, dead-letter the bad ones, and commit only after the handler's
state and outputs are durable. Faust costs ~75 us a record before any code runs; this
loop costs a few."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from iomkit import log as logging
from iomkit import metrics
from iomkit.codec import Codec, DecodeError
from iomkit.deadletters import DeadLetters
from iomkit.topics import TopicSpec


@dataclass(frozen=True)
class Item:
    """One decoded record with where it came from."""

    value: dict[str, Any]
    topic: str
    partition: int
    offset: int
    key: bytes | None


BatchHandler = Callable[[Sequence[Item]], Awaitable[None]]


class BatchConsumer:
    def __init__(
        self, service: str, spec: TopicSpec, consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer, codec: Codec, dead_letters: DeadLetters,
        handler: BatchHandler, max_records: int = 5000, timeout_ms: int = 200,
    ) -> None:
        self.service = service
        self.spec = spec
        self.consumer = consumer
        self.producer = producer
        self.codec = codec
        self.dead_letters = dead_letters
        self.handler = handler
        self.max_records = max_records
        self.timeout_ms = timeout_ms
        self.log = logging.get(f"services.{service}.batch")

    async def run_once(self) -> int:
        batches = await self.consumer.getmany(
            timeout_ms=self.timeout_ms, max_records=self.max_records
        )
        if not batches:
            return 0
        started = time.perf_counter()
        items: list[Item] = []
        count = 0
        for records in batches.values():
            count += len(records)
            for message in records:
                item = await self._decode(message)
                if item is not None:
                    items.append(item)
        metrics.RECORDS_IN.labels(self.service, self.spec.name).inc(count)
        if items:
            await self.handler(items)
        await self.producer.flush()
        await self.consumer.commit()
        metrics.PROCESSING_SECONDS.labels(self.service, self.spec.name).observe(
            time.perf_counter() - started
        )
        return count

    async def _decode(self, message: ConsumerRecord) -> Item | None:
        try:
            decoded = self.codec.decode(message.value, expect=self.spec.record)
        except DecodeError as exc:
            await self.dead_letters(
                topic=message.topic, partition=message.partition, offset=message.offset,
                key=message.key, value=message.value, reason=str(exc), kind="decode",
                original_headers=list(message.headers or ()),
            )
            return None
        return Item(decoded.value, message.topic, message.partition, message.offset, message.key)

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Nothing of this batch was committed: it is consumed again after a restart.
                self.log.error("batch.failed", topic=self.spec.name, exc=True)
                raise
