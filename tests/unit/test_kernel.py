"""The stream kernel: every kind of poison refused with a reason; a lost output is never
followed by a commit of its input."""

from __future__ import annotations

import asyncio
import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import CommitFailedError, KafkaTimeoutError
from aiokafka.structs import TopicPartition

from iomkit import kernel, topics
from iomkit.batch import BatchConsumer, Item, _FollowAssignment
from iomkit.codec import Codec, DecodeError, SchemaRegistry
from iomkit.jsonconv import from_json
from iomkit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CODEC = Codec(SchemaRegistry(ROOT / "schemas"))


def example(name: str, **fields: Any) -> dict[str, Any]:
    raw = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return from_json(CODEC.registry.current(name).raw, {**raw, **fields})


def encoded(name: str, **fields: Any) -> bytes:
    # Fields are set after the JSON conversion, which itself refuses NaN.
    return CODEC.encode(name, {**example(name), **fields})


# --- decode: every kind of poison, with its reason ------------------------------------------


def test_a_good_record_decodes() -> None:
    value = kernel.decode(CODEC, topics.TAG_PINGS, encoded("TagPing"))
    assert value["device_id"] == example("TagPing")["device_id"]


@pytest.mark.parametrize(("raw", "reason"), [
    (b"not avro at all", "not Avro single-object encoding"),
    (b"\xc3\x01" + struct.pack("<Q", 12345) + b"\x00", "unknown"),
    (None, "tombstone"),
])
def test_undecodable_records_are_refused_with_the_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as refused:
        kernel.decode(CODEC, topics.TAG_PINGS, raw)
    assert str(refused.value).startswith("iom.tag.pings") or "TagPing" in str(refused.value)


def test_a_record_of_another_type_than_its_topic_is_refused() -> None:
    with pytest.raises(DecodeError, match="expected a TagPing record, got Person"):
        kernel.decode(CODEC, topics.TAG_PINGS, encoded("Person"))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_number_that_is_not_finite_is_poison(bad: float) -> None:
    with pytest.raises(DecodeError, match="CrimeReported: lat is not a finite number"):
        kernel.decode(CODEC, topics.CRIMES_REPORTED, encoded("CrimeReported", lat=bad))


def test_a_non_finite_number_deep_inside_a_record_is_found_by_its_path() -> None:
    value = {"outer": [{"lat": 1.0, "lon": 2.0}, {"lat": 3.0, "lon": math.nan}], "n": 1}
    assert kernel.non_finite(value) == "outer[1].lon"
    assert kernel.non_finite({"a": "text", "b": 1, "c": None, "d": [1.5, 2.5]}) is None
    assert kernel.non_finite(example("ExclusionZone")) is None


def test_internal_json_topics_refuse_what_is_not_json() -> None:
    internal = topics.TopicSpec("throughcare-x-ticks", "key", None)
    assert kernel.decode(CODEC, internal, b'{"as_of": 1}') == {"as_of": 1}
    with pytest.raises(DecodeError, match="throughcare-x-ticks"):
        kernel.decode(CODEC, internal, b"{not json")
    with pytest.raises(DecodeError, match="infinity"):
        kernel.decode(CODEC, internal, b'{"x": 1e999}')


# --- deliveries: nothing committed after a lost output --------------------------------------


