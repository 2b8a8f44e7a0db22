"""risk: rescores a person's RAG grade on every relevant event, and as time passes.

The hot path is a batch consumer (iomkit.batch) over every person-keyed input, so a
person's records are handled in order and one worker rescores well over 10,000 events a
second; each person's state is kept per partition and changelogged (iomkit.changelog).
The Faust app serves the views, the review timer and /metrics. Grading is pure:
rescoring.py, grading.py, dynamic.py, ogrs3.py.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from iomkit import nav, topics
from iomkit.batch import BatchConsumer, Item
from iomkit.changelog import ChangelogStore
from iomkit.identity import Forbidden, allow, check_force, principal_of
from iomkit.identity.isa import GRADE_ROLES
from iomkit.records import RiskGrade
from iomkit.service import Context, Service
from iomkit.topics import TopicSpec
from services.risk import config
from services.risk.person import PersonState
from services.risk.rescoring import REVIEW, rescore

service = Service("risk")
app = service.app
settings = service.settings
risk_settings, rules = config.load()

REVIEWS = TopicSpec("throughcare-risk-reviews", "person_id", None)  # time passing, per person
VIEWS = TopicSpec("throughcare-risk-views", "person_id", None, compacted=True)
INPUTS = [topics.PEOPLE, topics.OFFENDER_EVENTS, topics.GPS_HITS, topics.ZONE_BREACHES,
          topics.COHORT_CHANGES, REVIEWS]
people: ChangelogStore[PersonState] = ChangelogStore(
    settings, service.name, "people", dump=PersonState.to_json, load=PersonState.from_json
)
service.declare(REVIEWS, VIEWS, people.spec)
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
        return
    await hot_path.publish(topics.RISK_GRADES, grade, item.cause, key=key)
    await hot_path.send_json(VIEWS, key, rescored.view, item.partition)
    service.log.debug("grade.published", rag=grade["rag"], changed=grade["changed"],
                      revision=grade["revision"])


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


# -- views ----------------------------------------------------------------------------------


@service.page("/people/{person_id}/grade")
@allow(GRADE_ROLES)
async def person_grade(web: Any, request: Any, person_id: str) -> Any:
    document = views.get(person_id.encode())
    if document is None:
        return web.json({"error": f"no grade for person {person_id}"}, status=404)
    check_force(request, document["force"], person_id)
    await service.audit(request, "VIEW", "risk grade and its history", person_id=person_id)
    document = {**document, "rules": risk_settings.rules_file.name}
    if nav.wants_html(request.headers.get("Accept", "")):
        return web.html(nav.json_page(f"risk grade of {person_id}", document))
    return web.json(document)


@service.page("/grades")
@allow(GRADE_ROLES, scope="force")
async def grades(web: Any, request: Any) -> Any:
    """The grades of the caller's forces' people (or of the one force named, if theirs)."""
    rag = request.query.get("rag")
    force = request.query.get("force")
    principal = principal_of(request)
    if force and not principal.sees(force):
        raise Forbidden(f"the grades of a force not yours ({force[:64]})")
    rows = []
    for document in list(views.values()):
        if document is None or not principal.sees(document["force"]):
            continue
        current = document["current"]
        if (rag and current["rag"] != rag) or (force and document["force"] != force):
            continue
        rows.append({"person_id": document["person_id"], "force": document["force"],
                     "rag": current["rag"], "revision": current["revision"],
                     "graded_at": current["graded_at"], "reason": current["reasons"][0],
                     "registered": document["registered"] is not None})
    order = {"RED": 0, "AMBER": 1, "GREEN": 2}
    rows.sort(key=lambda r: (order.get(r["rag"], 3), r["force"] or "", r["person_id"]))
    await service.audit(request, "VIEW", "grade list for the MAP meeting",
                        people=[row["person_id"] for row in rows])
    document = {"rag": rag, "force": force, "count": len(rows), "grades": rows}
    if nav.wants_html(request.headers.get("Accept", "")):
        return web.html(nav.json_page("risk grades", document))
    return web.json(document)


if __name__ == "__main__":
    service.main()
