"""The referrals worker SIGKILLed mid-work (people being referred and registered): a new
worker rebuilds the dossiers from the changelog and carries on from the committed offsets,
and every person ends with exactly the alerts and cohort changes an uninterrupted worker gave
the same inputs: none lost, none different, a replayed one the same as the first (same id).

The restarted worker used to handle a first burst (76-107 of 150 registrations) and then
nothing more, with no error and no rebalance, once the broker had been used by other tests:
Faust had dropped part of a fetched batch. iomkit.streamwatch finds such a stream and
fetches the records again; this test is what showed it."""

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
from services.referrals.case import panel

pytestmark = pytest.mark.integration
PEOPLE = 150


def inputs(codec: Any, prefix: str, count: int = PEOPLE
           ) -> list[tuple[topics.TopicSpec, list[dict[str, Any]]]]:
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    person = from_json(codec.registry.current("Person").raw, raw)
    submitted = testing.now().replace(microsecond=0) - timedelta(hours=2)
    people, referrals, decisions = [], [], []
    for i in range(count):
        pid = f"{prefix}-{i}"
        people.append({**person, "person_id": pid, "force": "Hampshire"})
        referral = {"referral_id": f"{pid}-R", "person_id": pid,
                    "referring_agency": "Hampshire Constabulary", "referrer": "DC Marsh",
                    "proposed_cohort": "FIXED", "urgent": True, "index_offence": "burglary",
                    "reason": "ten burglaries this year and homeless on release",
                    "submitted_at": submitted}
        referrals.append(referral)
        decided = submitted + timedelta(hours=1)
        decisions.append(panel.decide(
            referral, outcome="ACCEPTED", panel_date=panel.uk_local_date(decided),
            decided_at=decided, cohort="FIXED", pathway="CATCH_AND_CONTROL",
            lead_officer="OM Jones").decision)
    return [(topics.PEOPLE, people), (topics.REFERRALS, referrals),
            (topics.PANEL_DECISIONS, decisions)]


def outputs(seen: list[Any], prefix: str, id_field: str) -> dict[str, dict[str, set[tuple]]]:
    """person index -> output id -> the distinct (kind, lead officer) published with it."""
    found: dict[str, dict[str, set[tuple]]] = defaultdict(lambda: defaultdict(set))
    for r in seen:
        if r.value and r.value["person_id"].startswith(prefix + "-"):
            index = r.value["person_id"][len(prefix) + 1:]
            kind = r.value.get("kind") or r.value.get("change")
            found[index][r.value[id_field]].add((kind, r.value["lead_officer"]))
    return found


def shape(found: dict[str, dict[str, set[tuple]]]) -> dict[str, list[tuple]]:
    """Ids differ between people: compare what each person was told, and that each id was
    published with one content only."""
    return {i: sorted(next(iter(v)) if len(v) == 1 else ("CONFLICT", str(v))
                      for v in by_id.values()) for i, by_id in found.items()}


async def test_referrals_killed_mid_work_loses_and_changes_nothing(
        settings, codec, start_service):
    run = uuid.uuid4().hex[:6]
    control, fault = f"FC{run}", f"FF{run}"
    env = {"IOM_SESSION_TIMEOUT_S": "6"}
    worker = start_service("referrals", **env)
    async with (testing.Reader(settings, codec, topics.COHORT_CHANGES.name) as changes,
                testing.Reader(settings, codec, topics.CASE_ALERTS.name) as alerts):
        async def refer(prefix: str) -> list[dict[str, Any]]:
            """People and their referrals, read before any decision on them (one agent
            reads the topics; a decision before its referral is refused)."""
            people, referrals, decisions = inputs(codec, prefix)
            await testing.produce_many(settings, codec, *people)
            await testing.produce_many(settings, codec, *referrals)
            await alerts.wait_for(lambda seen: len(outputs(seen, prefix, "alert_id")) == PEOPLE,
                                  within=120)
            return decisions[1]

        decisions = await refer(control)
        await testing.produce_many(settings, codec, topics.PANEL_DECISIONS, decisions)
        await changes.wait_for(lambda seen: len(outputs(seen, control, "change_id")) == PEOPLE,
                               within=120)
        await changes.settle(2.0)
        expected = (shape(outputs(changes.seen, control, "change_id")),
                    shape(outputs(alerts.seen, control, "alert_id")))

        decisions = await refer(fault)
        await testing.produce_many(settings, codec, topics.PANEL_DECISIONS, decisions)
        await changes.wait_for(lambda seen: len(outputs(seen, fault, "change_id")) > 0,
                               within=60)
        worker.kill()
        await asyncio.sleep(1.0)
        assert len(outputs(changes.seen, fault, "change_id")) < PEOPLE, \
            "the worker should have been killed mid-work"

        start_service("referrals", **env)
        await changes.wait_for(lambda seen: len(outputs(seen, fault, "change_id")) == PEOPLE,
                               within=120)
        await changes.settle(2.0)
        await alerts.settle(2.0)
    found = (shape(outputs(changes.seen, fault, "change_id")),
             shape(outputs(alerts.seen, fault, "alert_id")))
    assert found == expected
