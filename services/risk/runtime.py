"""The risk worker's state and how it is wired: the Faust app and settings, the hot path (a
batch consumer over every person-keyed input, each person's state per partition with a
changelog) and every person's view, which every worker follows. Shared by the tasks and
agents (app.py) and the views (web.py)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from iomkit import metrics, topics
from iomkit.batch import BatchConsumer, Item
from iomkit.changelog import ChangelogStore
from iomkit.service import Service
from iomkit.topics import CONDUIT_MS, TopicSpec
from services.risk import config
from services.risk.person import PersonState
from services.risk.rescoring import REVIEW, rescore

service = Service("risk")
app = service.app
settings = service.settings
risk_settings, rules = config.load()

# time passing, per person
REVIEWS = TopicSpec("throughcare-risk-reviews", "person_id", None, retention_ms=CONDUIT_MS)
VIEWS = TopicSpec("throughcare-risk-views", "person_id", None, compacted=True)
INPUTS = [topics.PEOPLE, topics.OFFENDER_EVENTS, topics.GPS_HITS, topics.ZONE_BREACHES,
          topics.COHORT_CHANGES, REVIEWS]
people: ChangelogStore[PersonState] = ChangelogStore(
    settings, service.name, "people", dump=PersonState.to_json, load=PersonState.from_json
)
service.declare(REVIEWS, VIEWS, people.spec)
service.measure_store("people", lambda: len(people))
hot_path = BatchConsumer(
    service.name, INPUTS, settings, f"{app.conf.id}-inputs", service.codec, service.clock,
    stores=[people], record_handler=lambda item: person_input(item),
)
service.require_ready("inputs", hot_path.ready)
service.track_lag(hot_path.group_id, [t.name for t in INPUTS])
# Every worker follows every person's view (a compacted topic), so any worker can answer.
views: dict[bytes, dict[str, Any]] = {}
GRADES_BY_RAG = Counter("iom_risk_grades_total", "Grades published, by rag and whether it "
                        "changed", ["rag", "changed"])


async def person_input(item: Item) -> None:
    key = item.key or b""
    state = people.get(item.partition, key) or PersonState()
    record = item.record or REVIEW
    rescored = rescore(state, record, item.value, service.clock(), rules,
                       risk_settings.complete_grades)
    if rescored is None:
        return
    people.put(item.partition, key, state)
    grade = rescored.grade
    if grade is None:
        if rescored.view is not None:  # the same grade, a new RoSH level to show beside it
            await hot_path.send_json(VIEWS, key, rescored.view, item.partition)
        return
    await hot_path.publish(topics.RISK_GRADES, grade, item.cause, key=key)
    if record == "OffenderEvent":
        metrics.observe_latency(service.name, "event_to_grade", arrived_ms=item.timestamp,
                                event_at=item.value["occurred_at"], now=service.clock())
    await hot_path.send_json(VIEWS, key, rescored.view, item.partition)
    service.log.debug("grade.published", rag=grade["rag"], changed=grade["changed"],
                      revision=grade["revision"])
