"""The broker's topics as the retention schedule says (deploy/retention.toml): every topic's
configuration read back from a real broker, and a topic that drifted (an older release's
retention, as an upgrade finds it) altered back by the operator's topic creation, its own
other settings kept."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from iomkit import kafka, retention, topics
from iomkit.topics import TopicSpec
from tests.declared import service_topics

pytestmark = pytest.mark.integration

NINETY_DAYS = str(90 * topics.DAY_MS)  # iom.dead-letters before the schedule


def spec_of(name: str, config: dict[str, str]) -> TopicSpec:
    """A service's topic with the configuration its code gives it (as it creates it)."""
    extra = {k: v for k, v in config.items() if k not in ("cleanup.policy", "retention.ms")}
    return TopicSpec(name, "key", None, compacted=config["cleanup.policy"] == "compact",
                     retention_ms=int(config.get("retention.ms", "-1")), extra=extra)


def differences(states: list[kafka.TopicState], schedule: retention.Schedule
                ) -> dict[str, dict[str, str]]:
    return {s.name: retention.drift(schedule.rule(s.name).config(), s.config)
            for s in states if retention.drift(schedule.rule(s.name).config(), s.config)}


async def settled(settings, names, schedule: retention.Schedule, drifted: bool = False
                  ) -> dict[str, dict[str, str]]:
    """The differences once the broker shows a change just made (its metadata is applied
    a moment after the request is answered): at most 10 s."""
    deadline = time.monotonic() + 10
    while True:
        found = differences(await kafka.describe_topics(settings, names), schedule)
        if bool(found) == drifted or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_every_topic_on_the_broker_is_as_the_schedule_says(settings, tmp_path) -> None:
    started = time.monotonic()
    schedule = retention.load()
    # the services create their own topics from their specs (the operator's exist already)
    own = service_topics(tmp_path)
    await kafka.create_topics(settings, [spec_of(n, c) for n, c in own.items()])
    states = await kafka.describe_topics(settings, schedule.topics)
    assert {s.name for s in states} == set(schedule.topics)  # every one made, none missing
    assert differences(states, schedule) == {}
    assert {s.name: s.config["retention.ms"] for s in states if s.name in (
        topics.TAG_PINGS.name, topics.DEAD_LETTERS.name)} == {
        topics.TAG_PINGS.name: str(31 * topics.DAY_MS),
        topics.DEAD_LETTERS.name: str(31 * topics.DAY_MS)}

    # An older release's settings: dead letters 90 days (with a setting of its own the
    # schedule does not govern), the evidence conduit kept for ever, a changelog not compacted.
    drifted = {topics.DEAD_LETTERS.name: {"retention.ms": NINETY_DAYS, "segment.ms": "3600000"},
               "throughcare-gps-evidence": {"retention.ms": "-1"},
               "throughcare-risk-views": {"cleanup.policy": "delete"}}
    client = await kafka.admin(settings)
    try:
        await client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, n, configs=c)
                                    for n, c in drifted.items()])
        assert set(await settled(settings, drifted, schedule, drifted=True)) == set(drifted)
        # a service's own creation leaves topics as they are (it may not alter them)...
        await kafka.create_topics(settings, [spec_of(n, own[n]) for n in own])
        # ...the operator's alters every drifted one, the services' own included
        states = await kafka.create_topics(settings, topics.OPERATOR_TOPICS, alter=True)
        altered = {s.name: s.altered for s in states if s.altered}
        assert altered == {topics.DEAD_LETTERS.name: {"retention.ms": NINETY_DAYS},
                           "throughcare-gps-evidence": {"retention.ms": "-1"},
                           "throughcare-risk-views": {"cleanup.policy": "delete"}}
        assert await settled(settings, schedule.topics, schedule) == {}
        described = await client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topics.DEAD_LETTERS.name)])
        own_settings = {e[0]: e[1] for r in described for res in r.resources for e in res[4]}
        assert own_settings["segment.ms"] == "3600000"  # not the schedule's: kept
        # applied: nothing left to alter
        again = await kafka.create_topics(settings, topics.OPERATOR_TOPICS, alter=True)
        assert [s.name for s in again if s.altered] == []
    finally:
        await client.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topics.DEAD_LETTERS.name,
            configs=topics.DEAD_LETTERS.config())])  # the shared broker as it was
        await client.close()
    print(f"\nretention on the broker: {time.monotonic() - started:.1f} s")
