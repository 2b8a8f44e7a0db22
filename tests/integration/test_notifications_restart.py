"""notifications worker SIGKILLed mid-delivery: one receiver answering slowly (requests in
flight when the worker dies), one down until after the crash (notifications RETRYING). A
new worker resumes from iom.notifications and the `told` changelog: every notification is
received exactly once by idempotency key, in the order it was created, per recipient."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from iomkit import testing, topics
from iomkit.processes import free_port
from services.notifications.receiver import Receiver
from services.notifications.routing import notification_id
from tests.integration.test_notifications_delivery import fast_retries, hit, person

pytestmark = pytest.mark.integration
SECRETS = {"police": "police-secret-restart-0123456789", "probation": "pdu-secret-restart-01234"}
HITS = 12


class SlowReceiver(Receiver):
    """Takes ``delay`` seconds over each request before it checks and keeps it, so the
    worker always has a request in flight when it is killed."""

    delay = 0.25
    in_flight = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        try:
            await asyncio.sleep(self.delay)
            return await super().handle(request)
        finally:
            self.in_flight -= 1


def subscriptions(path: Path, force: str, ports: dict[str, int]) -> Path:
    role = {"police": "POLICE", "probation": "PROBATION"}
    path.write_text("".join(
        f'[[recipient]]\nname = "{name}"\nrole = "{role[name]}"\nkinds = ["HIT"]\n'
        f'forces = ["{force}"]\nurl = "http://127.0.0.1:{port}/hooks/throughcare"\n'
        f'secret_env = "TEST_SECRET_{name.upper()}"\nagreement = "test ISA"\n\n'
        for name, port in ports.items()))
    return path


async def wait_until(check: Any, within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_killed_mid_delivery_a_new_worker_delivers_everything_once_in_order(
        settings, codec, start_service, tmp_path):
    run = uuid.uuid4().hex[:8]
    force = f"Restartshire {run}"  # only this test's people reach this test's receivers
    ports = {name: free_port() for name in SECRETS}
    police = SlowReceiver(SECRETS["police"], ports["police"])
    probation = Receiver(SECRETS["probation"], ports["probation"])  # down until the crash
    await police.start()
    people = [f"P-k-{run}-{i}" for i in range(HITS)]
    await testing.produce(settings, codec, topics.PEOPLE,
                          [person(codec, p, force) for p in people])
    env = {f"TEST_SECRET_{name.upper()}": secret for name, secret in SECRETS.items()}
    env.update(fast_retries(subscriptions(tmp_path / "s.toml", force, ports), force, 100))
    env["IOM_SESSION_TIMEOUT_S"] = "6"  # the killed worker's partitions move on sooner
    hits = [hit(run, i, people[i]) for i in range(HITS)]
    expected = {name: [notification_id(h["hit_id"], name, "HIT") for h in hits]
                for name in SECRETS}

    async with testing.Reader(settings, codec, topics.NOTIFICATIONS.name) as notes:
        first = start_service("notifications", **env)
        await testing.produce(settings, codec, topics.GPS_HITS, hits)
        # Killed while police deliveries are under way (a request in flight) and
        # probation's are RETRYING against an endpoint that is down.
        await wait_until(lambda: len(police.deliveries) >= 3, 30, "the first deliveries")
        await wait_until(lambda: police.in_flight > 0, 5,
                         "a police request in flight")
        first.kill()
        before = len(police.deliveries)
        assert before < HITS, "the worker should have been killed mid-delivery"
        await asyncio.sleep(SlowReceiver.delay * 2)  # the in-flight request lands (or not)
        # probation's endpoint was down: its first notification was retrying
        await notes.wait_for(lambda seen: any(
            r.value["recipient"] == "probation" and r.value["state"] == "RETRYING"
            and r.value["notification_id"] in expected["probation"] for r in seen))

        await probation.start()
        start_service("notifications", **env)
        for name, receiver in (("police", police), ("probation", probation)):
            await wait_until(lambda r=receiver: len(r.deliveries) >= HITS, 60,
                             f"every {name} notification")
        await asyncio.sleep(1.0)  # anything sent twice would arrive by now
        everything = set(expected["police"]) | set(expected["probation"])
        await notes.wait_for(lambda seen: everything <= {
            r.value["notification_id"] for r in seen if r.value["state"] == "DELIVERED"})

        created = {name: [r.value["notification_id"] for r in notes.seen
                          if r.value["recipient"] == name and r.value["state"] == "PENDING"]
                   for name in SECRETS}
        for name, receiver in (("police", police), ("probation", probation)):
            keys = [d.key for d in receiver.deliveries]  # first arrival per key, in order
            assert sorted(keys) == sorted(expected[name]), name
            first_created = list(dict.fromkeys(created[name]))  # a replay re-publishes PENDING
            assert keys == [k for k in first_created if k in set(expected[name])], name
            assert receiver.refused == []
    await police.stop()
    await probation.stop()
