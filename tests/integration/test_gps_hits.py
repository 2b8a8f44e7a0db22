"""gps_stream on the real broker with two workers over six ping partitions: a crime that
arrives after its fixes, an enrolment after its pings, late pings adding evidence, a new
crime version that no longer matches, and views of the evidence."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from datetime import datetime, timedelta

import pytest

from iomkit import testing, topics
from iomkit.kafka import partition_of
from services.gps_stream.hitrule import hit_id
from tests.integration.test_risk_views import person
from tests.unit.gps_stream.support import destination

pytestmark = pytest.mark.integration
CRIME_AT = (50.9097, -1.4044)


def devices_on_two_partitions(run: str) -> tuple[str, str]:
    names = [f"TAG-{run}-{i}" for i in range(50)]
    first = names[0]
    second = next(n for n in names if partition_of(n.encode(), 6) != partition_of(
        first.encode(), 6))
    return first, second


def ping(device: str, at: datetime, metres: float, accuracy: float = 10.0,
         bearing: float = 90.0) -> dict[str, object]:
    lat, lon = destination(*CRIME_AT, bearing, metres)
    return {"device_id": device, "recorded_at": at, "lat": lat, "lon": lon,
            "accuracy_m": accuracy}


def crime(ref: str, version: int, start: datetime, at: tuple[float, float] = CRIME_AT):
    return {"crime_ref": ref, "version": version, "offence": "BURGLARY_DWELLING",
            "lat": at[0], "lon": at[1], "location_accuracy_m": 0.0,
            "committed_from": start, "committed_to": start + timedelta(minutes=30),
            "reported_at": start + timedelta(hours=2), "force": CRIME_FORCE,
            "type_description": None, "batch_id": None, "crime_text": None}


HEADERS: dict[str, str] = {}  # the officer's token, set by the test
# The crimes are Thames Valley's, the people Hampshire's: a cross-force hit (contract 1.1).
CRIME_FORCE = "Thames Valley"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    try:
        request = urllib.request.Request(url, headers={**(headers or HEADERS),
                                                       "X-IOM-Purpose": "hit review"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_hits_are_found_whatever_arrives_first(settings, codec, start_service, token):
    run = uuid.uuid4().hex[:8]
    tag_a, tag_b = devices_on_two_partitions(run)
    person_a, person_b = f"P-gps-A-{run}", f"P-gps-B-{run}"
    # their force decides who may see their trails and hits
    await testing.produce(settings, codec, topics.PEOPLE,
                          [person(codec, p, force="Hampshire") for p in (person_a, person_b)])
    HEADERS.update(token("POLICE", "Hampshire"))
    worker = start_service("gps_stream")
    other = start_service("gps_stream")  # a second worker: the six partitions are shared
    start = testing.now().replace(microsecond=0) - timedelta(hours=3)
    ref = f"44/{run}/26"

    # Fixes first (some too far, one too vague), enrolments after their pings.
    near_a = [ping(tag_a, start + timedelta(minutes=m), 40 + m) for m in (0, 10, 20)]
    far_a = [ping(tag_a, start + timedelta(minutes=5), 400)]
    vague_a = [ping(tag_a, start + timedelta(minutes=6), 20, accuracy=250)]
    outside_window = [ping(tag_a, start - timedelta(minutes=16), 10)]
    near_b = [ping(tag_b, start + timedelta(minutes=25), 30, bearing=200)]
    await testing.produce(settings, codec, topics.TAG_PINGS,
                          near_a + far_a + vague_a + outside_window + near_b)
    enrol = [{"enrolment_id": f"E-{run}-{n}", "device_id": d, "person_id": p,
              "status": "FITTED", "effective_at": start - timedelta(days=1),
              "monitoring_ends_at": None}
             for n, (d, p) in enumerate([(tag_a, person_a), (tag_b, person_b)])]
    await testing.produce(settings, codec, topics.TAG_ENROLMENTS, enrol)
    await testing.produce(settings, codec, topics.CRIMES_REPORTED, [crime(ref, 1, start)])

    hit_a, hit_b = hit_id(ref, person_a), hit_id(ref, person_b)
    async with testing.Reader(settings, codec, topics.GPS_HITS.name) as hits:
        # Evidence may arrive in pieces (enrolment and crime race on two workers): wait for
        # the whole of it.
        await hits.wait_for(lambda seen: hit_b in {r.value["hit_id"] for r in seen} and any(
            r.value["hit_id"] == hit_a and len(r.value["fixes"]) == 3 for r in seen))
        await hits.settle(1.0)
        latest = {r.value["hit_id"]: r.value for r in hits.seen if r.value}
        assert latest[hit_a]["status"] == "ACTIVE"
        assert len(latest[hit_a]["fixes"]) == 3  # not the far, vague or early ones
        assert latest[hit_a]["device_id"] == tag_a
        assert latest[hit_a]["distance_m"] == pytest.approx(40, abs=0.5)
        assert latest[hit_a]["rule_version"] == 1
        assert latest[hit_a]["crime_force"] == latest[hit_b]["crime_force"] == CRIME_FORCE
        assert latest[hit_b]["person_id"] == person_b

        # A late ping, recorded in the window, adds evidence: same hit_id, next revision.
        await testing.produce(settings, codec, topics.TAG_PINGS,
                              [ping(tag_a, start + timedelta(minutes=40), 15)])
        await hits.wait_for(lambda seen: any(
            r.value["hit_id"] == hit_a and len(r.value["fixes"]) == 4 for r in seen))

        # The crime's new version is 5 km away: both hits are withdrawn.
        await testing.produce(settings, codec, topics.CRIMES_REPORTED,
                              [crime(ref, 2, start, destination(*CRIME_AT, 0, 5000))])
        await hits.wait_for(lambda seen: {hit_a, hit_b} <= {
            r.value["hit_id"] for r in seen if r.value["status"] == "WITHDRAWN"})
        await hits.settle(2.0)

    ours = [r.value for r in hits.seen if r.value["hit_id"] in (hit_a, hit_b)]
    for hid in (hit_a, hit_b):
        revisions = [h["revision"] for h in ours if h["hit_id"] == hid]
        assert revisions == sorted(set(revisions)), "a revision published twice or out of order"
        assert [h for h in ours if h["hit_id"] == hid][-1]["status"] == "WITHDRAWN"
    assert [h["crime_version"] for h in ours if h["status"] == "WITHDRAWN"] == [2, 2]
    # Each revision's combination (a crime report with the person's fixes) is in the
    # processing log (s.62), once, with no location in it.
    wanted = {(h["hit_id"], str(h["revision"])) for h in ours}
    async with testing.Reader(settings, codec, topics.AUDIT.name) as audit:
        await audit.wait_for(lambda seen: wanted <= {
            (r.value["details"].get("hit_id"), r.value["details"].get("revision"))
            for r in seen if r.value["action"] == "COMBINE"})
    combined = [r.value for r in audit.seen if r.value["action"] == "COMBINE"
                and r.value["details"].get("hit_id") in (hit_a, hit_b)]
    assert {r["person_id"] for r in combined if r["details"]["hit_id"] == hit_a} == {person_a}
    assert len({r["audit_id"] for r in combined}) == len(wanted)
    assert not any(k in r["details"] for r in combined for k in ("fixes", "lat", "distance_m"))

    for _ in range(40):  # the view follows the hit through a global table
        status, body = await asyncio.to_thread(
            get, f"http://127.0.0.1:{worker.port}/hits/{hit_a}")
        if status == 200 and body["status"] == "WITHDRAWN":
            break
        await asyncio.sleep(0.25)
    assert status == 200 and body["status"] == "WITHDRAWN" and body["person_id"] == person_a
    status, body = await asyncio.to_thread(get, f"http://127.0.0.1:{worker.port}/hits/nope")
    assert status == 404
    # The crime force's police see the hit as its investigators; its probation do not.
    status, body = await asyncio.to_thread(
        get, f"http://127.0.0.1:{worker.port}/hits/{hit_a}", token("POLICE", CRIME_FORCE))
    assert status == 200 and body["crime_force"] == CRIME_FORCE
    assert body["force"] == "Hampshire"  # whom to ask about the person
    assert "lead_officer" not in body
    status, _ = await asyncio.to_thread(
        get, f"http://127.0.0.1:{worker.port}/hits/{hit_a}", token("PROBATION", CRIME_FORCE))
    assert status == 403

    # Whichever worker owns a device's partition, either worker shows the whole trail.
    for who, count in ((person_a, 7), (person_b, 1)):
        for port in (worker.port, other.port):
            status, trail = await asyncio.to_thread(
                get, f"http://127.0.0.1:{port}/people/{who}/trail")
            assert status == 200
            assert len(trail["features"]) == count, (who, port)
