"""The suite's isolation helper on the real broker: workers a test starts read from where
the broker was when the test began, not every earlier test's records."""

from __future__ import annotations

import json
import uuid

import pytest

from iomkit import kafka, testing, topics
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT

pytestmark = pytest.mark.integration


async def test_every_service_group_starts_at_the_end_of_every_topic(settings, codec):
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    person = from_json(codec.registry.current("Person").raw, raw)
    await testing.produce(settings, codec, topics.PEOPLE,
                          [{**person, "person_id": f"P-grp-{uuid.uuid4().hex[:8]}"}])
    moved = await testing.start_groups_at_the_end(settings)
    assert moved >= len(testing.WORKER_GROUPS)
    ends = await kafka.end_offsets(settings, topics.PEOPLE.name)
    admin = await kafka.admin(settings)
    try:
        committed = await admin.list_consumer_group_offsets("throughcare-referrals")
    finally:
        await admin.close()
    assert {tp: committed[tp].offset for tp in ends if ends[tp] > 0} == \
        {tp: end for tp, end in ends.items() if end > 0}
