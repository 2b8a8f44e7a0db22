"""Retention: a fix older than 30 days can no longer match a crime or be read, and the
trail view shows each fix with its accuracy and the gap since the previous one."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta

import pytest

from iomkit import testing, topics
from iomkit.identity.guard import PURPOSE_HEADER
from iomkit.identity.keys import peer_secret
from iomkit.routing import GATHER, gather_proof
from services.gps_stream.hitrule import hit_id
from tests.integration.test_risk_views import person as person_record

pytestmark = pytest.mark.integration
AT = (50.9097, -1.4044)


def get(url: str, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_a_31_day_old_fix_cannot_match_or_be_read(settings, codec, start_service,
                                                       token, identity_dir):
    run = uuid.uuid4().hex[:8]
    device, person = f"TAG-R-{run}", f"P-R-{run}"
    await testing.produce(settings, codec, topics.PEOPLE, [person_record(codec, person)])
    gps = start_service("gps_stream")
    now = testing.now().replace(microsecond=0)
    old = now - timedelta(days=31)
    await testing.produce(settings, codec, topics.TAG_ENROLMENTS, [{
        "enrolment_id": f"E-{run}", "device_id": device, "person_id": person,
        "status": "FITTED", "effective_at": now - timedelta(days=40),
        "monitoring_ends_at": None}])
    pings = [{"device_id": device, "recorded_at": at, "lat": AT[0], "lon": AT[1],
              "accuracy_m": 12.0} for at in (old, now - timedelta(minutes=20),
                                             now - timedelta(minutes=5))]
    await testing.produce(settings, codec, topics.TAG_PINGS, pings)

    def crime(ref: str, at: datetime) -> dict:
        return {"crime_ref": ref, "version": 1, "offence": "ROBBERY", "lat": AT[0],
                "lon": AT[1], "location_accuracy_m": 0.0, "committed_from": at,
                "committed_to": at + timedelta(minutes=1), "reported_at": now,
                "force": "Hampshire", "type_description": None, "batch_id": None,
                "crime_text": None}

    old_ref, new_ref = f"44/OLD{run}/25", f"44/NEW{run}/26"
    await testing.produce(settings, codec, topics.CRIMES_REPORTED,
                          [crime(old_ref, old), crime(new_ref, now - timedelta(minutes=6))])
    async with testing.Reader(settings, codec, topics.GPS_HITS.name) as hits:
        await hits.wait_for(lambda seen: any(r.value["hit_id"] == hit_id(new_ref, person)
                                             for r in seen))
        await hits.settle(2.0)
    assert not any(r.value["hit_id"] == hit_id(old_ref, person) for r in hits.seen)

    query = urllib.parse.urlencode({"from": (now - timedelta(days=35)).isoformat(),
                                    "to": now.isoformat(), "purpose": "retention check"})
    trail = await asyncio.to_thread(
        get, f"http://127.0.0.1:{gps.port}/people/{person}/trail?{query}",
        token("PROBATION", "Hampshire"))
    times = [f["properties"]["recorded_at"] for f in trail["features"]]
    assert times == [(now - timedelta(minutes=20)).isoformat(),
                     (now - timedelta(minutes=5)).isoformat()]
    assert trail["features"][0]["properties"]["gap_s"] is None
    assert trail["features"][1]["properties"]["gap_s"] == 15 * 60
    assert trail["features"][1]["properties"]["accuracy_m"] == 12.0

    # A worker's part of the trail (the raw fixes, unaudited here: the asking worker audits)
    # goes only to a request with a worker's proof; the old "local" flag gets the whole,
    # audited answer, and the header without its proof is refused.
    path = f"/people/{person}/trail?{query}"
    caller = {**token("PROBATION", "Hampshire"), PURPOSE_HEADER: "retention check"}
    proof = gather_proof(peer_secret(identity_dir), "GET", path,
                         {"Authorization": caller["Authorization"]})
    part = await asyncio.to_thread(get, f"http://127.0.0.1:{gps.port}{path}",
                                   {**caller, GATHER: proof})
    assert [f[0] for f in part["fixes"]] == [
        int((now - timedelta(minutes=m)).timestamp() * 1000) for m in (20, 5)]
    whole = await asyncio.to_thread(get, f"http://127.0.0.1:{gps.port}{path}&local=1", caller)
    assert len(whole["features"]) == 2
    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(get, f"http://127.0.0.1:{gps.port}{path}",
                                {**caller, GATHER: "1"})
    assert refused.value.code == 403
