"""risk: rescores a person's RAG grade on every relevant event, and as time passes.

The hot path is a batch consumer (iomkit.batch) over every person-keyed input, so a
person's records are handled in order and one worker rescores well over 10,000 events a
second; each person's state is kept per partition and changelogged (iomkit.changelog).
The Faust app serves the views, the review timer and /metrics. Grading is pure:
rescoring.py, grading.py, dynamic.py, ogrs3.py.

This module is the wiring: tasks, the agent and the review timer. The worker's state and
the hot path are in runtime.py, the views in web.py.
"""

from __future__ import annotations

from typing import Any

from iomkit import topics
from iomkit.records import RiskGrade
from iomkit.service import Context
from services.risk import web  # noqa: F401 (the views register on import)
from services.risk.runtime import (
    GRADES_BY_RAG,
    REVIEWS,
    VIEWS,
    app,
    hot_path,
    people,
    risk_settings,
    service,
    views,
)


@app.task
async def rescore_inputs() -> None:
    await hot_path.run()


@app.task
async def follow_views() -> None:
    def keep(key: bytes | None, view: dict[str, Any]) -> None:
        if key is not None:
            views[key] = view

    await service.follow(VIEWS, keep)


@service.agent(topics.RISK_GRADES)
async def grade_published(grade: RiskGrade, context: Context) -> None:
    """For the ops dashboard: every grade on the topic by rag (no person ids in labels).

    It also keeps the Faust worker alive: Faust's consumer refuses to start with nothing
    to subscribe to, and every other input of this service is read by the batch consumer."""
    GRADES_BY_RAG.labels(grade.rag, str(grade.changed).lower()).inc()


@app.timer(interval=risk_settings.review_interval_s)
async def review_grades() -> None:
    """Time moves grades too (quiet days, birthdays): a tick for every person owned here."""
    if not hot_path.ready.is_set():
        return
    tick = {"as_of": service.clock().isoformat()}
    ticked = 0
    for partition in people.owned():
        for key, state in people.items(partition):
            if state.person is not None:
                await hot_path.send_json(REVIEWS, key, tick, partition)
                ticked += 1
    service.log.info("grades.reviewed", people=ticked)


if __name__ == "__main__":
    service.main()
