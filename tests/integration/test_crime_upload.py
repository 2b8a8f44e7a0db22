"""`iom crimes upload` through the real broker: refused rows are reported and never
published, accepted crimes are, with versions decided against what the topic holds."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from iomkit.cli import app
from iomkit.codec import Codec
from iomkit.settings import Settings
from iomkit.testing import Reader
from iomkit.topics import CRIMES_REPORTED
from services.gps_stream.crimeupload import known_versions

pytestmark = pytest.mark.integration
runner = CliRunner()


def crime_file(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def rows(run: str, crime_b_to: str = "") -> list[list[str]]:
    # Yesterday, in UK local time, well in the past whenever the test runs.
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%d")
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
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%d")
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
    now = datetime.now(UTC)
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
