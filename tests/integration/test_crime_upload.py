"""`iom crimes upload` through the real broker: refused rows are reported and never
published, accepted crimes are, with versions decided against what the topic holds; a
crime in grid references hits as the same crime in latitude/longitude does."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from iomkit import testing, topics
from iomkit.cli import app
from iomkit.codec import Codec
from iomkit.crimeupload import known_versions
from iomkit.settings import Settings
from iomkit.testing import Reader
from iomkit.topics import CRIMES_REPORTED
from services.gps_stream.hitrule import hit_id
from tests.integration.test_gps_hits import person as person_of
from tests.unit.gps_stream.support import destination

pytestmark = pytest.mark.integration
runner = CliRunner()


def crime_file(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def rows(run: str, crime_b_to: str = "") -> list[list[str]]:
    # Yesterday, in UK local time, well in the past whenever the test runs.
    day = (testing.now() - timedelta(days=1)).strftime("%Y%m%d")
    return [
        ["Hampshire", "RB", "Robbery", f"B-{run}", f"A/{run}", f"{day}100000",
         f"{day}103000", "442000", "112000", "", "", "", "Phone taken, on foot"],
        ["Kent", "TFMV", "Theft from vehicle", f"B-{run}", f"B/{run}", f"{day}110000",
         crime_b_to or f"{day}113000", "", "", "51.2787", "1.0789", "WGS84", ""],
        ["Atlantis", "RB", "", f"B-{run}", f"C/{run}", f"{day}100000", f"{day}103000",
         "442000", "112000", "", "", "", ""],
        ["Kent", "RB", "", f"B-{run}", f"D/{run}", f"{day}100000", f"{day}100000",
         "442000", "112000", "50.9", "-1.4", "", ""],
    ]


def upload(tmp_path: Path, text: str, name: str = "crimes.csv"):
    source = tmp_path / name
    source.write_text(text)
    return runner.invoke(app, ["crimes", "upload", str(source)])


async def ours(settings: Settings, codec: Codec, run: str, expected: int) -> list[dict]:
    async with Reader(settings, codec, CRIMES_REPORTED.name) as reader:
        await reader.wait_for(
            lambda seen: sum(1 for r in seen if r.key and r.key.decode().endswith(run))
            >= expected)
        seen = await reader.settle(quiet=1.5)
    mine = [r for r in seen if r.key and r.key.decode().endswith(run)]
    assert all(r.headers.get("iom-schema") == "CrimeReported" for r in mine)
    assert all(r.key.decode() == r.value["crime_ref"] for r in mine)
    return [r.value for r in mine]


def test_upload_reports_refused_rows_publishes_accepted_and_versions_changes(
    cli_env: Settings, codec: Codec, tmp_path: Path
):
    run = uuid.uuid4().hex[:12]
    text = crime_file(rows(run))

    first = upload(tmp_path, text)
    assert first.exit_code == 1, first.output
    assert first.stdout.strip() == "accepted 2, published 2, unchanged 0, refused 2"
    assert first.stderr.splitlines() == [
        f"line 3: crime C/{run}: column 0 police force: unknown police force 'Atlantis'",
        f"line 4: crime D/{run}: column 11 datum: blank, but both easting/northing and "
        "latitude/longitude are filled: ambiguous, say which (WGS84 or OSGB36)",
    ]
    values = asyncio.run(ours(cli_env, codec, run, 2))
    assert sorted((v["crime_ref"], v["version"]) for v in values) == [
        (f"A/{run}", 1), (f"B/{run}", 1)]
    a = next(v for v in values if v["crime_ref"] == f"A/{run}")
    assert a["force"] == "Hampshire" and a["offence"] == "ROBBERY"
    assert a["batch_id"] == f"B-{run}" and a["crime_text"] == "Phone taken, on foot"
    assert abs(a["lat"] - 50.906) < 1e-3 and abs(a["lon"] + 1.404) < 1e-3

    # The same file again: nothing new.
    again = upload(tmp_path, text)
    assert again.exit_code == 1, again.output
    assert again.stdout.strip() == "accepted 2, published 0, unchanged 2, refused 2"

    # B's time changed: B gets version 2, A stays as it was.
    day = (testing.now() - timedelta(days=1)).strftime("%Y%m%d")
    changed = upload(tmp_path, crime_file(rows(run, crime_b_to=f"{day}114500")))
    assert changed.stdout.strip() == "accepted 2, published 1, unchanged 1, refused 2"
    values = asyncio.run(ours(cli_env, codec, run, 3))
    assert sorted((v["crime_ref"], v["version"]) for v in values) == [
        (f"A/{run}", 1), (f"B/{run}", 1), (f"B/{run}", 2)]
    known = asyncio.run(known_versions(cli_env, codec))
    assert known[f"A/{run}"][0] == 1 and known[f"B/{run}"][0] == 2
    assert f"C/{run}" not in known and f"D/{run}" not in known


def test_a_clean_file_exits_zero(cli_env: Settings, codec: Codec, tmp_path: Path):
    run = uuid.uuid4().hex[:12]
    result = upload(tmp_path, crime_file(rows(run)[:2]))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.strip() == "accepted 2, published 2, unchanged 0, refused 0"


def test_an_unreadable_file_exits_two(cli_env: Settings, tmp_path: Path):
    missing = runner.invoke(app, ["crimes", "upload", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"Kent,\xff\xfe,x\n")
    result = runner.invoke(app, ["crimes", "upload", str(binary)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr


async def test_post_crimes_upload_to_the_service(settings, codec, start_service, token):
    gps = start_service("gps_stream")
    uploader = token("POLICE_UPLOAD", "Hampshire")
    ref = f"44/POST{uuid.uuid4().hex[:6]}/26"
    now = testing.now()
    start = (now - timedelta(hours=5)).astimezone(ZoneInfo("Europe/London"))
    stamp = start.strftime("%Y%m%d%H%M%S")
    end = (start + timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
    good = f"Hampshire,RB,Robbery,B1,{ref},{stamp},{end},,,50.9097,-1.4044,WGS84,street robbery"
    bad = f"Atlantis,RB,Robbery,B1,{ref}-X,{stamp},{end},,,50.9097,-1.4044,WGS84,nope"
    body = f"{good}\n{bad}\n".encode()

    def post() -> tuple[int, dict]:
        request = urllib.request.Request(f"http://127.0.0.1:{gps.port}/crimes/upload",
                                         data=body, method="POST",
                                         headers={"Content-Type": "text/csv", **uploader})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, answer = await asyncio.to_thread(post)
    assert status == 422
    assert answer["published"] == [{"crime_ref": ref, "version": 1}]
    assert answer["refused"][0]["line"] == 2 and "force" in answer["refused"][0]["reason"]
    status, again = await asyncio.to_thread(post)
    assert again["published"] == [] and again["unchanged"] == [ref]


async def test_a_crime_in_grid_references_hits_as_the_same_crime_in_latitude_longitude(
        settings, codec, start_service, token):
    """Two rows, one crime place: OS test point TP05 (Southampton) by its published grid
    reference and by its published ETRS89 position. Fixes a few centimetres either side
    of the hit radius tell them apart unless the conversion is OSTN15's."""
    run = uuid.uuid4().hex[:8]
    gps = start_service("gps_stream")
    east, north, lat, lon = 438710.920, 114792.250, 50.93127937910, -1.45051433700
    tag, person = f"TAG-grid-{run}", f"P-grid-{run}"
    # their force decides who may see the hit's evidence
    await testing.produce(settings, codec, topics.PEOPLE,
                          [person_of(codec, person, force="Hampshire")])
    start = testing.now().replace(microsecond=0) - timedelta(hours=3)
    await testing.produce(settings, codec, topics.TAG_ENROLMENTS, [{
        "enrolment_id": f"E-grid-{run}", "device_id": tag, "person_id": person,
        "status": "FITTED", "effective_at": start - timedelta(days=1),
        "monitoring_ends_at": None}])
    pings = []
    for i in range(8):  # radius 100 m + accuracy 10 m, 5 cm inside and outside
        for n, metres in enumerate((109.95, 110.05)):
            fix_lat, fix_lon = destination(lat, lon, i * 45.0, metres)
            pings.append({"device_id": tag, "recorded_at": start + timedelta(
                minutes=5, seconds=2 * i + n), "lat": fix_lat, "lon": fix_lon,
                "accuracy_m": 10.0})
    await testing.produce(settings, codec, topics.TAG_PINGS, pings)

    local = start.astimezone(ZoneInfo("Europe/London"))
    stamp = local.strftime("%Y%m%d%H%M%S")
    end = (local + timedelta(minutes=30)).strftime("%Y%m%d%H%M%S")
    grid_ref, lat_lon = f"44/G{run}/26", f"44/L{run}/26"
    body = crime_file([
        ["Hampshire", "BIAD", "", "B1", grid_ref, stamp, end, f"{east}", f"{north}", "", "",
         "OSGB36", ""],
        ["Hampshire", "BIAD", "", "B1", lat_lon, stamp, end, "", "", f"{lat}", f"{lon}",
         "WGS84", ""],
    ]).encode()

    def post() -> tuple[int, dict]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{gps.port}/crimes/upload", data=body, method="POST",
            headers={"Content-Type": "text/csv", **token("POLICE_UPLOAD", "Hampshire")})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())

    status, answer = await asyncio.to_thread(post)
    assert status == 200 and answer["refused"] == [], answer

    by_grid, by_lat_lon = hit_id(grid_ref, person), hit_id(lat_lon, person)
    async with Reader(settings, codec, topics.GPS_HITS.name) as hits:
        await hits.wait_for(lambda seen: {by_grid, by_lat_lon} <= {
            r.value["hit_id"] for r in seen if r.value})
        await hits.settle(1.5)
    latest = {r.value["hit_id"]: r.value for r in hits.seen if r.value}
    evidence = {h: sorted((f["recorded_at"], f["lat"], f["lon"]) for f in latest[h]["fixes"])
                for h in (by_grid, by_lat_lon)}
    assert len(evidence[by_grid]) == 8  # the eight just inside, none just outside
    assert evidence[by_grid] == evidence[by_lat_lon]

    # The evidence view gives the crime's grid reference as the force sent it.
    def view() -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{gps.port}/hits/{by_grid}?purpose=investigating+a+burglary",
            headers=token("POLICE", "Hampshire"))
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    for _ in range(40):  # the view follows the hits through a global table
        try:
            shown = await asyncio.to_thread(view)
            break
        except urllib.error.HTTPError:
            await asyncio.sleep(0.25)
    crime_grid = shown["crime"]["national_grid"]
    assert crime_grid["reference"] == "SU 38710 14792"
    assert (crime_grid["easting"], crime_grid["northing"]) == pytest.approx(
        (east, north), abs=0.06)
    assert all(f["national_grid"]["reference"].startswith("SU ") for f in shown["fixes"])
