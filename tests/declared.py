"""Each service's own topics as its worker declares them before it starts (Service.declare:
agents' JSON topics, tables' changelogs, views, peers), with the configuration the code
gives them: the services' apps imported in a process of their own (each makes its Faust app
and its metrics). For the retention schedule's tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from iomkit.settings import ROOT

SERVICES = ("referrals", "risk", "gps_stream", "notifications", "insights")
_DUMP = """
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    app = importlib.import_module(f"services.{name}.app")
    out.update({spec.name: spec.config() for spec in app.service._internal})
print(json.dumps(out))
"""


def service_topics(folder: Path) -> dict[str, dict[str, str]]:
    """topic -> its configuration (TopicSpec.config()), of every service's own topics."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IOM_STORE_DIR": str(folder),
           "IOM_IDENTITY_DIR": str(folder / "identity")}
    subscriptions = (ROOT / "services/notifications/subscriptions.toml").read_text()
    for secret in re.findall(r'secret_env = "(\w+)"', subscriptions):
        env[secret] = "test-only-secret-0123456789"
    run = subprocess.run([sys.executable, "-c", _DUMP, *SERVICES], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"importing the services failed: {run.stderr[-2000:]}")
    found: dict[str, dict[str, str]] = json.loads(run.stdout.strip().splitlines()[-1])
    return found
