"""The risk worker SIGKILLed mid-work (grades being published, offsets not yet committed): a
new worker takes over from the committed offsets and the restored state, and every person
ends with exactly the grades an uninterrupted worker gave the same inputs: none lost, none
different, a replayed grade the same as the first (same person, revision, rag and cause)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from iomkit import testing, topics
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT

pytestmark = pytest.mark.integration
PEOPLE = 3000
STORY = [("APPOINTMENT_MISSED", 3, None), ("APPOINTMENT_MISSED", 20, None),
         ("ARRESTED", 1, "BURGLARY_DOMESTIC"), ("ACCOMMODATION_SECURED", 0.5, None)]


def inputs(codec: Any, prefix: str, count: int = PEOPLE
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    person = from_json(codec.registry.current("Person").raw, raw)
    now = testing.now()
    people = [{**person, "person_id": f"{prefix}-{i}"} for i in range(count)]
    events = [{"event_id": f"{prefix}-{i}-E{n}", "person_id": f"{prefix}-{i}", "type": kind,
               "occurred_at": now - timedelta(days=days), "source_agency": "Probation",
               "offence": offence, "details": {}}
              for i in range(count) for n, (kind, days, offence) in enumerate(STORY)]
    return people, events


def grades_by_person(seen: list[Any], prefix: str) -> dict[str, dict[int, set[tuple]]]:
    """person index -> revision -> the distinct (rag, cause) published for it."""
    found: dict[str, dict[int, set[tuple]]] = defaultdict(lambda: defaultdict(set))
    for r in seen:
        if r.value and r.value["person_id"].startswith(prefix + "-"):
            index = r.value["person_id"][len(prefix) + 1:]
            cause = (r.value["cause_event_id"] or "").removeprefix(f"{prefix}-{index}-")
            found[index][r.value["revision"]].add((r.value["rag"], cause))
    return found


def total(found: dict[str, dict[int, set[tuple]]]) -> int:
    return sum(len(revisions) for revisions in found.values())


async def test_risk_killed_mid_work_loses_and_changes_no_grade(settings, codec, start_service):
    run = uuid.uuid4().hex[:6]
    control, fault = f"RC{run}", f"RF{run}"
    env = {"IOM_SESSION_TIMEOUT_S": "6"}
    risk = start_service("risk", **env)
    async with testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades:
        # An uninterrupted worker first: what every person's grades must be.
        people, events = inputs(codec, control)
        await testing.produce_many(settings, codec, topics.PEOPLE, people)
        await testing.produce_many(settings, codec, topics.OFFENDER_EVENTS, events)
        await grades.wait_for(lambda seen: len(grades_by_person(seen, control)) == PEOPLE,
                              within=120)
        await grades.settle(3.0)
        expected = grades_by_person(grades.seen, control)
        assert all(len(v) == 1 for g in expected.values() for v in g.values())

        # The same inputs for other people, and the worker killed while it grades them.
        people, events = inputs(codec, fault)
        await testing.produce_many(settings, codec, topics.PEOPLE, people)
        sending = asyncio.create_task(
            testing.produce_many(settings, codec, topics.OFFENDER_EVENTS, events))
        await grades.wait_for(lambda seen: total(grades_by_person(seen, fault)) > 0,
                              within=60)
        risk.kill()
        await sending
        await grades.settle(1.0)
        before = total(grades_by_person(grades.seen, fault))
        assert before < total(expected), "the worker should have been killed mid-work"

        start_service("risk", **env)
        try:
            await grades.wait_for(
                lambda seen: total(grades_by_person(seen, fault)) >= total(expected), within=60)
        except TimeoutError:
            found = grades_by_person(grades.seen, fault)
            diff = [(i, dict(found.get(i, {})), dict(expected[i])) for i in expected
                    if found.get(i) != expected[i]]
            raise AssertionError(
                f"after the restart {total(found)} grades, {total(expected)} expected (before "
                f"the kill {before}); {len(diff)} people differ, e.g. {diff[:3]}") from None
        await grades.settle(3.0)
    found = grades_by_person(grades.seen, fault)
    assert found.keys() == expected.keys()
    different = {i: (dict(found[i]), dict(expected[i])) for i in expected
                 if found[i] != expected[i]}
    assert not different, f"{len(different)} people graded otherwise, e.g. " \
                          f"{next(iter(different.items()))}"
