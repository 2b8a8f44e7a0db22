"""Zone breaches and tag health on the real broker: one ZoneBreach per episode, re-armed
by a compliant fix; a self-intersecting zone dead-lettered; vague fixes raise a tag alert
and a usable one its recovery."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from iomkit import testing, topics

pytestmark = pytest.mark.integration
SQUARE = [[50.911, -1.407], [50.911, -1.402], [50.9085, -1.402], [50.9085, -1.407],
          [50.911, -1.407]]
INSIDE, OUTSIDE = (50.910, -1.4045), (50.905, -1.4045)


async def test_breaches_per_episode_and_tag_alerts(settings, codec, start_service):
    run = uuid.uuid4().hex[:8]
    start_service("gps_stream")
    device, person = f"TAG-Z-{run}", f"P-Z-{run}"
    now = testing.now().replace(microsecond=0)
    zone = {"zone_id": f"Z-{run}", "person_id": person, "kind": "EXCLUSION",
            "polygon": SQUARE, "active_from": now - timedelta(days=1), "active_to": None,
            "version": 1, "victim_safety": True}  # a victim's: its breaches say so
    bow_tie = dict(zone, zone_id=f"Z-bad-{run}", polygon=[
        [50.911, -1.407], [50.9085, -1.402], [50.911, -1.402], [50.9085, -1.407],
        [50.911, -1.407]])
    await testing.produce(settings, codec, topics.EXCLUSION_ZONES, [zone, bow_tie])
    await testing.produce(settings, codec, topics.TAG_ENROLMENTS, [{
        "enrolment_id": f"E-{run}", "device_id": device, "person_id": person,
        "status": "FITTED", "effective_at": now - timedelta(days=1),
        "monitoring_ends_at": None}])
    await asyncio.sleep(3)  # every worker reads the zones from its own follower

    def ping(minutes_ago: int, at: tuple[float, float], accuracy: float = 10.0) -> dict:
        return {"device_id": device, "recorded_at": now - timedelta(minutes=minutes_ago),
                "lat": at[0], "lon": at[1], "accuracy_m": accuracy}

    trail = [ping(60, OUTSIDE), ping(59, INSIDE), ping(58, INSIDE),  # one episode
             ping(57, INSIDE, accuracy=250),  # too vague to end or start anything
             ping(56, OUTSIDE), ping(55, INSIDE)]  # re-armed, then a second episode
    vague = [ping(50 - i, OUTSIDE, accuracy=300) for i in range(5)]
    await testing.produce(settings, codec, topics.TAG_PINGS, trail + vague)

    def ours(seen):
        return [r.value for r in seen if r.value and r.value["person_id"] == person]

    async with testing.Reader(settings, codec, topics.ZONE_BREACHES.name) as breaches:
        await breaches.wait_for(lambda seen: len(ours(seen)) >= 2)
        await breaches.settle(2.0)
    found = ours(breaches.seen)
    assert [b["first_fix_at"] for b in found] == [now - timedelta(minutes=59),
                                                  now - timedelta(minutes=55)]
    assert all(b["kind"] == "ENTERED_EXCLUSION" and b["device_id"] == device for b in found)
    assert all(b["victim_safety"] is True for b in found)

    async with testing.Reader(settings, codec, topics.TAG_ALERTS.name) as alerts:
        await alerts.wait_for(lambda seen: any(
            r.value and r.value["device_id"] == device and r.value["kind"] == "FIXES_UNUSABLE"
            for r in seen))
        await testing.produce(settings, codec, topics.TAG_PINGS, [ping(1, OUTSIDE)])
        await alerts.wait_for(lambda seen: any(
            r.value and r.value["device_id"] == device and r.value["kind"] == "RECOVERED"
            for r in seen))

    async with testing.Reader(settings, codec, topics.DEAD_LETTERS.name) as dlq:
        letters = await dlq.wait_for(lambda seen: any(
            r.key == f"Z-bad-{run}".encode() for r in seen))
    letter = next(r for r in letters if r.key == f"Z-bad-{run}".encode())
    assert letter.headers["iom-dlq-service"] == "gps_stream"
    assert "self-intersect" in letter.headers["iom-dlq-reason"]
