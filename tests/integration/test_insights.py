"""insights on the real broker: a synthetic history (and hits, alerts and notifications)
read into its store gives the same figures as the measures computed on the records
directly; the store deleted and rebuilt from the topics gives the same answers again; the
page in Chromium shows the charts, its tables match the API, and the CSV and Parquet
downloads parse; a view that leaves the force suppresses small counts; every answer is
audited."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
import pytest

from deploy import demo_history
from iomkit import testing, topics
from iomkit.settings import ROOT
from services.insights import report, rows
from services.insights.config import unit_costs
from services.insights.store import Store
from tests.browser import ARTEFACTS, chromium, signed_in_page

pytestmark = pytest.mark.integration
# A fixed moment, so the figures do not depend on the day the test runs: the history ends
# here and every figure is asked for as of it.
END = datetime(2026, 6, 30, 12, tzinfo=UTC)
RANGE = "from=2025-07-01&to=2026-06-30&as_of=2026-06-30"


def renamed(made: dict[str, list[dict[str, Any]]], run: str) -> dict[str, list[dict[str, Any]]]:
    """The history with its ids made this run's own (the test broker is shared by the
    session): SYN- becomes SYN-<run>-; change ids are left for the reader to derive, case
    record ids made again from the new ids."""
    def swap(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("SYN-", f"SYN-{run}-")
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value
    out = {name: [swap(v) for v in values] for name, values in made.items()}
    for change in out["iom.cohort.changes"]:
        change["change_id"] = None
    for record in out["iom.case.records"]:
        record["record_id"] = demo_history.record_id(record["person_id"], record["kind"],
                                                     record["subject"])
    return out


def extras(made: dict[str, list[dict[str, Any]]], run: str) -> dict[str, list[dict[str, Any]]]:
    """Hits, a crime, a breach, a tag and its alerts, a case alert and notifications for
    the history's first registered person: the MI's other sources."""
    person = made["iom.cohort.changes"][0]["person_id"]
    t = END - timedelta(days=20)
    crime = {"crime_ref": f"C-{run}", "version": 1, "offence": "ROBBERY", "lat": 51.0,
             "lon": -1.8, "location_accuracy_m": 10.0, "committed_from": t,
             "committed_to": t + timedelta(minutes=30), "reported_at": t + timedelta(hours=2),
             "force": "Wiltshire", "type_description": None, "batch_id": None,
             "crime_text": None}
    hit = {"hit_id": f"H-{run}", "revision": 1, "status": "ACTIVE", "crime_ref": f"C-{run}",
           "crime_version": 1, "offence": "ROBBERY", "person_id": person,
           "device_id": f"T-{run}", "distance_m": 12.0, "nearest_fix_at": t, "fixes": [],
           "detected_at": t + timedelta(hours=2, seconds=1), "rule_version": 1}
    confirmed = {"event_id": f"E-hit-{run}", "person_id": person, "type": "HIT_CONFIRMED",
                 "occurred_at": t + timedelta(hours=8), "source_agency": "Wiltshire IOM",
                 "offence": None, "details": {"hit_id": f"H-{run}"}}
    return {
        "iom.crimes.reported": [crime],
        "iom.gps.hits": [hit],
        "iom.offender.events": [confirmed],
        "iom.zone-breaches": [{"breach_id": f"B-{run}", "zone_id": "Z", "person_id": person,
                               "device_id": f"T-{run}", "kind": "ENTERED_EXCLUSION",
                               "first_fix_at": t, "detected_at": t + timedelta(minutes=1),
                               "victim_safety": False}],
        "iom.tag.enrolments": [{"enrolment_id": f"EN-{run}", "device_id": f"T-{run}",
                                "person_id": person, "status": "FITTED",
                                "effective_at": t - timedelta(days=10),
                                "monitoring_ends_at": None}],
        "iom.tag.alerts": [
            {"alert_id": f"A1-{run}", "device_id": f"T-{run}", "person_id": person,
             "kind": "NO_FIXES", "since": t, "detected_at": t + timedelta(minutes=30),
             "details": {}},
            {"alert_id": f"A2-{run}", "device_id": f"T-{run}", "person_id": person,
             "kind": "RECOVERED", "since": t + timedelta(hours=6),
             "detected_at": t + timedelta(hours=6), "details": {}}],
        "iom.case.alerts": [{"alert_id": f"CA-{run}", "person_id": person,
                             "kind": "REVIEW_OVERDUE", "force": "Wiltshire",
                             "lead_officer": None, "summary": "synthetic",
                             "raised_at": t, "details": {}}],
        "iom.notifications": [{"notification_id": f"N-{run}", "recipient": "wilts-iom",
                               "kind": "HIT", "source_id": f"H-{run}", "person_id": person,
                               "state": "DELIVERED", "attempts": 1, "payload": "{}",
                               "created_at": t + timedelta(hours=2, seconds=2),
                               "updated_at": t + timedelta(hours=2, seconds=3)}],
    }


def expected(records: dict[str, list[dict[str, Any]]], force: str, suppressed_below: int | None
             ) -> dict[str, Any]:
    """The document the measures give for these records, put straight into a store of its
    own (no broker): what the service must answer."""
    store = Store(None)
    for name, values in records.items():
        _, _, _, row_of = rows.TABLES[name]
        store.write(name, [row_of(v) for v in values], {})
    start, end = datetime(2025, 7, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    as_of = datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
    document = report.build(store.history(force), start=start, end=end, as_of=as_of,
                            costs=unit_costs(ROOT / "deploy" / "insights" / "unit_costs.toml"))
    if suppressed_below:
        document = report.suppress(document, suppressed_below)
    return json.loads(json.dumps(document, default=str))


def figures(document: dict[str, Any]) -> dict[str, Any]:
    return {"mi": document["mi"], "outcomes": document["outcomes"]}


async def fetch(http: aiohttp.ClientSession, url: str, headers: dict[str, str]
                ) -> tuple[int, Any, bytes]:
    async with http.get(url, headers=headers) as answer:
        body = await answer.read()
        try:
            return answer.status, json.loads(body), body
        except ValueError:
            return answer.status, None, body


async def until_figures(http, url, headers, want, within: float = 120.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        status, document, _ = await fetch(http, url, headers)
        if status == 200 and figures(document) == figures(want):
            return document
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"figures not reached: {status} {str(document)[:500]}")
        await asyncio.sleep(1.0)


async def test_insights_from_the_topics(settings, codec, start_service, token, tmp_path):
    run = uuid.uuid4().hex[:6]
    force = f"Wiltshire {run}"  # a force name of this run's own: the broker is shared
    made = renamed(demo_history.history(11, END, people=120, force=force, months=36), run)
    records = {**made}
    for name, values in extras(made, run).items():
        records[name] = records.get(name, []) + values
    for name, values in records.items():
        await testing.produce_many(settings, codec, topics.spec(name), values)
    store_file = tmp_path / "insights.duckdb"
    insights = start_service("insights", IOM_INSIGHTS_STORE_FILE=str(store_file),
                             IOM_INSIGHTS_SYNTHETIC="true", IOM_INSIGHTS_REFRESH_S="1")
    base = f"http://127.0.0.1:{insights.port}"
    head = token("POLICE", force, username="head of IOM")
    url = f"{base}/insights/report.json?{RANGE}"
    want = expected(records, force, None)
    assert want["mi"]["cohort"]["size"] > 20 and want["mi"]["hits"]["ruled_in"] == 1
    assert any(q["complete"] for q in want["outcomes"]["reoffending"]["quarters"])
    assert want["mi"]["reviews"]["reviews_late"] > 0 and want["mi"]["plan_actions"]
    async with aiohttp.ClientSession() as http:
        first = await until_figures(http, url, head, want)
        assert first["scope"]["force"] == force and first["synthetic"] is True
        assert first["scope"]["suppressed_below"] is None  # the force's own officer

        # Every table as CSV and Parquet, parsed back to the same rows.
        tables = report.tables(first)
        for name, table in tables.items():
            status, _, body = await fetch(http, f"{base}/insights/tables/{name}.csv?{RANGE}",
                                          head)
            assert status == 200, name
            parsed = list(csv.reader(io.StringIO(body.decode())))
            assert parsed[0] == table.columns and len(parsed) == len(table.rows) + 1, name
            status, _, body = await fetch(
                http, f"{base}/insights/tables/{name}.parquet?{RANGE}", head)
            path = tmp_path / f"{name}.parquet"
            path.write_bytes(body)
            back = duckdb.sql(f"SELECT * FROM '{path}'").fetchall()
            assert len(back) == len(table.rows), name
        status, _, _ = await fetch(http, f"{base}/insights/tables/nothing.csv", head)
        assert status == 404
        status, bad, _ = await fetch(http, f"{base}/insights/report.json?from=yesterday",
                                     head)
        assert status == 400 and "from" in bad["error"]

        # Who may see what: nobody without a token, not a partner, not another force's
        # officer; the central team sees this force with small counts suppressed.
        status, _, _ = await fetch(http, url, {})
        assert status == 401
        status, _, _ = await fetch(http, url, token("PARTNER_HOUSING", force,
                                                    agency="Housing"))
        assert status == 403
        status, _, _ = await fetch(http, f"{url}&force={force}", token("POLICE", "Kent"))
        assert status == 403
        status, _, _ = await fetch(http, url, token("POLICE", "Kent"))  # its own: empty
        assert status == 200
        central = token("CENTRAL", "*", username="hub")
        hidden = await until_figures(http, f"{url}&force={force}", central,
                                     expected(records, force, 5))
        assert hidden["scope"]["suppressed_below"] == 5
        assert hidden["mi"]["hits"]["found"] is None  # one hit: identifies its person

        # The page: charts with their tables, the tables as the API gives them, nothing
        # loaded from elsewhere, downloads that parse.
        async with chromium() as browser:
            page, elsewhere = await signed_in_page(browser, base, head, accept_downloads=True)
            await page.goto(f"{base}/insights?{RANGE}")
            assert "Synthetic data" in await page.inner_text("#synthetic")
            for chart in ("cohort", "caseload", "reoffending", "calibration", "survival"):
                assert await page.locator(f"svg#chart-{chart}").count() == 1, chart
            assert await page.locator("svg#chart-calibration circle.point").count() >= 1
            for name, table in tables.items():
                cells = await page.eval_on_selector_all(
                    f"#table-{name} tbody tr", "rows => rows.map(r => [...r.cells].map("
                    "c => JSON.parse(c.dataset.value)))")
                assert cells == [list(json.loads(json.dumps(row, default=str)))
                                 for row in table.rows], name
            assert "not randomised" in (await page.inner_text("#caveat")).lower()
            async with page.expect_download() as download:
                await page.click("#reoffending .downloads a:text('CSV')")
            saved = await (await download.value).path()
            text = await asyncio.to_thread(Path(saved).read_text)
            parsed = list(csv.reader(io.StringIO(text)))
            assert parsed[0][:3] == ["cohort", "quarter", "complete"]
            await page.goto(f"{base}/insights/pack?month=2026-05&as_of=2026-06-30")
            assert "IOM monthly pack" in await page.inner_text("h1")
            await page.goto(f"{base}/insights?{RANGE}")
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTEFACTS / "insights.png"), full_page=True)
            await page.set_viewport_size({"width": 1280, "height": 1500})
            await page.screenshot(path=str(ARTEFACTS / "insights-top.png"))  # the README's
            assert elsewhere == []

    # The headline figures for ops, by force, without a person id; small groups left out.
    async with aiohttp.ClientSession() as http:
        gauges = ""
        for _ in range(30):
            _, _, body = await fetch(http, f"{base}/metrics", {})
            gauges = body.decode()
            if f'force="{force}"' in gauges:
                break
            await asyncio.sleep(1.0)
    cohort = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in gauges.splitlines()
              if line.startswith("iom_insights_cohort_people{") and f'"{force}"' in line}
    assert cohort and sum(cohort.values()) <= want["mi"]["cohort"]["size"]
    assert min(cohort.values()) >= 5
    assert "SYN-" not in gauges

    # Each answer was a consultation in the audit trail, by the token's user.
    async with testing.Reader(settings, codec, topics.AUDIT.name) as audit:
        await audit.wait_for(lambda seen: any(
            r.value["actor"] == "head of IOM" and r.value["action"] == "CONSULT"
            and r.value["details"].get("force") == force for r in seen))

    # The store lost: rebuilt from the topics, the same answers.
    insights.stop()
    store_file.unlink()
    shutil.rmtree(tmp_path / "state", ignore_errors=True)
    again = start_service("insights", IOM_INSIGHTS_STORE_FILE=str(store_file))
    async with aiohttp.ClientSession() as http:
        rebuilt = await until_figures(
            http, f"http://127.0.0.1:{again.port}/insights/report.json?{RANGE}", head, want)
    assert figures(rebuilt) == figures(first)
