"""A wrong rules file or setting stops the risk service at start, naming what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from iomkit.settings import ROOT

RULES = (ROOT / "services/risk/rules.toml").read_text()


def start_risk(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IOM_")}
    environment.update(env)
    environment["IOM_STORE_DIR"] = str(tmp_path / "state")
    return subprocess.run([sys.executable, "-m", "services.risk.app", "worker"], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=60)


def test_an_unknown_event_type_in_the_rules_stops_the_service_naming_the_line(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text(RULES.replace('events = ["RECALLED"]', 'events = ["RECALLED", "ABSCONDED"]'))
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "ABSCONDED" in text)

    run = start_risk(tmp_path, IOM_RISK_RULES_FILE=str(bad))

    assert run.returncode != 0
    assert f"{bad}:{line}" in run.stderr
    assert "unknown event type 'ABSCONDED'" in run.stderr


def test_malformed_toml_stops_the_service(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text(RULES + "\n[[rule]\nname = 'broken'\n")
    run = start_risk(tmp_path, IOM_RISK_RULES_FILE=str(bad))
    assert run.returncode != 0
    assert "malformed TOML" in run.stderr and "line" in run.stderr


def test_a_wrong_shared_setting_stops_the_service_naming_it(tmp_path):
    run = start_risk(tmp_path, IOM_PARTITIONS="many")
    assert run.returncode != 0
    assert "IOM_PARTITIONS" in run.stderr


def test_a_wrong_risk_setting_stops_the_service_naming_it(tmp_path):
    run = start_risk(tmp_path, IOM_RISK_REVIEW_INTERVAL_S="-5")
    assert run.returncode != 0
    assert "IOM_RISK_REVIEW_INTERVAL_S" in run.stderr
