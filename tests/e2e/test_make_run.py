"""The `make run` flow, as a newcomer sees it: broker, topics, four services as separate
processes, the demo published, a RiskGrade out of the risk service, a hit out of gps_stream
and what the demo's police and housing endpoints received from notifications."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from iomkit.processes import free_port
from iomkit.settings import ROOT

pytestmark = pytest.mark.e2e


def test_make_run_flow_publishes_a_grade_for_every_demo_person(broker, settings, tmp_path):
    env = broker.env()
    env.update({
        "IOM_STORE_DIR": str(tmp_path / "state"),
        "IOM_REFERRALS_PORT": str(free_port()),
        "IOM_RISK_PORT": str(free_port()),
        "IOM_GPS_STREAM_PORT": str(free_port()),
        "IOM_NOTIFICATIONS_PORT": str(free_port()),
        "IOM_INSIGHTS_PORT": str(free_port()),
        "IOM_FRONTDOOR_PORT": str(free_port()),
    })
    # The demo's recipients on free ports: a `make run` (or another test) elsewhere on this
    # machine may hold 6070-6072.
    demo = (ROOT / "services" / "notifications" / "subscriptions.toml").read_text()
    for port in (6070, 6071, 6072):
        demo = demo.replace(f"127.0.0.1:{port}/", f"127.0.0.1:{free_port()}/")
    env["IOM_NOTIFY_SUBSCRIPTIONS_FILE"] = str(tmp_path / "subscriptions.toml")
    (tmp_path / "subscriptions.toml").write_text(demo)
    run = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "run.py"), "--exit-after-demo", "--keep-broker"],
        env=env, capture_output=True, text=True, timeout=240, cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("referrals", "risk", "gps_stream", "notifications", "insights"):
        assert f"service {name}" in run.stdout
    grades = {}
    for line in run.stdout.splitlines():
        if line.startswith('  {"person_id"'):
            grade = json.loads(line)
            grades[grade["person_id"]] = grade
    assert set(grades) == {"P-1001", "P-1002", "P-1003", "P-1004"}
    # P-1001 is risk-model.md's worked example woman, graded today (age band 50+).
    assert grades["P-1001"]["static_band"] == "LOW"
    assert grades["P-1001"]["rag"] == "GREEN"
    assert grades["P-1002"]["static_band"] == "HIGH"
    assert grades["P-1002"]["rag"] == "RED"
    assert grades["P-1004"]["static_score"] is None
    assert grades["P-1004"]["reasons"][0].startswith("static score unavailable:")
    assert all(g["revision"] == 1 and g["changed"] for g in grades.values())
    # notifications consumed them and logged without the person id
    received = [line for line in run.stdout.splitlines() if "grade.received" in line]
    assert len(received) >= 4
    assert not any("P-100" in line for line in received)
    # insights read the synthetic history: its page, and its head of IOM's headline figures
    [page] = [line for line in run.stdout.splitlines() if line.startswith("insights page:")]
    assert page.endswith("marked synthetic") and int(page.split()[2]) >= 5, page
    [headline] = [line for line in run.stdout.splitlines() if line.startswith("insights for")]
    words = headline.split()
    assert int(words[4]) > 0 and "predicted by OGRS3" in headline, headline
    assert int(headline.rsplit("(", 1)[1].split()[0]) > 0, headline  # complete cohorts
    # gps_stream found the demo burglary on P-1002's trail.
    hits = [line for line in run.stdout.splitlines() if line.startswith("  hit ")]
    assert hits and "ACTIVE: P-1002" in hits[-1] and "44/DEMO/26" in hits[-1]
    # notifications told the demo's police endpoint (which checked the signature) ...
    hit_id = hits[-1].split()[1]
    police = [line for line in run.stdout.splitlines() if "police received:" in line]
    assert police == [f"  police received: hit {hit_id} revision 1 for P-1002 "
                      "(signature verified)"], run.stdout
    # ... and housing only what its agreement allows: nothing that says where anyone was.
    housing = [line for line in run.stdout.splitlines() if "housing received:" in line]
    assert len(housing) == 1 and housing[0].endswith("nothing location-bearing"), run.stdout
    assert "refused" not in run.stdout
    # the sign-in page, and a throwaway demo account per role, marked as such
    assert any(line.startswith("sign in: https://127.0.0.1:") and "/auth/signin" in line
               for line in run.stdout.splitlines())  # through the front door
    demo = [line for line in run.stdout.splitlines() if "DEMO ONLY: user demo-" in line]
    assert {line.split("(")[1].split(":")[0] for line in demo} == {
        "POLICE", "PROBATION", "CENTRAL", "PARTNER_HOUSING", "POLICE_UPLOAD"}
    assert "stopping" in run.stdout
