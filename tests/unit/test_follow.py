"""The group-less reader (iomkit.kafka.follow): whatever ``apply`` returns, a record is
applied once and the reader carries on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition

from iomkit import kafka

TP = TopicPartition("iom.gps-hits", 0)


def record(offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(TP.topic, TP.partition, offset, 0, 0, b"k", value, None,
                          1, len(value), [])


class OneBatch:
    """A reader with one batch on the topic; the next read cancels (the task stopped)."""

    def __init__(self, *values: bytes) -> None:
        self.batches = [{TP: [record(i, v) for i, v in enumerate(values)]}]

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[ConsumerRecord]]:
        if not self.batches:
            raise asyncio.CancelledError
        return self.batches.pop(0)


async def follow(reader: OneBatch, apply: Any) -> dict[TopicPartition, int]:
    positions: dict[TopicPartition, int] = {}
    with pytest.raises(asyncio.CancelledError):
        await kafka._follow(reader, TP.topic, apply, None, positions,  # type: ignore[arg-type]
                            "notifications", None, False)
    return positions


async def test_a_plain_function_that_returns_a_value_is_applied_not_skipped(
        caplog: pytest.LogCaptureFixture) -> None:
    # the console's hit board answers whether the card is new (a bool): once, this was
    # awaited, raised TypeError, and every hit was counted skipped
    seen: list[bytes] = []
    positions = await follow(OneBatch(b"a", b"b"), lambda _, v: seen.append(v) or True)
    assert seen == [b"a", b"b"] and positions == {TP: 2}
    assert "follow.skipped" not in caplog.text


async def test_a_coroutine_function_is_awaited() -> None:
    seen: list[bytes] = []

    async def apply(_: bytes, value: bytes) -> None:
        await asyncio.sleep(0)
        seen.append(value)
    await follow(OneBatch(b"a"), apply)
    assert seen == [b"a"]


async def test_a_record_apply_refuses_is_skipped_and_the_next_applied() -> None:
    seen: list[bytes] = []

    def apply(_: bytes, value: bytes) -> None:
        if value == b"bad":
            raise ValueError("no")
        seen.append(value)
    positions = await follow(OneBatch(b"bad", b"good"), apply)
    assert seen == [b"good"] and positions == {TP: 2}
