"""Start and stop the broker and the services as separate processes: used by `make run`,
the test fixtures and the benchmarks alike."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iomkit.brokersetup import BrokerFiles
from iomkit.settings import ROOT, Settings

KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
SERVICES = ("referrals", "risk", "gps_stream", "notifications", "insights")


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """In a child before exec: SIGTERM when the parent dies, however it dies (SIGKILL
    too), so no worker outlives the process that started it. Linux only; elsewhere a no-op
    (the reaper still stops it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (dead, not yet reaped by its parent) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc: a zombie cannot be told apart
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_groups(groups: list[int], within: float = 10.0) -> list[int]:
    """SIGTERM every process group at once, SIGKILL those still running after ``within``
    seconds; the groups that had to be killed."""
    for group in groups:
        try:
            os.killpg(group, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(alive(g) for g in groups):
        time.sleep(0.1)
    killed = [g for g in groups if alive(g)]
    for group in killed:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    return killed


def holder_of(port: int) -> str | None:
    """Who listens on 127.0.0.1/0.0.0.0 ``port``: "pid N (command line)", "another
    process" when it cannot be told, None when the port is free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return None
        except OSError:
            pass
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").glob("[0-9]*"):
        if wanted & _links(proc / "fd"):
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace").strip()
            return f"pid {proc.name} ({command[:160]})"
    return "another process"


def _links(folder: Path) -> set[str]:
    found = set()
    try:
        fds = list(folder.iterdir())
    except OSError:
        return found
    for fd in fds:
        try:
            found.add(os.readlink(fd))
        except OSError:  # closed meanwhile
            pass
    return found


@dataclass
class Ledger:
    """What ``make run`` started, in a file its reaper reads if it dies before stopping
    them (``iomkit.reaper``): the process groups, and the broker's environment when the
    broker is to be stopped with it."""

    path: Path

    def read(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.path.read_text()))
        except (OSError, ValueError):
            return None

    def _write(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(entry))
        temporary.replace(self.path)  # the reaper never reads half a file

    def add_group(self, group: int) -> None:
        entry = self.read() or {}
        entry["groups"] = [*entry.get("groups", []), group]
        self._write(entry)

    def add_broker(self, env: dict[str, str]) -> None:
        entry = self.read() or {}
        entry["broker"] = {k: v for k, v in env.items() if k.startswith("IOM_")}
        self._write(entry)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


# Listening ports for tests, benchmarks and the demo's receivers: below Linux's ephemeral
# range (32768-60999), from which every outgoing connection takes its source port; a port
# picked there with bind(0) was taken by a worker's connection to the broker before the
# service meant to listen on it started ("address already in use", once in CI).
_PORTS = (20000, 32000)
_handed_out: set[int] = set()  # never the same port twice from one process
_random = random.Random()


def free_port() -> int:
    """A port nothing listens on now, outside the ephemeral range, not handed out before
    by this process."""
    for _ in range(1000):
        port = _random.randrange(*_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {_PORTS[0]}-{_PORTS[1]}")


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

    def running(self) -> bool:
        """Whether kafka.sh has this broker running already (its pid file names a live
        process): then ``start`` finds it, and whoever started it stops it."""
        try:
            return alive(int((self.data_dir / "broker.pid").read_text().strip()))
        except (OSError, ValueError):
            return False

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
                start_new_session=True, preexec_fn=die_with_parent,
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
        stop_groups([self.process.pid], within=timeout)
        self.process.wait()  # reaped

    def kill(self) -> None:
        """SIGKILL: a crash, for restart tests."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def all_healthy(services: Iterable[ServiceProcess], within: float = 120.0) -> None:
    """Wait for workers started side by side (each ``start``ed, none waited for yet)."""
    for service in services:
        service.wait_healthy(within)
