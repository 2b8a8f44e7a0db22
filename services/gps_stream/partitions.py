"""Per-partition hit matchers that follow the consumer group's assignment.

Pings and enrolments are keyed by device and co-partitioned, so each partition of
`iom.tag.pings` has its own matcher, and its own local store (fixstore.py: RocksDB, one
write batch per consumer batch). The pings topic keeps 31 days, one more than trails are
kept: it is the changelog of that store. A partition assigned to this worker is loaded
from its local store and then replays, publishing nothing, only what the store has not
seen up to the group's committed offset (the whole retained topic for a partition new to
this worker); the consumer then carries on from there.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from iomkit import kafka, topics
from iomkit import log as logging
from iomkit.codec import Codec, DecodeError
from iomkit.settings import Settings
from services.gps_stream.fixstore import FixStore
from services.gps_stream.hitrule import Crime, Enrolment, HitRuleSettings
from services.gps_stream.matcher import HitMatcher, HitUpdate
from services.gps_stream.taghealth import TagHealth
from services.gps_stream.trail import Fix, InvalidFix, epoch_ms, fix_of
from services.gps_stream.zones import BreachTracker, ZoneIndex

_log = logging.get("services.gps_stream.partitions")


def enrolment_of(value: dict[str, Any]) -> Enrolment:
    ends = value.get("monitoring_ends_at")
    return Enrolment(value["enrolment_id"], value["device_id"], value["person_id"],
                     value["status"], epoch_ms(value["effective_at"]),
                     epoch_ms(ends) if ends is not None else None)


class InvalidCrime(ValueError):
    """A crime the hit rule cannot place; the reason names the field."""


def crime_of(value: dict[str, Any]) -> Crime:
    """A crime for the hit rule, validated as fixes are (an unplaceable crime raised in h3 and
    stopped the reader once)."""
    if not str(value["crime_ref"]).strip():
        raise InvalidCrime("crime_ref is empty")
    lat, lon, accuracy = value["lat"], value["lon"], value["location_accuracy_m"]
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidCrime(f"lat {lat} is outside -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidCrime(f"lon {lon} is outside -180..180")
    if not (math.isfinite(accuracy) and accuracy >= 0):
        raise InvalidCrime(f"location_accuracy_m {accuracy} must be 0 or more")
    start, end = epoch_ms(value["committed_from"]), epoch_ms(value["committed_to"])
    if end < start:
        raise InvalidCrime("committed_to is before committed_from")
    return Crime(value["crime_ref"], value["version"], value["offence"], lat, lon,
                 accuracy, start, end, value.get("force") or None)


@dataclass
class DevicePartition:
    """Everything one partition of devices knows: its hit matcher, its zone-breach
    episodes and its tags' health. Each input returns what is to be published."""

    matcher: HitMatcher
    breaches: BreachTracker
    health: TagHealth
    store: FixStore | None = None

    def fix(self, fix: Fix, now_ms: int) -> tuple[list[HitUpdate], list[dict[str, Any]],
                                                   list[dict[str, Any]]]:
        if self.store is not None:
            self.store.add_fix(fix)
        person = self.matcher.person_of(fix.device_id, fix.recorded_at_ms)
        breaches = self.breaches.observe_fix(fix, person, now_ms) if person else []
        alerts = self.health.observe_fix(fix.device_id, person, fix.recorded_at_ms,
                                         fix.accuracy_m, now_ms)
        return self.matcher.add_fix(fix), breaches, alerts

    def enrolment(self, enrolment: Enrolment) -> list[HitUpdate]:
        if self.store is not None:
            self.store.add_enrolment(enrolment)
        self.health.observe_enrolment(enrolment.device_id, enrolment.person_id,
                                      enrolment.status, enrolment.effective_at_ms)
        return self.matcher.add_enrolment(enrolment)


