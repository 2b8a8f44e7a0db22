"""``iomkit.kafka.KeyedBatchProducer`` on the real broker: same placement as ``send``,
headers intact, nothing lost, per-key order kept."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import pytest

from iomkit import headers as h
from iomkit import kafka
from iomkit.codec import Codec
from iomkit.kafka import KeyedBatchProducer, partition_of
from iomkit.settings import Settings
from iomkit.topics import TopicSpec

pytestmark = pytest.mark.integration

N = 5_000
PARTITIONS = 6
SMALL_BATCH = 16 * 1024  # many full batches ship while records are still being added


def _keys() -> list[bytes]:
    """Tag ids plus awkward keys: empty, non-ASCII, long, binary."""
    keys = [f"TAG-{d:04d}".encode() for d in range(1, 601)]
    keys += [b"", "Zoë-Øresund-東京".encode(), b"x" * 300, bytes(range(256)), b"\xff\x00"]
    return keys


async def _topic(settings: Settings, label: str) -> str:
    name = f"test.batch.{label}.{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(name, "device_id", "TagPing", partitions=PARTITIONS)
    await kafka.create_topics(settings, [spec])
    return name


async def _consume(settings: Settings, topic: str, n: int) -> list[Any]:
    consumer = kafka.consumer(settings, topic, group_id=None)
    await consumer.start()
    got: list[Any] = []
    try:
        async with asyncio.timeout(60):
            while len(got) < n:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    got += records
        await asyncio.sleep(1)  # anything beyond n would be a duplicate
        for records in (await consumer.getmany(timeout_ms=500)).values():
            got += records
    finally:
        await consumer.stop()
    return got


async def test_batches_land_where_send_puts_them_with_headers_and_none_lost(
    settings: Settings, codec: Codec
) -> None:
    batch_topic = await _topic(settings, "keyed")
    send_topic = await _topic(settings, "send")
    keys = _keys()
    header = h.record_headers("TagPing")
    records = []
    for i in range(N):
        key = keys[(i * 7) % len(keys)]
        value = codec.encode("TagPing", {
            "device_id": key.decode(errors="replace"), "recorded_at": 1_790_000_000_000 + i,
            "lat": 51.0 + i / N, "lon": -1.0, "accuracy_m": float(i % 60),
        })
        # every tenth record carries its own headers, the others the producer's
        own = h.record_headers("TagPing", caused_by=f"test/0/{i}") if i % 10 == 0 else None
        records.append((key, value, own))

    producer = kafka.producer(settings, enable_idempotence=True, max_batch_size=SMALL_BATCH)
    await producer.start()
    try:
        # what AIOKafkaProducer.send(key=...) chooses, one record per key on a twin topic
        chosen = {}
        for key in keys:
            meta = await (await producer.send(send_topic, b"probe", key=key))
            chosen[key] = meta.partition
        batches = await KeyedBatchProducer.for_topic(producer, batch_topic, headers=header)
        assert batches.partitions == PARTITIONS
        for key, value, own in records:
            await batches.send(key, value, headers=own)
        assert await batches.flush() == N
    finally:
        await producer.stop()

    assert chosen == {key: partition_of(key, PARTITIONS) for key in keys}
    assert len(set(chosen.values())) == PARTITIONS  # the keys spread over all partitions

    got = await _consume(settings, batch_topic, N)
    assert len(got) == N
    ends = await kafka.end_offsets(settings, batch_topic)
    assert sum(ends.values()) == N
    by_value = {m.value: m for m in got}
    assert len(by_value) == N  # no duplicates
    offsets: dict[bytes, list[int]] = defaultdict(list)
    for i, (key, value, own) in enumerate(records):
        message = by_value[value]
        assert message.key == key
        assert message.partition == chosen[key], (key, message.partition)
        assert list(message.headers) == (own or header)
        assert codec.decode(message.value, expect="TagPing").value["accuracy_m"] == i % 60
        offsets[key].append(message.offset)
    for key, seen in offsets.items():
        assert seen == sorted(seen), f"{key!r}: records out of order"


async def test_records_without_a_key_are_all_delivered(settings: Settings) -> None:
    topic = await _topic(settings, "nokey")
    producer = kafka.producer(settings, max_batch_size=SMALL_BATCH)
    await producer.start()
    try:
        batches = await KeyedBatchProducer.for_topic(producer, topic)
        for i in range(2_000):
            await batches.send(None, b"%06d" % i + b"." * 100)
        assert await batches.flush() == 2_000
    finally:
        await producer.stop()
    got = await _consume(settings, topic, 2_000)
    assert sorted(m.value for m in got) == [b"%06d" % i + b"." * 100 for i in range(2_000)]
    assert all(m.key is None and list(m.headers) == [] for m in got)
    assert len({m.partition for m in got}) > 1  # sticky, then the next partition
