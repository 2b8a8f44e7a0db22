"""Session fixtures: a real Kafka broker (KRaft) started by deploy/kafka/kafka.sh on its own
ports and data folder, secured as in production (SASL_SSL, SCRAM users, ACLs), the
contract's topics on it, and service workers as subprocesses, each its own principal.
Tests themselves act as the operator (``settings``): they play every agency at once.
Unit tests never touch these, so they stay fast."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from iomkit import kafka, testing
from iomkit.codec import Codec, SchemaRegistry
from iomkit.identity import keys, tokens
from iomkit.identity.principal import Principal
from iomkit.processes import Broker, ServiceProcess, free_port, stop_groups
from iomkit.prometheus import PROMTOOL
from iomkit.settings import ROOT, Settings
from iomkit.topics import OPERATOR_TOPICS


def running_broker(data: Path) -> Iterator[Broker]:
    """A broker of its own (ports, data folder), stopped after."""
    broker = Broker(port=free_port(), data_dir=data, controller_port=free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def operator_of(broker: Broker) -> Settings:
    """The operator's settings (super user), with every topic the operator makes."""
    settings = broker.operator_settings()
    asyncio.run(kafka.create_topics(settings, OPERATOR_TOPICS, alter=True))
    return settings


def credentials_on(broker: Broker) -> Callable[[str], Path]:
    """A service's own client.properties (its principal and exactly its ACLs), made once."""
    made: dict[str, Path] = {}

    def credentials(name: str) -> Path:
        if name not in made:
            made[name] = broker.service_credentials(name)
        return made[name]

    return credentials


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """A failed test's workers (see start_service): their warnings and last lines in the
    report, where CI shows them (CI keeps only pytest's output, and a worker's log says why
    it stopped)."""
    report = yield
    workers: list[ServiceProcess] = getattr(item, "workers", [])
    if report.when == "call" and report.failed and workers:
        report.sections.append(("worker logs", worker_logs(workers)))
    return report


def worker_logs(started: list[ServiceProcess], lines: int = 30) -> str:
    shown = []
    for service in started:
        text = service.log_file.read_text(errors="replace").splitlines() \
            if service.log_file.exists() else []
        warnings = [line for line in text
                    if any(mark in line for mark in ("[WARNING]", "[ERROR]", "Traceback"))]
        shown += [f"--- {service.log_file.name}: {len(text)} lines, {len(warnings)} warnings "
                  "or errors, the last of them:", *warnings[-lines:], "--- its last lines:",
                  *text[-lines:]]
    return "\n".join(shown)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    yield from running_broker(tmp_path_factory.mktemp("kafka"))


@pytest.fixture(scope="session")
def settings(broker: Broker) -> Settings:
    """The operator's settings (super user): creates topics, plays the agencies."""
    return operator_of(broker)


@pytest.fixture(scope="session")
def service_credentials(broker: Broker, settings: Settings) -> Callable[[str], Path]:
    return credentials_on(broker)


@pytest.fixture(scope="session")
def codec() -> Codec:
    return Codec(SchemaRegistry(ROOT / "schemas"))


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the iom command line (run in-process) at the test broker, as the operator."""
    monkeypatch.setenv("IOM_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("IOM_KAFKA_CLIENT_CONFIG", str(settings.kafka_client_config))
    return settings


@pytest.fixture(scope="session")
def identity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The signing keys and public key set every service started by a test verifies
    tokens with (IOM_IDENTITY_DIR)."""
    folder = tmp_path_factory.mktemp("identity")
    keys.ensure(folder)
    return folder


@pytest.fixture(scope="session")
def token(identity_dir: Path) -> Callable[..., dict[str, str]]:
    """``token(role, *forces, username=..., agency=...)``: the Authorization header of a
    signed-in user, made by the same library and keys as the sign-in page would."""
    key = keys.ensure(identity_dir)

    def make(role: str = "POLICE", *forces: str, username: str = "",
             agency: str = "", ttl_s: float = 3600, at: datetime | None = None
             ) -> dict[str, str]:
        # Issued on the services' clock (IOM_CLOCK_OFFSET_S), or at ``at`` for a service
        # whose clock a test has set to another moment.
        principal = Principal(username or f"test-{role.lower()}", forces or ("Hampshire",),
                              role, agency)
        issued, _ = tokens.issue(key, principal, at or testing.now(), ttl_s)
        return {"Authorization": f"Bearer {issued}"}

    return make


@pytest.fixture(autouse=True)
async def workers_read_from_now(request: pytest.FixtureRequest) -> None:
    """A test that starts workers gets workers that read only what is produced from its
    start (autouse: set up before the test's other fixtures produce anything)."""
    if "start_service" in request.fixturenames:
        await testing.start_groups_at_the_end(request.getfixturevalue("settings"))


@pytest.fixture
def start_service(
    broker: Broker, settings: Settings, tmp_path: Path, identity_dir: Path,
    service_credentials: Callable[[str], Path], request: pytest.FixtureRequest,
) -> Iterator[Callable[..., ServiceProcess]]:
    """Start service workers as subprocesses against the test broker, each as its own
    principal (exactly the ACLs iomkit.access gives it); stopped after."""
    started: list[ServiceProcess] = []
    request.node.workers = started  # for the report of a failed test

    def start(name: str, *, healthy: bool = True, **env: str) -> ServiceProcess:
        """A worker of ``name``; ``healthy=False`` returns at once (start several, then
        ``wait_healthy`` each: they start side by side)."""
        proc_env = broker.env()
        proc_env.update({
            "IOM_STORE_DIR": str(tmp_path / "state" / f"{name}-{len(started)}"),
            "IOM_LAG_INTERVAL_S": "1",
            "IOM_IDENTITY_DIR": str(identity_dir),
            "PYTHONUNBUFFERED": "1",
            "IOM_KAFKA_CLIENT_CONFIG": str(service_credentials(name)),
        })
        proc_env.update(env)
        service = ServiceProcess(
            name, proc_env, tmp_path / "logs" / f"{name}-{len(started)}.log", free_port()
        )
        service.start()
        started.append(service)
        if healthy:
            service.wait_healthy()
        return service

    yield start
    # All at once (one after another, a test of five services took 16 s to stop).
    stop_groups([s.process.pid for s in started if s.process is not None and s.alive()],
                within=20.0)
    for service in started:
        service.stop()  # reaps it


@pytest.fixture(scope="session")
def promtool() -> Path:
    """Prometheus's own rule checker and tester (Debian's prometheus package)."""
    if not PROMTOOL.exists():
        raise RuntimeError(f"{PROMTOOL} is missing: `make prometheus` installs Debian's "
                           "prometheus, which has it")
    return PROMTOOL
