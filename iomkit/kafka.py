"""Kafka connections: producers, consumers, admin and the topic catalogue on the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition

from iomkit.settings import Settings
from iomkit.topics import ALL, TopicSpec

TOPIC_ALREADY_EXISTS = 36


def producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "client_id": "throughcare",
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def consumer(settings: Settings, *topics: str, **overrides: Any) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": "throughcare",
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


async def admin(settings: Settings) -> AIOKafkaAdminClient:
    client = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await client.start()
    return client


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    config: dict[str, str]
    created: bool = False


async def create_topics(
    settings: Settings, specs: Iterable[TopicSpec] = ALL
) -> list[TopicState]:
    """Create every missing topic; existing ones are left as they are (idempotent)."""
    client = await admin(settings)
    try:
        existing = set(await client.list_topics())
        wanted = [s for s in specs if s.name not in existing]
        if wanted:
            response = await client.create_topics([
                NewTopic(
                    s.name,
                    s.partitions or settings.partitions,
                    settings.replication_factor,
                    topic_configs=s.config(),
                )
                for s in wanted
            ])
            for name, code, *message in response.topic_errors:
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise RuntimeError(f"could not create topic {name}: error {code} {message}")
        created = {s.name for s in wanted}
        return [
            TopicState(s.name, s.partitions or settings.partitions, s.config(), s.name in created)
            for s in specs
        ]
    finally:
        await client.close()


async def describe_topics(settings: Settings, names: Iterable[str]) -> list[TopicState]:
    client = await admin(settings)
    try:
        names = list(names)
        existing = set(await client.list_topics())
        present = [n for n in names if n in existing]
        if not present:
            return []
        described = await client.describe_topics(present)
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in present]
        configs: dict[str, dict[str, str]] = {}
        for response in await client.describe_configs(resources):
            for resource in response.resources:
                name, entries = resource[3], resource[4]
                configs[name] = {
                    e[0]: e[1] for e in entries if e[0] in INTERESTING_CONFIGS
                }
        return [TopicState(n, partitions.get(n, 0), configs.get(n, {})) for n in present]
    finally:
        await client.close()


INTERESTING_CONFIGS = ("cleanup.policy", "retention.ms", "min.compaction.lag.ms")


async def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    probe = consumer(settings)
    await probe.start()
    try:
        parts = probe.partitions_for_topic(topic) or set()
        if not parts:
            await probe._client.force_metadata_update()  # no public refresh exists
            parts = probe.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return await probe.end_offsets(tps) if tps else {}
    finally:
        await probe.stop()


async def wait_for_broker(settings: Settings, within: float = 60.0) -> None:
    """Wait until the broker answers a metadata request."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            client = await admin(settings)
            await client.close()
            return
        except Exception:  # the broker is not up yet; any failure means "try again"
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
