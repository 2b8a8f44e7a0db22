"""``iom.audit`` into the audit store, from where the store's last batch ended to the end the
topic had when the load began (the operator's client configuration: nobody else reads the
topic). A record that is no AuditRecord is copied to ``iom.dead-letters`` with the reason
(before its batch is written: at worst copied twice after a crash, never lost) and the load
carries on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from iomkit import kafka, kernel, snapshot
from iomkit.audittrail.store import TOPIC, Rows, Store, rows_of
from iomkit.codec import Codec, DecodeError
from iomkit.deadletters import DeadLetters
from iomkit.settings import Settings
from iomkit.topics import AUDIT

SERVICE = "iom-cli"  # the writer named on what the command line writes


@dataclass
class Loaded:
    read: int = 0
    new: int = 0
    dead_lettered: int = 0


async def load(settings: Settings, store: Store, codec: Codec) -> Loaded:
    loaded = Loaded()
    producer = kafka.producer(settings, enable_idempotence=True)
    await producer.start()
    letters = DeadLetters(SERVICE, lambda t, k, v, h: producer.send_and_wait(
        t, v, key=k, headers=h), settings.now)

    async def batch(records: list[Any], positions: dict[int, int]) -> None:
        rows: list[Rows] = []
        for record in records:
            try:
                rows.append(rows_of(kernel.decode(codec, AUDIT, record.value)))
            except (DecodeError, KeyError, TypeError, AttributeError) as exc:
                await letters(topic=TOPIC, partition=record.partition, offset=record.offset,
                              key=record.key, value=record.value, reason=str(exc),
                              kind="decode", original_headers=record.headers or ())
                loaded.dead_lettered += 1
        loaded.new += await asyncio.to_thread(store.write, rows, positions)
        loaded.read += len(records)

    try:
        await snapshot.read_to_end(settings, TOPIC, batch, start=store.positions())
    finally:
        await producer.stop()
    return loaded
