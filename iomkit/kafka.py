"""Kafka connections: producers, consumers, admin and the topic catalogue on the broker."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.partitioner import murmur2
from aiokafka.structs import TopicPartition

from iomkit import kernel, metrics, retention
from iomkit import log as logging
from iomkit.settings import Settings
from iomkit.topics import ALL, TopicSpec

TOPIC_ALREADY_EXISTS = 36
_log = logging.get("iomkit.kafka")


def connection(settings: Settings) -> dict[str, Any]:
    """Where and as whom to connect (bootstrap, SASL_SSL, the principal's SCRAM user):
    the one path every Kafka client of ours is configured by, from the client file that
    IOM_KAFKA_CLIENT_CONFIG names."""
    return settings.kafka_client().aiokafka_options()


def producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        **connection(settings),
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "client_id": "throughcare",
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def consumer(settings: Settings, *topics: str, **overrides: Any) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        **connection(settings),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": "throughcare",
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition that aiokafka's (and the Java client's) default partitioner gives
    ``key`` on a topic of ``partitions`` partitions: murmur2, sign bit cleared, modulo."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class KeyedBatchProducer:
    """Publish many records to one topic fast: one ``BatchBuilder`` per partition.

    ``AIOKafkaProducer.send`` costs about 14 us a record in Python before any byte moves
    (a coroutine, a metadata wait, the pure-Python murmur2, one future per record), which
    caps a producer near 60,000 records a second. This fills the batches itself, with
    aiokafka's public ``create_batch`` / ``send_batch``, and remembers each key's
    partition, so a record costs one dict lookup and one append.

    * Placement is the same as ``send(key=...)`` with the default partitioner (the one
      ``producer()`` configures): ``partition_of(key, partitions)``, so a key's records
      stay on one partition, in the order they were sent. A record without a key goes to
      the partition currently filling up ("sticky"), then the next one.
    * Headers: ``headers`` given here go on every record (for our topics,
      ``iomkit.headers.record_headers(record)``); ``send(..., headers=...)`` overrides
      them for one record. Either is a list of (str, bytes) pairs.
    * Delivery is reported per batch, not per record: ``flush`` ships what is left and
      waits for every batch, raising the first delivery error. A full batch ships as soon
      as it fills, waiting while the partition's previous batch is still in flight.
    * Use it after ``producer.start()``, and do not ``send`` on the same producer to the
      same topic meanwhile. With ``enable_idempotence`` the sender numbers the batches.
    """

    KEY_CACHE = 100_000  # remembered key -> partition entries before starting over

    def __init__(
        self, producer: AIOKafkaProducer, topic: str, partitions: int,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        if partitions < 1:
            raise ValueError(f"{topic}: {partitions} partitions")
        self.producer = producer
        self.topic = topic
        self.partitions = partitions
        self.headers = list(headers)  # the builder wants a list
        self._partition_of: dict[bytes, int] = {}
        self._builders: list[Any] = [producer.create_batch() for _ in range(partitions)]
        self._counts = [0] * partitions
        self._sticky = 0  # where records without a key go
        self._deliveries: list[tuple[asyncio.Future[Any], int]] = []

    @classmethod
    async def for_topic(
        cls, producer: AIOKafkaProducer, topic: str, headers: Sequence[tuple[str, bytes]] = ()
    ) -> KeyedBatchProducer:
        """One for ``topic`` with its partition count from the broker's metadata."""
        found = await producer.partitions_for(topic)
        if not found or sorted(found) != list(range(len(found))):
            raise RuntimeError(f"{topic}: unexpected partitions {sorted(found or ())}")
        return cls(producer, topic, len(found), headers)

    async def send(
        self, key: bytes | None, value: bytes,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one record; when its partition's batch is full, ship that batch first."""
        if key is None:
            partition = self._sticky
        else:
            cached = self._partition_of.get(key)
            if cached is None:
                if len(self._partition_of) >= self.KEY_CACHE:
                    self._partition_of.clear()
                cached = self._partition_of[key] = partition_of(key, self.partitions)
            partition = cached
        if headers is None:
            headers = self.headers
        if self._builders[partition].append(
            timestamp=None, key=key, value=value, headers=headers
        ) is None:
            await self._ship(partition)
            # a fresh batch takes any first record (the broker judges its size)
            if self._builders[partition].append(
                timestamp=None, key=key, value=value, headers=headers
            ) is None:
                raise RuntimeError(f"{self.topic}: an empty batch refused a record")
        self._counts[partition] += 1

    async def _ship(self, partition: int) -> None:
        builder, count = self._builders[partition], self._counts[partition]
        self._builders[partition] = self.producer.create_batch()
        self._counts[partition] = 0
        if partition == self._sticky:
            self._sticky = (partition + 1) % self.partitions
        builder.close()  # nothing else may add to it once queued
        delivery = await self.producer.send_batch(builder, self.topic, partition=partition)
        self._deliveries.append((delivery, count))

    async def flush(self) -> int:
        """Ship every partly filled batch, wait until every batch shipped so far is
        acknowledged, and return how many records they held; raises the first delivery
        error (after waiting for all of them)."""
        for partition in range(self.partitions):
            if self._counts[partition]:
                await self._ship(partition)
        await self.producer.flush()
        deliveries, self._deliveries = self._deliveries, []
        results = await asyncio.gather(*(d for d, _ in deliveries), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(count for _, count in deliveries)


async def admin(settings: Settings) -> AIOKafkaAdminClient:
    client = AIOKafkaAdminClient(**connection(settings))
    await client.start()
    return client


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    config: dict[str, str]
    created: bool = False
    altered: dict[str, str] | None = None  # what create_topics(alter=True) changed, was


async def create_topics(
    settings: Settings, specs: Iterable[TopicSpec] = ALL, *, alter: bool = False
) -> list[TopicState]:
    """Create every missing topic (idempotent). With ``alter`` (the operator's creation),
    also alter an existing topic whose retention or cleanup differs from its spec, and
    every other topic of the retention schedule the broker has (the services' own) whose
    configuration differs from the schedule: an upgrade applies a changed schedule. Each
    change is logged (``topic.config_altered``). Services create theirs without ``alter``
    (their principals may not alter configurations)."""
    specs = list(specs)
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
        altered: dict[str, dict[str, str]] = {}
        if alter:
            configs = {s.name: s.config() for s in specs if s.name in existing}
            for name, rule in retention.load().topics.items():
                if name in existing and name not in configs:
                    configs[name] = rule.config()
            altered = await _align_configs(client, configs)
        states = [
            TopicState(s.name, s.partitions or settings.partitions, s.config(),
                       s.name in created, altered.pop(s.name, None))
            for s in specs
        ]
        rules = retention.load().topics
        return states + [TopicState(name, 0, rules[name].config(), False, was)
                         for name, was in sorted(altered.items())]
    finally:
        await client.close()


_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs v1+: a topic's own setting (not a default)


async def _align_configs(client: AIOKafkaAdminClient, wanted: dict[str, dict[str, str]]
                         ) -> dict[str, dict[str, str]]:
    """Alter each topic whose governed settings differ from ``wanted[topic]``; returns what
    each altered topic had before. AlterConfigs replaces a topic's own settings whole, so
    the ones the schedule does not govern are sent again unchanged."""
    if not wanted:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in wanted]
    effective: dict[str, dict[str, str]] = {}
    own: dict[str, dict[str, str]] = {}
    for response in await client.describe_configs(resources):
        version = getattr(response, "API_VERSION", 0)
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            effective[name] = {e[0]: e[1] for e in entries}
            own[name] = {e[0]: e[1] for e in entries if e[1] is not None and (
                e[3] == _DYNAMIC_TOPIC_CONFIG if version >= 1 else not e[3])}
    was: dict[str, dict[str, str]] = {}
    changes = []
    for name, config in wanted.items():
        differs = retention.drift(config, effective.get(name, {}))
        if differs:
            was[name] = {k: effective.get(name, {}).get(k, "") for k in differs}
            changes.append(ConfigResource(ConfigResourceType.TOPIC, name,
                                          configs={**own.get(name, {}), **differs}))
    if not changes:
        return {}
    for response in await client.alter_configs(changes):
        for code, message, _, name in response.resources:
            if code:
                raise RuntimeError(f"could not alter topic {name}: error {code} {message}")
    for name, before in was.items():
        _log.warning("topic.config_altered", topic=name, was=before,
                     now={k: wanted[name][k] for k in before})
    return was


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


INTERESTING_CONFIGS = retention.GOVERNED


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
        await stop_consumer(probe)


async def wait_for_broker(settings: Settings, within: float | None = None,
                          waiting: Callable[[int, float, str], None] | None = None) -> None:
    """Wait until the broker answers a metadata request, retrying with exponential backoff
    (0.5 s doubling to 15 s) for ``within`` seconds (``settings.broker_wait_s``); each failed
    try is logged and told to ``waiting(attempt, next_delay_s, reason)``."""
    within = settings.broker_wait_s if within is None else within
    deadline = asyncio.get_running_loop().time() + within
    attempt = 0
    while True:
        try:
            client = await admin(settings)
            await client.close()
            if attempt:
                _log.info("broker.reached", attempts=attempt + 1)
            return
        except Exception as exc:  # the broker is not up yet; any failure means "try again"
            attempt += 1
            delay = min(15.0, 0.5 * 2 ** min(attempt - 1, 5))
            reason = f"{type(exc).__name__}: {exc}"
            if asyncio.get_running_loop().time() + delay > deadline:
                _log.error("broker.unreachable", attempts=attempt, waited_s=within,
                           reason=reason)
                raise
            _log.warning("broker.waiting", attempt=attempt, retry_in_s=delay, reason=reason)
            if waiting is not None:
                waiting(attempt, delay, reason)
            await asyncio.sleep(delay)


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer. aiokafka (0.14) leaks a CancelledError out of ``stop()`` when a
    group-less consumer is stopped before its internal reset task first ran; that error is
    not ours to propagate unless our own task is being cancelled."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


# apply(key, value), or apply(key, value, headers) with ``headers=True``
Apply = Callable[..., Awaitable[None] | None]


async def follow(settings: Settings, topic: str, apply: Apply,
                 caught_up: asyncio.Event | None = None, *, service: str = "",
                 after_batch: Callable[[], Awaitable[Any]] | None = None,
                 headers: bool = False,
                 positions: dict[TopicPartition, int] | None = None) -> None:
    """Read every partition of ``topic`` from the beginning and keep following it, without
    a group: how every worker of a service keeps a full copy of a small topic (views).
    ``positions``: where to start each partition (the next offset, kept by a caller whose
    store remembers how far it read), updated as records are applied, so ``after_batch``
    can save them with what the batch applied.
    ``caught_up`` is set once everything that was on the topic at start has been applied.
    ``apply`` may be a coroutine function; ``after_batch`` runs after each batch read (a
    flush of what ``apply`` sent).

    Nothing stops it: a record ``apply`` raises on is skipped, logged (where, never what)
    and counted; a reader the broker dropped is started again where it was, with backoff.
    An output that was not delivered (``DeliveryFailed``) stops the process instead: what
    it was sent for has been read and would not be read again.
    """
    positions = {} if positions is None else positions
    failures = 0
    while True:
        reader = consumer(settings, topic, group_id=None)
        try:
            await reader.start()
            for tp, offset in positions.items():
                reader.seek(tp, offset)
            await _follow(reader, topic, apply, caught_up, positions, service, after_batch,
                          headers)
        except asyncio.CancelledError:
            raise
        except kernel.DeliveryFailed as exc:
            kernel.stop_now(_log, "follow.output_lost", topic=topic, reason=str(exc))
        except Exception as exc:  # the broker went away: start again where we were
            failures += 1
            delay = min(30.0, 0.5 * 2 ** min(failures, 6))
            _log.warning("follow.restarting", topic=topic, delay_s=delay,
                         reason=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(delay)
        finally:
            await stop_consumer(reader)


async def _follow(reader: AIOKafkaConsumer, topic: str, apply: Apply,
                  caught_up: asyncio.Event | None, positions: dict[TopicPartition, int],
                  service: str, after_batch: Callable[[], Awaitable[Any]] | None,
                  headers: bool) -> None:
    ends: dict[TopicPartition, int] | None = None
    while True:
        batch = await reader.getmany(timeout_ms=500, max_records=5000)
        for tp, records in batch.items():
            for record in records:
                try:
                    with kernel.handling(record.timestamp):
                        applied = (apply(record.key, record.value, record.headers) if headers
                                   else apply(record.key, record.value))
                        if inspect.isawaitable(applied):  # a coroutine function's; a plain
                            await applied                 # function may return anything
                except kernel.DeliveryFailed:
                    raise
                except Exception as exc:  # one bad record must never stop a reader
                    metrics.SKIPPED.labels(service, topic).inc()
                    # The message may quote the record (a person id): only at debug.
                    _log.warning("follow.skipped", topic=topic, partition=record.partition,
                                 offset=record.offset, error=type(exc).__name__)
                    _log.debug("follow.skipped.reason", topic=topic, offset=record.offset,
                               reason=str(exc))
                positions[tp] = record.offset + 1
        if batch and after_batch is not None:
            await after_batch()
        if caught_up is None or caught_up.is_set():
            continue
        if ends is None:
            partitions = reader.partitions_for_topic(topic)
            if not partitions:
                continue  # metadata not there yet
            ends = await reader.end_offsets(
                [TopicPartition(topic, p) for p in sorted(partitions)])
        if set(ends) <= reader.assignment():
            current = {tp: await reader.position(tp) for tp in ends}
            if all(current[tp] >= end for tp, end in ends.items()):
                caught_up.set()
                _log.info("topic.caught_up", topic=topic, records=sum(ends.values()))
