"""gps_stream: near-real-time crime hits from tag trails, whichever half arrives first.

Broadcast the few, partition the many: pings and enrolments (keyed by device) take the hot
path, a batch consumer with one hit matcher per partition (partitions.py); every worker
reads every crime. What a partition finds is sent as evidence, keyed by person, to a Faust
agent that assembles each hit across partitions and publishes it once per change
(assembly.py). The rule itself is pure: hitrule.py, matcher.py, geometry.py.

This module is the wiring: the agents, tasks and timers. The worker's state and the hot
path are in runtime.py, the views in web.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from iomkit import evidential, forgetting, kernel, metrics, topics
from iomkit.audit import combination_record
from iomkit.records import CrimeReported, ExclusionZone
from iomkit.service import Context
from services.gps_stream import web  # noqa: F401 (the views register on import)
from services.gps_stream.assembly import align, assemble, expire_published, settled
from services.gps_stream.hitrule import RULE_VERSION
from services.gps_stream.partitions import crime_of
from services.gps_stream.runtime import (
    EVIDENCE,
    aligned,
    app,
    assembled,
    devices,
    gps,
    hits_caught_up,
    matchers,
    peers,
    people,
    publish_all,
    published,
    redeliver,
    send_evidence,
    service,
    settings,
    trigger,
)
from services.gps_stream.trail import epoch_ms
from services.gps_stream.zones import validate_zone


@app.task
async def device_hot_path() -> None:
    peers.url = f"http://{app.conf.web_host}:{app.conf.web_port}"
    matchers.consumer_of = lambda: devices.consumer
    matchers.on_restored = redeliver
    await devices.run()


@app.task
async def follow_crimes() -> None:
    """Every worker holds every live crime: a group-less reader over all partitions."""
    await devices.ready.wait()

    async def keep(key: bytes | None, crime: dict[str, Any]) -> None:
        await send_evidence(matchers.add_crime(crime_of(crime)),
                            trigger("crime_to_hit", kernel.arrived_ms(), crime["reported_at"]))

    await service.follow(topics.CRIMES_REPORTED, keep, after_batch=devices.producer.flush)


@service.agent(topics.CRIMES_REPORTED)
async def crime_received(crime: CrimeReported, context: Context) -> None:
    """Checks each crime once (one the hit rule cannot place goes to dead letters with the
    reason); every worker matches the valid ones from its own reader (follow_crimes)."""
    crime_of(crime.asdict())


@service.agent(EVIDENCE)
async def evidence_found(message: dict[str, Any], context: Context) -> None:
    await hits_caught_up.wait()
    key = message["hit_id"].encode()
    state = assembled.get(key)
    state = forgetting.unstamped(state) if state is not None else None
    if key not in aligned:  # first touch since this worker started: the topic is the truth
        aligned.add(key)
        state = align(state, published.get(key))
    state, hit = assemble(state, message, service.clock(), RULE_VERSION)
    service.keep(assembled, key, state, context)
    if hit is not None:
        await service.publish(topics.GPS_HITS, hit, cause=context)
        # the combination itself in the processing log (s.62): a crime report joined with
        # the person's fixes; no location in the record, the hit has it
        await service.publish(topics.AUDIT, combination_record(
            service=service.name, person_id=hit["person_id"],
            what=f"hit: crime report and fixes combined (rule {hit['rule_version']})",
            source_id=f"{hit['hit_id']}|{hit['revision']}", at=service.clock(),
            details={"hit_id": hit["hit_id"], "revision": str(hit["revision"]),
                     "crime_ref": hit["crime_ref"], "status": hit["status"]}), cause=context)
        cause = message.get("trigger")
        if cause:  # evidence sent again at a restore has none: not a latency
            metrics.observe_latency(service.name, cause["path"], arrived_ms=cause["arrived_ms"],
                                    event_at=cause["event_ms"], now=service.clock())
        service.log.info("hit.published", status=hit["status"], revision=hit["revision"],
                         distance_m=round(hit["distance_m"], 1))


@app.task
async def follow_hits() -> None:
    def keep(key: bytes | None, hit: dict[str, Any]) -> None:
        published[hit["hit_id"].encode()] = hit

    await service.follow(topics.GPS_HITS, keep, hits_caught_up)


@service.agent(topics.EXCLUSION_ZONES)
async def zone_received(zone: ExclusionZone, context: Context) -> None:
    """Checks each zone once (a bad polygon goes to dead letters with the reason); every
    worker applies the valid ones from its own reader (follow_zones)."""
    validate_zone(zone.asdict())


@app.task
async def follow_zones() -> None:
    # A zone validate_zone refuses is skipped here and dead-lettered by zone_received.
    await service.follow(topics.EXCLUSION_ZONES,
                         lambda key, zone: matchers.zones.update(validate_zone(zone)))


@app.timer(interval=gps.health_interval_s)
async def check_tag_health() -> None:
    """Tags silent too long: only once the hot path is not behind (else all look silent)."""
    if not devices.caught_up:
        return
    now_ms = epoch_ms(service.clock())
    for partition in list(matchers.partitions.values()):
        await publish_all(topics.TAG_ALERTS, partition.health.check(now_ms), None)
    await devices.producer.flush()


@app.task
async def follow_people() -> None:
    await people.follow(service)


@app.task
async def follow_peers() -> None:
    await peers.follow()


@app.timer(interval=20.0)
async def announce_self() -> None:
    if devices.ready.is_set():
        await peers.announce(devices.producer, set(matchers.partitions))


@app.timer(interval=gps.purge_interval_s)
async def purge_old_fixes() -> None:
    purged = matchers.purge()
    # A hit whose crime retention has passed can no longer change: the views and the
    # alignment forget it (the hits topic keeps it).
    done = settled(published, matchers.crimes,
                   datetime.fromtimestamp(matchers.cutoff_ms() / 1000, UTC))
    for key in done:
        published.pop(key, None)
        aligned.discard(key)
    # Evidence fixes past the evidential period leave the view (a hit with none left goes).
    gone = expire_published(published, evidential.cutoff(service.clock(),
                                                          settings.evidence_days))
    for key in gone:
        aligned.discard(key)
    # The assembler's entry of a hit unchanged for twice the retention: all its fixes and
    # its crime's window are long past it (a margin over `settled`, which it cannot see
    # for another worker's hits).
    forgotten = service.forget_older(
        assembled, service.clock() - timedelta(milliseconds=2 * gps.retention_ms))
    service.log.info("fixes.purged", fixes=purged, hits_forgotten=len(done) + len(gone),
                     assembled_forgotten=forgotten)


if __name__ == "__main__":
    service.main()
