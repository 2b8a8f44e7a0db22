"""Read a topic from given positions (the beginning by default) up to the end it had when
the read began, batch by batch, without a consumer group: the operator's tools that copy a
topic somewhere (the audit store, a subject access export) know where they are themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from iomkit import kafka
from iomkit.settings import Settings

# one batch's records and, for each partition read, the next offset after them
Batch = Callable[[list[Any], dict[int, int]], Awaitable[None]]


async def read_to_end(settings: Settings, topic: str, on_batch: Batch,
                      start: Mapping[int, int] | None = None, max_records: int = 5000
                      ) -> int:
    """Hands ``on_batch`` every record of ``topic`` from ``start`` (partition -> next
    offset; missing partitions from their beginning) to the end offsets the broker gave at
    the start; returns how many records were handed."""
    ends = {tp: end for tp, end in (await kafka.end_offsets(settings, topic)).items()}
    start = start or {}
    todo = {tp: end for tp, end in ends.items() if start.get(tp.partition, 0) < end}
    if not todo:
        return 0
    reader = kafka.consumer(settings, group_id=None)
    await reader.start()
    handed = 0
    try:
        reader.assign(list(todo))
        for tp in todo:
            if tp.partition in start:
                reader.seek(tp, start[tp.partition])
            else:
                await reader.seek_to_beginning(tp)
        while todo:
            batches = await reader.getmany(*todo, timeout_ms=1000, max_records=max_records)
            records: list[Any] = []
            positions: dict[int, int] = {}
            for tp, got in batches.items():
                kept = [r for r in got if r.offset < todo[tp]]
                records += kept
                if kept:
                    positions[tp.partition] = kept[-1].offset + 1
            for tp in list(todo):
                # at the end (a compacted or transactional topic may end past its last
                # record): what comes later is for the next read
                if await reader.position(tp) >= todo[tp]:
                    positions[tp.partition] = todo[tp]
                    del todo[tp]
                    reader.pause(tp)
            if records or positions:
                await on_batch(records, positions)
                handed += len(records)
    finally:
        await kafka.stop_consumer(reader)
    return handed

