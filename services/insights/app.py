"""insights: management information and outcomes from every contract topic, kept in an
embedded analytical store (DuckDB) and served as a page, tables and exports.

This module is the wiring: one reader task per topic, the readiness watch and the gauges'
refresh. The store and readers are in runtime.py, the measures in mi.py and outcomes.py
(pure), the views in web.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import Counter

from iomkit import topics
from iomkit.records import CaseRecord, CohortChange
from iomkit.service import Context
from services.insights import web  # the views register on import
from services.insights.rows import TABLES
from services.insights.runtime import (
    app,
    insights_settings,
    keep_topic,
    service,
    watch_caught_up,
)


def reader(topic: str) -> Callable[[], Awaitable[None]]:
    async def read() -> None:
        await keep_topic(topic)
    read.__name__ = read.__qualname__ = f"read_{TABLES[topic][0]}"  # Faust names tasks so
    return read


for _topic in TABLES:
    app.task(reader(_topic))
app.task(watch_caught_up)
CASEWORK = Counter("iom_insights_casework_total", "Cohort changes and case records read, "
                   "by kind", ["topic", "kind"])


@service.agent(topics.COHORT_CHANGES, topics.CASE_RECORDS)
async def casework_seen(record: CohortChange | CaseRecord, context: Context) -> None:
    """For the ops dashboard: cohort changes and case records by kind. It also keeps the
    Faust worker running (it will not start a consumer with nothing to subscribe to; the
    store's readers are group-less), and dead-letters a record of either topic no reader
    can read (nobody else reads iom.case.records in a group)."""
    kind = record.change if isinstance(record, CohortChange) else record.kind
    CASEWORK.labels(context.topic, kind).inc()


@app.timer(interval=insights_settings.refresh_s)
async def refresh_gauges() -> None:
    await web.refresh_gauges()


if __name__ == "__main__":
    service.main()
