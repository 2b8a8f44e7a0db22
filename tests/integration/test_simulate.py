"""`iom simulate` on the real broker with gps_stream running: the hits gps_stream finds on the
simulated trails are the simulator's ground truth, all of it and nothing else (late bursts,
multipath and unusable fixes, a tag removed and refitted included).

The world is placed five days back: every simulated world has the same people and tags
around Southampton, and the `make run` test's (earlier, on the same broker) covers the last
hours; crimes only meet the fixes of their own window."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from iomkit import testing, topics
from iomkit.metrics import sample_sum
from iomkit.settings import ROOT
from iomkit.simulation import active_hits

PATHS = ("fix_to_hit", "crime_to_hit", "enrolment_to_hit")

pytestmark = pytest.mark.integration
SEED = 20261207


async def test_simulated_hits_are_the_ground_truth(settings, codec, start_service, tmp_path):
    gps = start_service("gps_stream")
    truth_file = tmp_path / "truth.json"
    start = (testing.now() - timedelta(days=5)).replace(microsecond=0).isoformat()
    env = {**os.environ, "IOM_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "IOM_KAFKA_CLIENT_CONFIG": str(settings.kafka_client_config)}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "iomkit.cli", "simulate", "--seed", str(SEED),
                         "--people", "6", "--hours", "3", "--crimes-per-day", "240",
                         "--on-trail-share", "0.3", "--start", start,
                         "--truth", str(truth_file)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "published" in done.stdout and "iom.tag.pings" in done.stdout
    truth = json.loads(truth_file.read_text())
    expected = {(ref, person) for ref, people in truth["truth"].items() for person in people}
    assert len(expected) >= 3 and truth["summary"]["crimes"] >= 25
    ours = f"SIM/{SEED}/"

    async with testing.Reader(settings, codec, topics.GPS_HITS.name) as hits:
        try:
            await hits.wait_for(lambda seen: active_hits(seen, ours) == expected, within=120)
        except (TimeoutError, AssertionError):
            found = active_hits(hits.seen, ours)
            raise AssertionError(f"missing {sorted(expected - found)}, "
                                 f"not in the truth {sorted(found - expected)}") from None
        await asyncio.sleep(3)  # and nothing more comes
        await hits.poll()
    assert active_hits(hits.seen, ours) == expected

    # Every hit was measured end to end from the fix or crime that made it: since it arrived
    # on the bus (seconds here) and since its event time (this world is five days back).
    page = await testing.metrics_page(gps.port)
    measured = [testing.latency(page, "gps_stream", path) for path in PATHS]
    assert sum(m.count for m in measured) >= len(expected)  # a publication per hit at least
    # what it holds: this world's fixes (on disk too) and live crimes
    assert sample_sum([page], "iom_store_entries", service="gps_stream",
                      store="matcher_fixes") > 0
    assert sample_sum([page], "iom_store_entries", service="gps_stream",
                      store="matcher_crimes") >= truth["summary"]["crimes"]
    assert sample_sum([page], "iom_store_bytes", service="gps_stream") > 0
    days = timedelta(days=4).total_seconds()
    for m in measured:
        assert m.event_count == m.count
        assert not m.count or m.since_event_s > days > m.since_arrival_s