class FakeProducer:
    """Sends resolve as the test says: ``fail`` makes every delivery fail."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, bytes | None]] = []

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   partition: int | None = None, headers: Any = None) -> asyncio.Future[Any]:
        self.sent.append((topic, value))
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail:
            delivery.set_exception(TimeoutError("batch expired"))
        else:
            delivery.set_result("ok")
        return delivery

    async def flush(self) -> None:  # aiokafka's flush does not raise for a failed batch
        return None


class FakeConsumer:
    def __init__(self, records: dict[Any, list[Any]]) -> None:
        self.records = records
        self.commits = 0
        self.committed: dict[Any, int] = {}
        self.fetched = {tp: 0 for tp in records}

    async def getmany(self, *partitions: Any, timeout_ms: int, max_records: int
                      ) -> dict[Any, list[Any]]:
        records, self.records = self.records, {}
        for tp, found in records.items():
            self.fetched[tp] = found[-1].offset + 1
        return records

    def assignment(self) -> set[Any]:
        return set(self.fetched)

    def highwater(self, tp: Any) -> int:
        return self.fetched[tp]  # everything on the "broker" is fetched at once

    async def position(self, tp: Any) -> int:
        return self.fetched[tp]

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.commits += 1
        self.committed.update(offsets)


class Record:
    def __init__(self, value: bytes, offset: int = 0) -> None:
        self.topic, self.partition, self.offset = topics.TAG_PINGS.name, 0, offset
        self.key, self.value, self.headers, self.timestamp = b"TAG-1", value, [], offset


TP = TopicPartition(topics.TAG_PINGS.name, 0)


def consumer_with(producer: FakeProducer, *values: bytes) -> tuple[BatchConsumer, FakeConsumer]:
    async def forward(item: Item) -> None:  # a handler with one output a record
        await batch.producer.send("iom.out", item.raw, key=item.key)

    batch = BatchConsumer("test", [topics.TAG_PINGS], Settings(), "g", CODEC,
                          record_handler=forward)
    source = FakeConsumer({TP: [Record(v, n) for n, v in enumerate(values)]})
    batch.consumer = source  # type: ignore[assignment]
    batch.producer = kernel.Outputs(producer)
    return batch, source


async def test_a_batch_whose_outputs_were_delivered_is_committed() -> None:
    batch, source = consumer_with(FakeProducer(), encoded("TagPing"), encoded("TagPing"))
    assert await batch.run_once() == 2
    assert source.commits == 1 and source.committed == {TP: 2}


async def test_a_lost_output_is_never_followed_by_a_commit() -> None:
    producer = FakeProducer(fail=True)
    batch, source = consumer_with(producer, encoded("TagPing"))
    with pytest.raises(kernel.DeliveryFailed, match="batch expired"):
        await batch.run_once()
    assert producer.sent and source.commits == 0


async def test_a_lost_dead_letter_is_never_followed_by_a_commit() -> None:
    producer = FakeProducer(fail=True)
    batch, source = consumer_with(producer, b"poison")
    with pytest.raises(kernel.DeliveryFailed):
        await batch.run_once()
    assert producer.sent[0][0] == topics.DEAD_LETTERS.name and source.commits == 0


async def test_a_commit_refused_after_a_rebalance_does_not_stop_the_stream() -> None:
    class Rebalanced(FakeConsumer):
        async def commit(self, offsets: dict[Any, int]) -> None:
            raise CommitFailedError("the group has already rebalanced")

    producer = FakeProducer()
    batch, _ = consumer_with(producer, encoded("TagPing"))
    source = Rebalanced({TP: [Record(encoded("TagPing"), 0)]})
    batch.consumer = source  # type: ignore[assignment]
    assert await batch.run_once() == 1  # read again by the partitions' owner, not fatal
    assert producer.sent and source.commits == 0


async def test_settle_counts_what_was_delivered() -> None:
    producer = FakeProducer()
    outputs = kernel.Outputs(producer)
    for n in range(3):
        await outputs.send("iom.out", bytes([n]))
    assert await outputs.flush() == 3
    assert await outputs.flush() == 0  # emptied at every flush: bounded by one batch


async def test_settle_names_a_failed_or_cancelled_delivery_and_waits_for_a_pending_one() -> None:
    loop = asyncio.get_running_loop()
    delivered, failed, cancelled, later = (loop.create_future() for _ in range(4))
    delivered.set_result("ok")
    failed.set_exception(KafkaTimeoutError("batch expired"))
    cancelled.cancel()
    with pytest.raises(kernel.DeliveryFailed, match="KafkaTimeoutError"):
        await kernel.settle([delivered, failed])
    with pytest.raises(kernel.DeliveryFailed, match="CancelledError"):
        await kernel.settle([delivered, cancelled])
    loop.call_later(0.01, later.set_result, "ok")
    assert await kernel.settle([delivered, later]) == 2
    assert later.done()


async def test_after_a_batch_buffered_records_are_not_kept_waiting_for_more() -> None:
    waits: list[int] = []

    class Timed(FakeConsumer):
        async def getmany(self, *partitions: Any, timeout_ms: int, max_records: int
                          ) -> dict[Any, list[Any]]:
            waits.append(timeout_ms)
            return await super().getmany(*partitions, timeout_ms=timeout_ms,
                                         max_records=max_records)

    batch, _ = consumer_with(FakeProducer(), *(encoded("TagPing") for _ in range(3)))
    batch.consumer = Timed({TP: [Record(encoded("TagPing"), n) for n in range(3)]})
    batch.max_records = 2  # three records: two batches
    assert [await batch.run_once() for _ in range(3)] == [2, 1, 0]
    # the first waits (nothing handled yet), the second takes the buffered one at once,
    # the third (after one record) does not wait either, the fourth (after none) does
    await batch.run_once()
    assert waits == [batch.timeout_ms, 0, 0, batch.timeout_ms]


async def test_a_partition_revoked_mid_batch_is_neither_handled_further_nor_committed() -> None:
    """The group rebalances while a batch is handled (a worker lost): aiokafka revokes the
    partition between two awaits of the handler and its state is dropped. The rest of its
    records are left to its owner, uncommitted, not dead-lettered for a missing state."""
    handled: list[int] = []
    state: dict[int, list[int]] = {0: []}

    async def apply(item: Item) -> None:
        state[item.partition].append(item.offset)  # KeyError once the state is dropped
        handled.append(item.offset)
        if item.offset == 0:
            await listener.on_partitions_revoked({TP})
            del state[0]

    producer = FakeProducer()
    batch = BatchConsumer("test", [topics.TAG_PINGS], Settings(), "g", CODEC,
                          record_handler=apply)
    source = FakeConsumer({TP: [Record(encoded("TagPing"), n) for n in range(3)]})
    batch.consumer, batch.producer = source, kernel.Outputs(producer)  # type: ignore[assignment]
    listener = _FollowAssignment((), batch.buffers, batch.log, batch.revoked)
    assert await batch.run_once() == 3
    assert handled == [0]
    assert producer.sent == [], "nothing dead-lettered"
    assert source.committed == {}, "its owner reads it again from the last commit"
