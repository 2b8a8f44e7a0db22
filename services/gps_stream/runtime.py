"""The gps_stream worker's state and how it is wired: the Faust app and settings, the hot
path (a batch consumer over pings and enrolments feeding one hit matcher per partition),
the assembler's table, and what every worker follows into memory for the views (published
hits, people's forces, the other workers). Shared by the agents and tasks (app.py) and the
views (web.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from iomkit import topics
from iomkit.batch import BatchConsumer, Item
from iomkit.peers import Peers
from iomkit.peopleforces import PeopleForces
from iomkit.service import Service
from iomkit.settings import SettingsError
from iomkit.topics import CONDUIT_MS, TopicSpec
from services.gps_stream import config
from services.gps_stream.assembly import evidence_message
from services.gps_stream.matcher import HitUpdate
from services.gps_stream.partitions import PartitionMatchers
from services.gps_stream.taghealth import TagHealth
from services.gps_stream.trail import epoch_ms

service = Service("gps_stream")
app = service.app
settings = service.settings
gps = config.load()
if settings.evidence_days < gps.retention_days:
    # A hit forgotten from the views while its fixes are still held could be assembled
    # again from them with its revisions counted from 1 (assembly.align).
    raise SettingsError(f"IOM_EVIDENCE_DAYS ({settings.evidence_days}) is below "
                        f"IOM_GPS_RETENTION_DAYS ({gps.retention_days})")

# partition -> assembler: evidence fixes, a conduit (a restored matcher sends them again)
EVIDENCE = TopicSpec("throughcare-gps-evidence", "person_id", None, retention_ms=CONDUIT_MS)
matchers = PartitionMatchers(
    settings, service.codec, gps.rule(), gps.retention_ms, service.clock,
    health=lambda: TagHealth(int(gps.silence_s * 1000), gps.unusable_after,
                             gps.max_fix_accuracy_m),
    store_dir=settings.store_dir / service.name,
    future_tolerance_ms=int(gps.future_tolerance_s * 1000),
)
devices = BatchConsumer(
    service.name, [topics.TAG_ENROLMENTS, topics.TAG_PINGS], settings,
    f"{app.conf.id}-devices", service.codec, service.clock, stores=[matchers],
    record_handler=lambda item: device_input(item),
)
service.require_ready("devices", devices.ready)
for _held in ("fixes", "crimes", "hits"):
    service.measure_store(f"matcher_{_held}", lambda what=_held: matchers.held(what))
service.track_lag(devices.group_id, [topics.TAG_ENROLMENTS.name, topics.TAG_PINGS.name])
peers = Peers(settings, service.name)  # the other workers, for views spread over them
service.declare(peers.spec)
# hit_id -> the hit as assembled so far (partitioned like the evidence: by person).
assembled = service.table("hits", help="hit_id -> evidence per partition, revision")
# hit_id -> the latest published CrimeHit: every worker follows iom.gps.hits for the views.
published: dict[bytes, dict[str, Any]] = {}
hits_caught_up = asyncio.Event()
people = PeopleForces()  # person -> force: who may see a trail or a hit
service.require_ready("people", people.caught_up)
aligned: set[bytes] = set()  # hits whose table state was checked against the topic
service.require_ready("hits", hits_caught_up)


async def device_input(item: Item) -> None:
    updates, breaches, alerts = matchers.device_input(item.partition, item.offset,
                                                      item.record or "", item.value)
    await publish_all(topics.ZONE_BREACHES, breaches, item.cause)
    await publish_all(topics.TAG_ALERTS, alerts, item.cause)
    if not updates:  # most fixes: nothing to measure (the hot path)
        return
    # a fix, or a tag fitted or removed that moves a trail's evidence to another person
    path, at = (("fix_to_hit", "recorded_at") if item.record == "TagPing"
                else ("enrolment_to_hit", "effective_at"))
    await send_evidence(((item.partition, u) for u in updates),
                        trigger(path, item.timestamp, item.value.get(at)))


async def publish_all(spec: TopicSpec, values: list[dict[str, Any]], cause: str | None) -> None:
    """Outputs of the hot path go through its own producer: delivered before it commits."""
    for value in values:
        await devices.publish(spec, value, cause)


def trigger(path: str, arrived_ms: int | None, event_at: datetime | None) -> dict[str, Any]:
    """What made the evidence: the input's path, arrival and event time, carried to the
    assembler so the hit it publishes is measured from them (iomkit.metrics)."""
    return {"path": path, "arrived_ms": arrived_ms,
            "event_ms": None if event_at is None else epoch_ms(event_at)}


async def send_evidence(updates: Iterable[tuple[int, HitUpdate]],
                        cause: dict[str, Any] | None = None) -> None:
    for partition, update in updates:
        message = evidence_message(update, partition)
        if cause is not None:
            message["trigger"] = cause
        await devices.send_json(EVIDENCE, update.person_id.encode(), message)


async def redeliver(partition: int, updates: list[HitUpdate]) -> None:
    await send_evidence((partition, u) for u in updates)
    await peers.announce(devices.producer, set(matchers.partitions))
