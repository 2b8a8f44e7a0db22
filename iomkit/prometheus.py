"""Prometheus for `make run`: Debian's package (``make prometheus``), a configuration that
scrapes every service worker and loads the alert rules of ``deploy/prometheus/``, run as a
child process with its own data folder."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iomkit.processes import die_with_parent, stop_groups
from iomkit.settings import ROOT

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")  # its rule checker, from the same package
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"


def config(targets: dict[str, int], rules: Path = RULES, interval_s: int = 5) -> str:
    """Scrape each service worker (``targets``: service -> port) as job "throughcare" with
    a ``service`` label; evaluate the alert rules as often."""
    jobs = [{"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}}
            for name, port in targets.items()]
    document = {
        "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": f"{interval_s}s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "throughcare", "static_configs": jobs}],
    }
    return json.dumps(document, indent=2)  # YAML is a superset of JSON


def query(base: str, expression: str) -> list[dict[str, Any]]:
    """An instant query's vector, from a script or a test (the ops page asks with
    ``instant``, asynchronously)."""
    url = f"{base}/api/v1/query?query={urllib.request.quote(expression)}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return list(json.loads(answer.read())["data"]["result"])


@dataclass
class Prometheus:
    folder: Path
    port: int
    targets: dict[str, int]
    interval_s: int = 5  # scrape and rule evaluation
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def available() -> bool:
        return PROMETHEUS.exists()

    def start(self, within: float = 30.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "prometheus.yml"
        conf.write_text(config(self.targets, interval_s=self.interval_s))
        log = (self.folder / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={conf}",
             f"--storage.tsdb.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--storage.tsdb.retention.time=2d"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: see {self.folder / 'prometheus.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"prometheus not ready: see {self.folder / 'prometheus.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_groups([self.process.pid], within=10.0)
            self.process.wait()


class Unavailable(Exception):
    """Prometheus did not answer, or answered with an error (said in the message)."""


async def ask(http: Any, base: str, path: str, **params: str) -> Any:
    """One call of Prometheus's HTTP API (``http``: an aiohttp session): its ``data``."""
    import aiohttp

    try:
        async with http.get(f"{base}{path}", params=params,
                            timeout=aiohttp.ClientTimeout(total=10)) as answer:
            body = await answer.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise Unavailable(f"{base}: {type(exc).__name__}: {exc}"[:300]) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else "not JSON"
        raise Unavailable(f"{base}{path}: {error}"[:300])
    return body["data"]


async def instant(http: Any, base: str, expression: str) -> list[dict[str, Any]]:
    """An instant query's vector: [{"metric": {...}, "value": [t, "v"]}, ...]."""
    data = await ask(http, base, "/api/v1/query", query=expression)
    return list(data.get("result") or [])


async def alerts(http: Any, base: str) -> list[dict[str, Any]]:
    """The alerts pending or firing now."""
    data = await ask(http, base, "/api/v1/alerts")
    return list(data.get("alerts") or [])