class PartitionMatchers:
    def __init__(self, settings: Settings, codec: Codec, rule: HitRuleSettings,
                 retention_ms: int, clock: Callable[[], datetime],
                 health: Callable[[], TagHealth] = TagHealth,
                 store_dir: Path | None = None, future_tolerance_ms: int = 600_000) -> None:
        self.settings = settings
        self.future_tolerance_ms = future_tolerance_ms
        self.codec = codec
        self.rule = rule
        self.retention_ms = retention_ms
        self.clock = clock
        self.partitions: dict[int, DevicePartition] = {}
        self.crimes: dict[str, Crime] = {}  # every live crime: broadcast to every partition
        self.zones = ZoneIndex()  # every zone: broadcast to every partition
        self._new_health = health
        self.store_dir = store_dir  # None: no local store, a partition replays its topic
        # Called with what a rebuilt partition knows, to be delivered again (see _restore).
        self.on_restored: Callable[[int, list[HitUpdate]], Awaitable[None]] | None = None
        # The group's consumer, whose committed offsets bound a partition's replay.
        self.consumer_of: Callable[[], AIOKafkaConsumer] | None = None
        self._lock = asyncio.Lock()

    def held(self, what: str) -> int:
        """Fixes or hits held over this worker's partitions; crimes once (every partition
        holds every live crime)."""
        if what == "crimes":
            return len(self.crimes)
        return sum(p.matcher.held()[what] for p in list(self.partitions.values()))

    def partition(self, number: int) -> DevicePartition:
        return self.partitions[number]

    @property
    def matchers(self) -> dict[int, HitMatcher]:
        return {n: p.matcher for n, p in self.partitions.items()}

    def _new_partition(self, number: int) -> DevicePartition:
        matcher = HitMatcher(self.rule)
        matcher.purge_before(self.cutoff_ms())
        for crime in self.crimes.values():
            matcher.add_crime(crime)
        store = None if self.store_dir is None else FixStore(self.store_dir / f"fixes-{number}")
        return DevicePartition(matcher, BreachTracker(self.zones), self._new_health(), store)

    def device_input(self, partition: int, offset: int, record: str, value: dict[str, Any]
                     ) -> tuple[list[HitUpdate], list[dict[str, Any]], list[dict[str, Any]]]:
        """One enrolment or ping of a partition: its hit updates, zone breaches and tag
        alerts. A fix from the future (beyond the tolerance) is refused with the reason; one
        older than trails are kept is passed over, as it can neither match nor be shown."""
        device = self.partitions[partition]
        if device.store is not None:
            device.store.reached(topics.TAG_ENROLMENTS.name if record == "TagEnrolment"
                                 else topics.TAG_PINGS.name, offset + 1)
        if record == "TagEnrolment":
            return device.enrolment(enrolment_of(value)), [], []
        fix = fix_of(value)
        now_ms = epoch_ms(self.clock())
        if fix.recorded_at_ms > now_ms + self.future_tolerance_ms:
            raise InvalidFix(f"recorded_at {value['recorded_at'].isoformat()} is in the future")
        if fix.recorded_at_ms < self.cutoff_ms():
            return [], [], []
        return device.fix(fix, now_ms)

    def cutoff_ms(self) -> int:
        return epoch_ms(self.clock()) - self.retention_ms

    def add_crime(self, crime: Crime) -> list[tuple[int, HitUpdate]]:
        known = self.crimes.get(crime.crime_ref)
        if known is not None and crime.version <= known.version:
            return []
        self.crimes[crime.crime_ref] = crime
        return [(n, u) for n, p in self.partitions.items() for u in p.matcher.add_crime(crime)]

    def purge(self) -> int:
        """Forget what retention has passed: fixes before the cutoff, and crimes and zones
        whose window ends before it (no fix that could meet them is kept). Returns the fixes
        forgotten."""
        cutoff = self.cutoff_ms()
        for ref, crime in list(self.crimes.items()):
            if crime.window_ms(self.rule)[1] < cutoff:
                del self.crimes[ref]
        self.zones.purge_before(cutoff)
        before = sum(p.matcher.fix_count for p in self.partitions.values())
        for partition in self.partitions.values():
            partition.matcher.purge_before(cutoff)
            partition.breaches.purge_before(cutoff)
            if partition.store is not None:
                partition.store.purge_before(cutoff)
        return before - sum(p.matcher.fix_count for p in self.partitions.values())

    # -- the ChangelogStore protocol of iomkit.batch ---------------------------------------

    async def restore(self, partitions: Iterable[int]) -> int:
        partitions = set(partitions)
        if partitions <= set(self.partitions):
            return 0
        async with self._lock:
            wanted = sorted(partitions - set(self.partitions))
            return await self._restore(wanted) if wanted else 0

    async def _restore(self, wanted: list[int]) -> int:
        assert self.consumer_of is not None
        consumer = self.consumer_of()
        built = {n: self._new_partition(n) for n in wanted}
        loaded = sum(self._load(p) for p in built.values())
        replayed = 0
        # Enrolments first: fixes then meet the person they belong to at once. Only what
        # the local store has not seen is replayed (all of it for a partition new here).
        for spec in (topics.TAG_ENROLMENTS, topics.TAG_PINGS):
            tps = [TopicPartition(spec.name, p) for p in wanted]
            committed = {tp: await consumer.committed(tp) for tp in tps}
            start = {tp: self._stored_offset(built[tp.partition], spec.name) for tp in tps}
            upto = {tp: off for tp, off in committed.items() if off and off > start[tp]}
            if upto:
                replayed += await self._replay(spec.name, upto, built,
                                               {tp: start[tp] for tp in upto})
            for tp, off in upto.items():
                store = built[tp.partition].store
                if store is not None:
                    store.reached(spec.name, off)
        for partition in built.values():
            if partition.store is not None:
                partition.store.commit()
        for partition in built.values():  # crimes that arrived during the replay
            for crime in list(self.crimes.values()):
                partition.matcher.add_crime(crime)
        self.partitions.update(built)  # from here on, new crimes reach these partitions too
        for number, partition in built.items():
            # Every hit as it stands: what was found before a crash may never have been
            # delivered (the assembler dedupes what was).
            if self.on_restored is not None:
                await self.on_restored(number, partition.matcher.snapshot())
        _log.info("partitions.restored", partitions=wanted, loaded=loaded, records=replayed,
                  fixes=sum(p.matcher.fix_count for p in built.values()))
        return replayed

    def _stored_offset(self, partition: DevicePartition, topic: str) -> int:
        if partition.store is None:
            return 0
        return partition.store.offset(topic) or 0

    def _load(self, partition: DevicePartition) -> int:
        """State from the local store (fixes still retained), without writing it again."""
        store, partition.store = partition.store, None
        if store is None:
            return 0
        count = 0
        for enrolment in store.enrolments():
            partition.enrolment(enrolment)
            count += 1
        now = epoch_ms(self.clock())
        for fix in store.fixes(self.cutoff_ms()):
            partition.fix(fix, now)
            count += 1
        partition.store = store
        return count

    async def _replay(self, topic: str, upto: dict[TopicPartition, int],
                      built: dict[int, DevicePartition],
                      start: dict[TopicPartition, int]) -> int:
        reader = kafka.consumer(self.settings, group_id=None)
        await reader.start()
        count = 0
        try:
            reader.assign(list(upto))
            for tp, offset in start.items():
                reader.seek(tp, offset)
            pending = set(upto)
            while pending:
                batches = await reader.getmany(*pending, timeout_ms=500, max_records=10_000)
                for tp, records in batches.items():
                    partition = built[tp.partition]
                    for record in records:
                        if record.offset >= upto[tp]:
                            break
                        count += 1
                        self._apply(partition, topic, record.value)
                pending = {tp for tp in pending if await reader.position(tp) < upto[tp]}
        finally:
            await kafka.stop_consumer(reader)
        return count

    def _apply(self, partition: DevicePartition, topic: str, value: bytes) -> None:
        """Replay one record: state is rebuilt, nothing is published (it was, before)."""
        try:
            decoded = self.codec.decode(value).value
            if topic == topics.TAG_PINGS.name:
                fix = fix_of(decoded)
                if fix.recorded_at_ms >= self.cutoff_ms():
                    partition.fix(fix, epoch_ms(self.clock()))
            else:
                partition.enrolment(enrolment_of(decoded))
        except (DecodeError, InvalidFix, KeyError):
            pass  # dead-lettered when it was first consumed

    def drop(self, partitions: Iterable[int]) -> None:
        for number in partitions:
            partition = self.partitions.pop(number, None)
            if partition is not None and partition.store is not None:
                partition.store.close()  # kept on disk: if it comes back, only the tail

    async def flush(self, producer: Any) -> int:
        """One RocksDB write batch per partition (fixes, enrolments, offsets reached); the
        pings topic itself is the changelog, so nothing is sent.

        The outputs of the batch are flushed first: what the store holds is never
        processed again after a crash, so its breaches, alerts and evidence must already
        be on their topics."""
        await producer.flush()
        for partition in self.partitions.values():
            if partition.store is not None:
                partition.store.commit()
        return 0
