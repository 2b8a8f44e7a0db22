"""Start and stop the broker and the services as separate processes: used by `make run`,
the test fixtures and the benchmarks alike."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from iomkit.brokersetup import BrokerFiles
from iomkit.settings import ROOT, Settings

KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
SERVICES = ("referrals", "risk", "gps_stream", "notifications", "insights")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    """A real Kafka broker started (or found running) by deploy/kafka/kafka.sh: SASL_SSL
    on ``port``; plaintext on ``plaintext_port`` only when one is given (benchmarks)."""

    port: int
    data_dir: Path
    controller_port: int = 0
    plaintext_port: int = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def files(self) -> BrokerFiles:
        return BrokerFiles(self.data_dir)

    @property
    def operator_config(self) -> Path:
        """The operator's (super user's) client.properties, written by kafka.sh start."""
        return self.files.operator_config

    def operator_settings(self) -> Settings:
        return Settings(bootstrap_servers=self.bootstrap, kafka_client_config=self.operator_config)

    def env(self) -> dict[str, str]:
        """The environment for kafka.sh and, with a principal's IOM_KAFKA_CLIENT_CONFIG
        added, for a client of this broker (no principal is given here on purpose: each
        process says which one it is)."""
        env = dict(os.environ)
        env.pop("IOM_KAFKA_CLIENT_CONFIG", None)
        env.update({
            "IOM_KAFKA_PORT": str(self.port),
            "IOM_KAFKA_DATA_DIR": str(self.data_dir),
            "IOM_BOOTSTRAP_SERVERS": self.bootstrap,
        })
        if self.controller_port:
            env["IOM_KAFKA_CONTROLLER_PORT"] = str(self.controller_port)
        if self.plaintext_port:
            env["IOM_KAFKA_PLAINTEXT_PORT"] = str(self.plaintext_port)
        return env

    def service_credentials(self, name: str) -> Path:
        """The service's own principal (iomkit.access's grant), its client.properties
        under the data folder; made afresh (a new password) each call."""
        from iomkit import principals
        from iomkit.access import grant_of

        create = principals.create(
            self.operator_settings(), grant_of(name), self.files.clients / name)
        # In a thread of its own: callers may be inside a running event loop (async tests).
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, create).result().client_properties

    def start(self) -> None:
        subprocess.run([str(KAFKA_SH), "start"], env=self.env(), check=True)

    def stop(self) -> None:
        subprocess.run([str(KAFKA_SH), "stop"], env=self.env(), check=False)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"


@dataclass
class ServiceProcess:
    """One service worker: ``python -m services.NAME.app worker``, logging to a file."""

    name: str
    env: dict[str, str]
    log_file: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        env = dict(self.env)
        env[f"IOM_{self.name.upper()}_PORT"] = str(self.port)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}.app", "worker", "-l", "info",
                 "--web-port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/health"
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def wait_healthy(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: "
                                   f"see {self.log_file}")
            if self.healthy():
                return
            time.sleep(0.25)
        raise TimeoutError(f"{self.name} not healthy within {within}s: see {self.log_file}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: a crash, for restart tests."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
