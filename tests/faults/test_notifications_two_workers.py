"""Two notifications workers, one SIGKILLed while notifications are still retrying against
an endpoint that is down: every notification is delivered once, by the worker that owns the
input it was made from (the survivor takes over the dead one's), and disclosed once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from iomkit import testing, topics
from iomkit.processes import all_healthy, free_port
from services.notifications.receiver import Receiver
from services.notifications.routing import notification_id
from tests.integration.test_notifications_delivery import fast_retries, hit, person
from tests.integration.test_notifications_restart import subscriptions, wait_until

pytestmark = pytest.mark.integration
SECRETS = {"police": "police-secret-two-workers-0123", "probation": "pdu-secret-two-workers-01"}
HITS = 12


async def test_two_workers_one_killed_every_notification_delivered_once(
        settings, codec, start_service, tmp_path):
    run = uuid.uuid4().hex[:8]
    force = f"Twoshire {run}"
    ports = {name: free_port() for name in SECRETS}
    police = Receiver(SECRETS["police"], ports["police"])
    probation = Receiver(SECRETS["probation"], ports["probation"])  # down until the kill
    await police.start()
    people = [f"P-two-{run}-{i}" for i in range(HITS)]
    await testing.produce(settings, codec, topics.PEOPLE,
                          [person(codec, p, force) for p in people])
    env = {f"TEST_SECRET_{name.upper()}": secret for name, secret in SECRETS.items()}
    env.update(fast_retries(subscriptions(tmp_path / "s.toml", force, ports), force, 100))
    env["IOM_SESSION_TIMEOUT_S"] = "6"  # the killed worker's partitions move on sooner
    hits = [hit(run, i, people[i]) for i in range(HITS)]
    expected = {name: {notification_id(h["hit_id"], name, "HIT") for h in hits}
                for name in SECRETS}

    async with (testing.Reader(settings, codec, topics.NOTIFICATIONS.name) as notes,
                testing.Reader(settings, codec, topics.AUDIT.name) as audits):
        # both share the inputs' partitions
        first, second = (start_service("notifications", healthy=False, **env)
                         for _ in range(2))
        all_healthy([first, second])
        await testing.produce(settings, codec, topics.GPS_HITS, hits)
        await wait_until(lambda: len(police.deliveries) >= HITS, 60, "police told of all")
        # Every probation notification made, the first of each worker's queue retrying (the
        # rest wait behind it: one recipient's notifications go in order).
        await notes.wait_for(lambda seen: expected["probation"] <= {
            r.value["notification_id"] for r in seen if r.value["state"] == "PENDING"} and any(
            r.value["state"] == "RETRYING" and r.value["notification_id"]
            in expected["probation"] for r in seen))
        first.kill()  # half of probation's notifications were the killed worker's

        await probation.start()
        await wait_until(lambda: len(probation.deliveries) >= HITS, 90,
                         "probation told of all")
        await asyncio.sleep(2.0)  # anything sent twice would arrive by now
        for name, receiver in (("police", police), ("probation", probation)):
            assert {d.key for d in receiver.deliveries} == expected[name], name
            assert receiver.duplicates == 0, f"{name} was sent a notification twice"
            assert receiver.refused == []

        everything = expected["police"] | expected["probation"]
        await audits.wait_for(lambda seen: everything <= {
            r.value["details"].get("notification_id") for r in seen if r.value})
        disclosed = [r.value["details"]["notification_id"] for r in audits.seen
                     if r.value and r.value["details"].get("notification_id") in everything]
        assert sorted(disclosed) == sorted(everything), "each delivery disclosed once"
    await police.stop()
    await probation.stop()
