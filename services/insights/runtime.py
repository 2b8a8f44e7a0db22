"""The insights worker's state and how it is wired: the Faust app and settings, the store,
and one group-less reader per topic that writes each batch's rows to the store together
with where the batch ended. Shared by the tasks (app.py) and the views (web.py).

Every worker keeps the whole store (the figures are about every force together), so any
worker answers any request; nothing is partitioned between workers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition

from iomkit import topics
from iomkit.service import Service
from services.insights import config
from services.insights.rows import TABLES, Row
from services.insights.store import Store

service = Service("insights")
app = service.app
settings = service.settings
insights_settings, unit_costs = config.load()
store = Store(insights_settings.store_file
              or settings.store_dir / "insights" / "insights.duckdb")
caught_up = {topic: asyncio.Event() for topic in TABLES}
ready = asyncio.Event()
service.require_ready("store", ready)


async def keep_topic(topic: str) -> None:
    """Follow ``topic`` from where the store's last batch of it ended (the beginning for a
    new or deleted store); each batch's rows and end go to the store in one transaction."""
    _, _, _, row_of = TABLES[topic]
    positions = {TopicPartition(topic, p): o for p, o in store.positions(topic).items()}
    pending: list[Row] = []

    def keep(key: bytes | None, value: dict[str, Any]) -> None:
        pending.append(row_of(value))  # a record its row cannot be made of is skipped

    async def write() -> None:
        rows, pending[:] = list(pending), []
        ends = {tp.partition: offset for tp, offset in positions.items()}
        await asyncio.to_thread(store.write, topic, rows, ends)

    await service.follow(topics.spec(topic), keep, caught_up[topic], write,
                         positions=positions)


async def watch_caught_up() -> None:
    await asyncio.gather(*(event.wait() for event in caught_up.values()))
    ready.set()
    service.log.info("store.caught_up", **store.counts())
