"""risk: rescores a person's RAG grade when their facts change and publishes it.

Thin shell: decoding, dead letters and metrics come from iomkit.Service; the grading is in
grading.py and ogrs3.py.
"""

from __future__ import annotations

from typing import Any

from iomkit import topics
from iomkit.records import Person
from iomkit.service import Context, Service
from services.risk import grading

service = Service("risk")
app = service.app
# person_id -> the last grade published for them (rag, revision, reasons): a restart
# rebuilds it from the changelog, so nothing already published is published again.
published = service.table("published-grades")


@service.agent(topics.PEOPLE)
async def person_changed(person: Person, context: Context) -> None:
    now = service.clock()
    new = grading.grade(grading.facts_of(person.asdict()), now)
    previous: dict[str, Any] | None = published.get(person.person_id)
    record = grading.risk_grade_record(
        person.person_id, person.force, new, previous, now, None,
        service.settings.complete_grades,
    )
    if record is None:
        return
    await service.publish(topics.RISK_GRADES, record, cause=context)
    published[person.person_id] = {
        "rag": record["rag"], "revision": record["revision"], "reasons": record["reasons"],
    }
    service.log.info(
        "grade.published", rag=record["rag"], changed=record["changed"],
        revision=record["revision"], static_band=record["static_band"],
    )
    service.log.debug("grade.published.person", person_id=person.person_id)


if __name__ == "__main__":
    service.main()
