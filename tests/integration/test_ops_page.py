"""The ops page in Debian's Chromium, with Debian's Prometheus really scraping a worker: its
figures are what the worker's own /metrics says, it refreshes itself, and a worker that is
not running shows as down with its alert. Nothing is loaded from anywhere else."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from iomkit import testing, topics
from iomkit.jsonconv import from_json
from iomkit.metrics import sample_sum
from iomkit.processes import free_port
from iomkit.prometheus import Prometheus
from iomkit.settings import ROOT
from tests.browser import ARTEFACTS, chromium, signed_in_page

pytestmark = pytest.mark.integration
# figure key on the page -> the metric its figure sums over the worker's /metrics
SUMMED = {"records_in": "iom_records_in_total", "records_out": "iom_records_out_total",
          "dead_letters": "iom_dead_letters_total", "store_bytes": "iom_store_bytes"}


def cohort_change(codec, n: int) -> dict:
    raw = json.loads((ROOT / "schemas/examples/CohortChange.json").read_text())
    raw.update(person_id=f"P-ops-{uuid.uuid4().hex[:6]}-{n}")
    return from_json(codec.registry.current("CohortChange").raw, raw)


async def test_the_ops_page_shows_what_the_workers_metrics_say(
    settings, codec, start_service, token, tmp_path
):
    if not Prometheus.available():
        raise RuntimeError("/usr/bin/prometheus is missing: `make prometheus` installs it")
    prometheus_port = free_port()
    insights = start_service("insights",
                             IOM_PROMETHEUS_URL=f"http://127.0.0.1:{prometheus_port}")
    # gps_stream's worker is configured but not running: down, as a stopped one would be
    prometheus = Prometheus(tmp_path / "prometheus", prometheus_port,
                            {"insights": insights.port, "gps_stream": free_port()},
                            interval_s=1)
    await asyncio.to_thread(prometheus.start)
    # records it reads in its group, and one it cannot: a dead letter
    await testing.produce(settings, codec, topics.COHORT_CHANGES,
                          [cohort_change(codec, n) for n in range(3)])
    await testing.produce_raw(settings, topics.COHORT_CHANGES.name, [(b"P-ops", b"not avro")])
    base = f"http://127.0.0.1:{insights.port}"
    ops = token("OPERATIONS", "*", username="ops on shift")
    try:
        async with chromium() as browser:
            page, elsewhere = await signed_in_page(browser, base, ops)
            await page.goto(f"{base}/ops")
            assert "How the system is doing" in await page.inner_text("h1")
            first_asked = await page.get_attribute("body", "data-asked")

            async def shown(key: str) -> float | None:
                value = await page.get_attribute(f'[data-figure="{key}"]', "data-value")
                return json.loads(value) if value is not None else None

            # The page's figures equal the worker's own /metrics once both are still (the
            # page asks Prometheus every 5 s, Prometheus scrapes every second).
            mismatch: dict[str, tuple[float | None, float]] = {}
            for _ in range(90):
                before = await testing.metrics_page(insights.port)
                figures = {key: await shown(f"insights.{key}") for key in SUMMED}
                after = await testing.metrics_page(insights.port)
                want = {key: sample_sum([after], name, service="insights")
                        for key, name in SUMMED.items()}
                still = all(sample_sum([before], name, service="insights") == want[key]
                            for key, name in SUMMED.items())
                mismatch = {key: (figures[key], want[key]) for key in SUMMED
                            if figures[key] != want[key]}
                if still and not mismatch:
                    break
                await asyncio.sleep(1.0)
            assert mismatch == {}, mismatch
            assert want["records_in"] >= 4 and want["dead_letters"] >= 1 and want["store_bytes"] > 0
            assert await page.get_attribute("body", "data-asked") != first_asked  # live

            assert await shown("insights.workers_up") == 1
            assert await shown("gps_stream.workers_up") == 0
            down = page.locator('#alerts li[data-alert="ServiceDown"][data-service="gps_stream"]')
            await down.wait_for(timeout=30_000)  # pending at once, firing after a minute
            assert await down.get_attribute("data-state") in ("pending", "firing")
            assert not await page.locator(
                '#alerts li[data-alert="ServiceDown"][data-service="insights"]').count()
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTEFACTS / "ops.png"), full_page=True)
            assert elsewhere == []
    finally:
        await asyncio.to_thread(prometheus.stop)
