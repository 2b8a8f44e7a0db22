"""gps_stream: near-real-time crime hits from tag trails, whichever half arrives first.

Broadcast the few, partition the many: pings and enrolments (keyed by device) take the hot
path, a batch consumer with one hit matcher per partition (partitions.py); every worker
reads every crime. What a partition finds is sent as evidence, keyed by person, to a Faust
agent that assembles each hit across partitions and publishes it once per change
(assembly.py). The rule itself is pure: hitrule.py, matcher.py, geometry.py.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from faust.web import Request, Response, View

from iomkit import crimeupload, grid, nav, topics
from iomkit.batch import BatchConsumer, Item
from iomkit.identity import allow, check_force, isa, principal_of, purpose_of
from iomkit.identity.guard import PURPOSE_HEADER, TOKEN_COOKIE, TooLarge
from iomkit.identity.isa import CRIME_UPLOAD_ROLES, EVIDENCE_ROLES
from iomkit.identity.principal import ALL_FORCES
from iomkit.peers import Peers
from iomkit.peopleforces import PeopleForces
from iomkit.records import CrimeReported, ExclusionZone
from iomkit.service import Context, Service
from iomkit.topics import TopicSpec
from services.gps_stream import config
from services.gps_stream.assembly import align, assemble, evidence_message
from services.gps_stream.geometry import haversine_m
from services.gps_stream.hitrule import RULE_VERSION
from services.gps_stream.matcher import HitUpdate
from services.gps_stream.partitions import PartitionMatchers, crime_of
from services.gps_stream.taghealth import TagHealth
from services.gps_stream.trail import epoch_ms
from services.gps_stream.zones import validate_zone

service = Service("gps_stream")
app = service.app
settings = service.settings
gps = config.load()

EVIDENCE = TopicSpec("throughcare-gps-evidence", "person_id", None)  # partition -> assembler
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
    await send_evidence((item.partition, u) for u in updates)


async def publish_all(spec: TopicSpec, values: list[dict[str, Any]], cause: str | None) -> None:
    """Outputs of the hot path go through its own producer: delivered before it commits."""
    for value in values:
        await devices.publish(spec, value, cause)


async def send_evidence(updates: Any) -> None:
    for partition, update in updates:
        await devices.send_json(EVIDENCE, update.person_id.encode(),
                                evidence_message(update, partition))


async def redeliver(partition: int, updates: list[HitUpdate]) -> None:
    await send_evidence((partition, u) for u in updates)
    await peers.announce(devices.producer, set(matchers.partitions))


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
        await send_evidence(matchers.add_crime(crime_of(crime)))

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
    if key not in aligned:  # first touch since this worker started: the topic is the truth
        aligned.add(key)
        state = align(state, published.get(key))
    state, hit = assemble(state, message, service.clock(), RULE_VERSION)
    assembled[key] = state
    if hit is not None:
        await service.publish(topics.GPS_HITS, hit, cause=context)
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
    await people.follow(settings, service.codec)


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
    cutoff = datetime.fromtimestamp(matchers.cutoff_ms() / 1000, UTC)
    done = [key for key, hit in list(published.items())
            if hit["crime_ref"] not in matchers.crimes and hit["nearest_fix_at"] < cutoff]
    for key in done:
        published.pop(key, None)
        aligned.discard(key)
    service.log.info("fixes.purged", fixes=purged, hits_forgotten=len(done))


# -- police without Kafka: the daily crime file ------------------------------------------


@service.page("/crimes/upload")
class CrimesUpload(View):
    """POST the 13-column crime file, unchanged: accepted rows are published (a crime sent
    again unchanged is not), and every refused row is listed with line, column and reason.
    Only a police upload account, and only its own force's rows (others are refused)."""

    @allow(CRIME_UPLOAD_ROLES, scope="force", max_body=gps.crime_file_max_bytes)
    async def post(self, request: Request) -> Response:
        principal = principal_of(request)
        with tempfile.TemporaryFile() as spooled:
            size = 0
            # streamed to disk in chunks: a large file never sits whole in memory
            async for chunk in request.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > gps.crime_file_max_bytes:
                    raise TooLarge(f"a crime file is at most {gps.crime_file_max_bytes} bytes")
                await asyncio.to_thread(spooled.write, chunk)
            spooled.seek(0)
            lines = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
            try:
                report = await crimeupload.upload(
                    settings, service.codec, lines, service.clock(),
                    forces=[f for f in principal.forces if f != ALL_FORCES])
            except UnicodeDecodeError:
                return self.json({"error": "the crime file is not UTF-8 text"}, status=400)
            finally:
                lines.detach()
        await service.audit(request, "COLLECT", "crime file upload",
                            details={"accepted": str(report.accepted),
                                     "refused": str(report.refused_rows)})
        return self.json({
            "accepted": report.accepted,
            "published": [{"crime_ref": ref, "version": v} for ref, v in report.published],
            "unchanged": report.unchanged,
            "refused": [{"line": r.line, "crime_ref": r.crime_ref, "column": r.column,
                         "reason": r.reason} for r in report.refused],
            "summary": report.summary(),
        }, status=200 if not report.refused else 422)


# -- evidence views --------------------------------------------------------------------


