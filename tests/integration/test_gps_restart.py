"""Killing a gps_stream worker with SIGKILL in the middle of a replay and starting it
again loses no hit and publishes no hit_id twice at the same revision."""

from __future__ import annotations

import random
import struct
import uuid
from datetime import datetime, timedelta

import pytest

from iomkit import headers as h
from iomkit import kafka, testing, topics
from services.gps_stream.hitrule import Crime, Enrolment
from services.gps_stream.matcher import HitMatcher
from services.gps_stream.trail import Fix, epoch_ms
from tests.unit.gps_stream.support import destination

pytestmark = pytest.mark.integration
DEVICES, FIXES_PER_DEVICE, CRIMES = 100, 400, 25


def as_float32(value: float) -> float:
    """TagPing.accuracy_m is an Avro float: the oracle must see what the service sees."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def scenario(run: str, now: datetime, devices: int = DEVICES, fixes: int = FIXES_PER_DEVICE,
             crimes_count: int = CRIMES) -> tuple[list[dict], list[dict], list[dict]]:
    rng = random.Random(run)
    start = now - timedelta(hours=12)
    pings, enrolments, crimes = [], [], []
    for d in range(devices):
        device = f"TAG-{run}-{d:03d}"
        enrolments.append({"enrolment_id": f"E-{device}", "device_id": device,
                           "person_id": f"P-{run}-{d:03d}", "status": "FITTED",
                           "effective_at": start - timedelta(days=1),
                           "monitoring_ends_at": None})
        lat, lon = 50.90 + rng.uniform(-0.02, 0.02), -1.40 + rng.uniform(-0.03, 0.03)
        for i in range(fixes):
            lat, lon = destination(lat, lon, rng.uniform(0, 360), rng.uniform(0, 40))
            pings.append({"device_id": device, "recorded_at": start + timedelta(minutes=i),
                          "lat": lat, "lon": lon, "accuracy_m": as_float32(rng.uniform(5, 60))})
    for c in range(crimes_count):
        anchor = rng.choice(pings)
        lat, lon = destination(anchor["lat"], anchor["lon"], rng.uniform(0, 360), 30)
        crimes.append({
            "crime_ref": f"44/{run}/{c}", "version": 1, "offence": "ROBBERY", "lat": lat,
            "lon": lon, "location_accuracy_m": 0.0,
            "committed_from": anchor["recorded_at"] - timedelta(minutes=5),
            "committed_to": anchor["recorded_at"] + timedelta(minutes=5),
            "reported_at": now, "force": "Hampshire", "type_description": None,
            "batch_id": None, "crime_text": None})
    return pings, enrolments, crimes


def expected_hits(pings: list[dict], enrolments: list[dict], crimes: list[dict]
                  ) -> dict[str, set[int]]:
    matcher = HitMatcher()
    for e in enrolments:
        matcher.add_enrolment(Enrolment(e["enrolment_id"], e["device_id"], e["person_id"],
                                        "FITTED", epoch_ms(e["effective_at"]), None))
    for c in crimes:
        matcher.add_crime(Crime(c["crime_ref"], 1, c["offence"], c["lat"], c["lon"], 0.0,
                                epoch_ms(c["committed_from"]), epoch_ms(c["committed_to"])))
    for p in pings:
        matcher.add_fix(Fix(p["device_id"], epoch_ms(p["recorded_at"]), p["lat"], p["lon"],
                            p["accuracy_m"]))
    return {hid: {f.recorded_at_ms for f in fixes}
            for hid, fixes in matcher.active_hits().items()}


async def publish(settings, codec, spec, values) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        batch = await kafka.KeyedBatchProducer.for_topic(
            producer, spec.name, headers=h.record_headers(spec.record))
        for value in values:
            await batch.send(value[spec.key].encode(), codec.encode(spec.record, value))
        await batch.flush()
    finally:
        await producer.stop()


@pytest.mark.parametrize("same_disk", [False, True], ids=["new-machine", "same-machine"])
async def test_sigkill_mid_replay_loses_no_hit_and_repeats_no_revision(
    settings, codec, start_service, tmp_path, same_disk
):
    run = uuid.uuid4().hex[:8]
    pings, enrolments, crimes = scenario(run, testing.now())
    expected = expected_hits(pings, enrolments, crimes)
    assert len(expected) >= 10  # the scenario really has hits to find

    await publish(settings, codec, topics.CRIMES_REPORTED, crimes)
    await publish(settings, codec, topics.TAG_ENROLMENTS, enrolments)
    await publish(settings, codec, topics.TAG_PINGS, pings)

    def ours(seen):
        # Other tests' tagged people may be near these crimes too (same broker, same
        # area): their hits are real but not this scenario's.
        return [r.value for r in seen if r.value and f"/{run}/" in r.value["crime_ref"]
                and r.value["person_id"].startswith(f"P-{run}-")]

    async with testing.Reader(settings, codec, topics.GPS_HITS.name) as hits:
        disk = {"IOM_STORE_DIR": str(tmp_path / "disk")}
        worker = start_service("gps_stream", **disk)
        await hits.wait_for(lambda seen: len(ours(seen)) >= 3, within=60)
        worker.kill()  # SIGKILL, mid-replay
        # Back on the same machine its local store is reused (only the tail is replayed);
        # on a new machine the partition is rebuilt from the topic.
        again = start_service("gps_stream", **(disk if same_disk else {}))
        await hits.wait_for(
            lambda seen: expected.keys() <= {h["hit_id"] for h in ours(seen)}, within=90)
        await hits.settle(3.0)

    published = ours(hits.seen)
    pairs = [(h["hit_id"], h["revision"]) for h in published]
    assert len(pairs) == len(set(pairs)), "a hit_id was published twice at one revision"
    latest: dict[str, dict] = {}
    for hit in published:
        if hit["revision"] >= latest.get(hit["hit_id"], {"revision": 0})["revision"]:
            latest[hit["hit_id"]] = hit
    active = {hid: {epoch_ms(f["recorded_at"]) for f in hit["fixes"]}
              for hid, hit in latest.items() if hit["status"] == "ACTIVE"}
    assert active == expected
    restored = [line for line in again.log_file.read_text().splitlines()
                if "partitions.restored" in line]
    loaded = sum(int(line.split("loaded=")[1].split()[0]) for line in restored)
    assert (loaded > 0) == same_disk
