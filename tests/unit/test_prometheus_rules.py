"""The alert rules: valid for Prometheus, right by their own tests in promtool's format
(deploy/prometheus/alerts_test.yml), each pointing at a section of the runbook that
exists; and make run's scrape configuration names every service."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from iomkit.prometheus import RULES, config
from iomkit.settings import ROOT

RUNBOOK = ROOT / "docs" / "runbook.md"


def run(promtool: Path, *args: str) -> str:
    done = subprocess.run([str(promtool), *args], cwd=RULES.parent, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_are_valid(promtool):
    assert "SUCCESS: 7 rules found" in run(promtool, "check", "rules", RULES.name)


def test_the_rules_pass_their_own_tests(promtool):
    assert "SUCCESS" in run(promtool, "test", "rules", "alerts_test.yml")


def slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")


def test_every_alert_has_a_runbook_section_and_a_test():
    anchors = {slug(line.lstrip("#")) for line in RUNBOOK.read_text().splitlines()
               if line.startswith("#")}
    rules = RULES.read_text()
    links = re.findall(r"runbook: docs/runbook\.md#([a-z0-9-]+)", rules)
    alerts = re.findall(r"- alert: (\w+)", rules)
    assert len(links) == len(alerts) == 7
    assert set(links) <= anchors, set(links) - anchors
    tested = set(re.findall(r"alertname: (\w+)", (RULES.parent / "alerts_test.yml")
                            .read_text()))
    assert tested == set(alerts)


def test_make_runs_configuration_scrapes_every_service():
    document = json.loads(config({"risk": 6062, "insights": 6065}))
    [job] = document["scrape_configs"]
    assert job["job_name"] == "throughcare"  # the rules' up{job="throughcare"}
    assert [(c["targets"], c["labels"]) for c in job["static_configs"]] == [
        (["127.0.0.1:6062"], {"service": "risk"}), (["127.0.0.1:6065"], {"service": "insights"})]
    assert document["rule_files"] == [str(RULES)]