@service.page("/hits/{hit_id}")
@allow(EVIDENCE_ROLES, purpose=True)
async def hit_view(web: Any, request: Any, hit_id: str) -> Any:
    """The hit with exactly the fields the caller's role receives (isa.FIELDS): police get
    the evidence (fixes, the crime's place), probation that there was a hit and when."""
    hit = published.get(hit_id.encode())
    if hit is None:
        return web.json({"error": f"no hit {hit_id}"}, status=404)
    check_force(request, people.get(hit["person_id"]), hit["person_id"])
    role = principal_of(request).role
    crime = matchers.crimes.get(hit["crime_ref"])
    await service.audit(request, "CONSULT", "hit evidence", person_id=hit["person_id"],
                        details={"hit_id": hit_id})
    shown = set(isa.fields(role, isa.HIT))
    located = bool(shown & isa.LOCATION_FIELDS)
    # Officers read National Grid references: the crime's (first) and every fix's, OSTN15.
    points = ([] if crime is None or not located else [(crime.lat, crime.lon)]) + (
        [(f["lat"], f["lon"]) for f in hit["fixes"]] if located else [])
    references = grid.national_grid([p[0] for p in points], [p[1] for p in points])
    crime_grid = references.pop(0) if crime is not None and located else None
    document = {
        **{k: v for k, v in hit.items() if k in shown
           and k not in ("fixes", "nearest_fix_at", "detected_at")},
        "nearest_fix_at": hit["nearest_fix_at"].isoformat(),
        "detected_at": hit["detected_at"].isoformat(),
        **({} if not located else {"fixes": [
            {**f, "recorded_at": f["recorded_at"].isoformat(), "national_grid": g}
            for f, g in zip(hit["fixes"], references, strict=True)]}),
        "crime": None if crime is None or not located else {
            "crime_ref": crime.crime_ref, "version": crime.version, "offence": crime.offence,
            "lat": crime.lat, "lon": crime.lon, "national_grid": crime_grid,
            "location_accuracy_m": crime.location_accuracy_m,
            "committed_from": _iso(crime.committed_from_ms),
            "committed_to": _iso(crime.committed_to_ms),
        },
    }
    if nav.wants_html(request.headers.get("Accept", "")):
        return web.html(nav.json_page(f"hit {hit_id}", document))
    return web.json(document)


@service.page("/people/{person_id}/trail")
@allow(EVIDENCE_ROLES, purpose=True)
async def trail_view(web: Any, request: Any, person_id: str) -> Any:
    """Where a person was: police and probation of their force, with a stated purpose."""
    check_force(request, people.get(person_id), person_id)
    now = service.clock()
    try:
        lo = _parse(request.query.get("from"), now - timedelta(days=1))
        hi = _parse(request.query.get("to"), now)
    except ValueError as exc:
        return web.json({"error": str(exc)}, status=400)
    lo = max(lo, matchers.cutoff_ms())  # purged fixes can no longer be read
    found = [[f.recorded_at_ms, f.lat, f.lon, f.accuracy_m, f.device_id]
             for m in list(matchers.matchers.values()) for f in m.trail(person_id, lo, hi)]
    if request.query.get("local"):  # a peer gathering a trail: this worker's part only
        return web.json({"fixes": found})
    # A person's devices may sit on other workers' partitions: gather from every worker.
    # The peer checks the caller's own token and purpose again.
    forwarded = {"Authorization": f"Bearer {_token_of(request)}",
                 PURPOSE_HEADER: purpose_of(request)}
    for answer in await asyncio.gather(*(
        _peer_trail(url, person_id, lo, hi, forwarded) for url in peers.others()
    )):
        found += answer
    fixes = sorted({tuple(f) for f in found})
    features = []
    for i, (at, lat, lon, accuracy, device) in enumerate(fixes):
        previous = fixes[i - 1] if i else None
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "recorded_at": _iso(at), "device_id": device, "accuracy_m": accuracy,
                "gap_s": None if previous is None else (at - previous[0]) / 1000,
                "step_m": None if previous is None else haversine_m(previous[1], previous[2],
                                                                    lat, lon),
            },
        })
    await service.audit(request, "CONSULT", "trail", person_id=person_id,
                        details={"from": _iso(lo), "to": _iso(hi)})
    return web.json({"type": "FeatureCollection", "person_id": person_id,
                     "from": _iso(lo), "to": _iso(hi), "features": features})


def _token_of(request: Any) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else \
        request.cookies.get(TOKEN_COOKIE, "")


async def _peer_trail(url: str, person_id: str, lo: int, hi: int,
                      headers: dict[str, str]) -> list[list[Any]]:
    query = {"from": _iso(lo), "to": _iso(hi), "local": "1"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            async with session.get(f"{url}/people/{person_id}/trail", params=query,
                                   headers=headers) as answer:
                return list((await answer.json())["fixes"])
    except (aiohttp.ClientError, TimeoutError, KeyError) as exc:
        service.log.warning("peer.unreachable", peer=url, error=type(exc).__name__)
        return []


def _parse(text: str | None, default: datetime) -> int:
    if not text:
        return epoch_ms(default)
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z for UTC")
    return epoch_ms(at)


def _iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()


if __name__ == "__main__":
    service.main()
