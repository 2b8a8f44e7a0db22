"""The risk service's views for people: a person's grade with its history and the static
score's arithmetic, the RED list for the MAP meeting, and an audit record per disclosure."""

from __future__ import annotations

import asyncio
import json
import math
import urllib.request

import pytest

from iomkit import testing, topics
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT

pytestmark = pytest.mark.integration


def person(codec, person_id: str, **fields: object) -> dict[str, object]:
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    raw.update(person_id=person_id, **fields)
    return from_json(codec.registry.current("Person").raw, raw)


def get(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    # the header of old is ignored: the actor is the token's user
    request = urllib.request.Request(url, headers={**headers, "X-IOM-User": "forged"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_grade_views_explain_and_audit(settings, codec, start_service, token):
    risk = start_service("risk")
    reid = token("POLICE", "Hampshire", username="DS Reid")
    low = person(codec, "P-view-low", force="Hampshire")
    high = person(codec, "P-view-high", force="Hampshire", sex="MALE",
                  date_of_birth="2004-03-14", first_sanction_date="2016-05-02",
                  previous_sanctions=14, current_offence="THEFT_NON_MOTOR",
                  current_conviction_date="2026-06-30")
    elsewhere = dict(high, person_id="P-view-kent", force="Kent")
    await testing.produce(settings, codec, topics.PEOPLE, [low, high, elsewhere])
    async with testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades:
        await grades.wait_for(lambda seen: {"P-view-low", "P-view-high", "P-view-kent"} <= {
            r.value["person_id"] for r in seen if r.value})
    base = f"http://127.0.0.1:{risk.port}"
    # Views follow the grades through their own topic: give them a moment.
    for _ in range(60):
        status, body = await asyncio.to_thread(get, f"{base}/grades?rag=RED&force=Hampshire", reid)
        if "P-view-high" in [row["person_id"] for row in body["grades"]]:
            break
        await asyncio.sleep(0.25)

    status, body = await asyncio.to_thread(get, f"{base}/people/P-view-low/grade", reid)
    assert status == 200
    assert body["current"]["rag"] == "GREEN" and body["current"]["revision"] == 1
    assert body["history"][0]["rag"] == "GREEN"
    static = body["static_score"]
    # The worked example's copas rate: 3 previous, convicted at 37, first sanctioned at 14.
    assert math.isclose(static["copas_rate"], math.log(4 / 33), abs_tol=1e-12)
    assert static["offence_weight"] == 0.204960477
    assert static["age_sex_weight"] == -2.44983716  # female, 50 and over today
    assert any(line.startswith("copas rate") for line in static["explanation"])

    status, body = await asyncio.to_thread(get, f"{base}/grades?rag=RED&force=Hampshire", reid)
    assert status == 200
    listed = [row["person_id"] for row in body["grades"]]
    assert "P-view-high" in listed
    assert "P-view-low" not in listed and "P-view-kent" not in listed
    assert all(row["rag"] == "RED" and row["force"] == "Hampshire" for row in body["grades"])

    status, body = await asyncio.to_thread(get, f"{base}/people/P-view-nobody/grade", reid)
    assert status == 404

    # Kent's officer: not their force's person, nor their force's list.
    kent = token("POLICE", "Kent", username="DC Kent")
    status, _ = await asyncio.to_thread(get, f"{base}/people/P-view-high/grade", kent)
    assert status == 403
    status, _ = await asyncio.to_thread(get, f"{base}/grades?force=Hampshire", kent)
    assert status == 403
    status, body = await asyncio.to_thread(get, f"{base}/grades", kent)
    assert status == 200 and "P-view-kent" in [r["person_id"] for r in body["grades"]]
    assert {r["force"] for r in body["grades"]} == {"Kent"}

    def ours(r) -> bool:
        return bool(r.value) and r.value["service"] == "risk" and r.value["actor"] in (
            "DS Reid", "DC Kent", "forged")

    async with testing.Reader(settings, codec, topics.AUDIT.name) as audit:
        seen = await audit.wait_for(lambda s: len([r for r in s if ours(r)]) >= 6)
    views = [r.value for r in seen if ours(r)]
    assert all(v["actor"] != "forged" for v in views)
    single = [v for v in views if v["person_id"] == "P-view-low"]
    assert single and all(v["actor"] == "DS Reid" and v["action"] == "VIEW"
                          and v["purpose"] == "risk grade and its history" for v in single)
    # a list of people is one record naming them all
    lists = [v for v in views if v["purpose"] == "grade list for the MAP meeting"
             and v["actor"] == "DS Reid"]
    assert lists and all(v["person_id"] is None for v in lists)
    assert "P-view-high" in lists[-1]["details"]["people"].split(",")
    refused = [v for v in views if v["details"].get("outcome") == "REFUSED"]
    assert {(v["actor"], v["person_id"]) for v in refused} >= {("DC Kent", "P-view-high")}
