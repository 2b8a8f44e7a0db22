"""A throwaway Kafka broker for a benchmark run (secured, with a plaintext listener to
measure what TLS costs), service principals, and fresh topics on it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from iomkit import kafka, principals
from iomkit.access import Grant, grant_of
from iomkit.brokersetup import BrokerFiles
from iomkit.processes import free_port
from iomkit.settings import ROOT, Settings, load
from iomkit.topics import TopicSpec

KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now, each different (iomkit.processes.free_port)."""
    return [free_port() for _ in range(count)]


@dataclass(frozen=True)
class BenchBroker:
    """The benchmark's broker: SASL_SSL as everywhere (``settings`` is the operator's),
    and a plaintext listener beside it, only to measure what TLS costs."""

    settings: Settings
    plaintext: Settings | None
    clients: Path  # where service principals' client files go

    async def service_env(self, name: str) -> dict[str, str]:
        """The environment a service worker of the benchmark runs with: its own principal."""
        issued = await principals.create(self.settings, grant_of(name), self.clients / name)
        return {"IOM_BOOTSTRAP_SERVERS": self.settings.kafka_client().bootstrap_servers,
                "IOM_KAFKA_CLIENT_CONFIG": str(issued.client_properties)}


@contextmanager
def own_broker() -> Iterator[BenchBroker]:
    """Start a broker with kafka.sh on free ports in a temporary folder; yield it; always
    stop it and remove the folder."""
    folder = Path(tempfile.mkdtemp(prefix="iom-bench-"))
    port, controller_port, plaintext_port = free_ports(3)
    data = folder / "kafka"
    env = {
        **os.environ,
        "IOM_KAFKA_PORT": str(port),
        "IOM_KAFKA_CONTROLLER_PORT": str(controller_port),
        "IOM_KAFKA_PLAINTEXT_PORT": str(plaintext_port),
        "IOM_KAFKA_DATA_DIR": str(data),
    }
    try:
        # kafka.sh reports on stderr; keep our stdout for the results.
        subprocess.run([str(KAFKA_SH), "start"], env=env, check=True, stdout=sys.stderr)
        files = BrokerFiles(data)
        yield BenchBroker(
            Settings(bootstrap_servers=f"127.0.0.1:{port}",
                     kafka_client_config=files.operator_config),
            Settings(bootstrap_servers=f"127.0.0.1:{plaintext_port}"),
            files.clients,
        )
    finally:
        subprocess.run([str(KAFKA_SH), "stop"], env=env, check=False, stdout=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)


def running_broker(bootstrap: str) -> BenchBroker:
    """A broker somebody else runs: the operator's client file from IOM_KAFKA_CLIENT_CONFIG
    (no plaintext figure: its listeners are not ours to know)."""
    settings = load().model_copy(update={"bootstrap_servers": bootstrap})
    clients = Path(tempfile.mkdtemp(prefix="iom-bench-clients-"))
    return BenchBroker(settings, None, clients)


# Plaintext has no principal (User:ANONYMOUS): on the benchmark's own broker it may use
# these topics and groups and nothing else, for the TLS comparison only.
PLAINTEXT_TOPICS = "bench.plaintext."
PLAINTEXT_GROUPS = "bench-plaintext-"


async def allow_plaintext(settings: Settings) -> None:
    grant = Grant("ANONYMOUS", "benchmark", (), (), own_prefixes=(PLAINTEXT_TOPICS,),
                  group_prefixes=(PLAINTEXT_GROUPS,))
    client = await kafka.admin(settings)
    try:
        await principals.set_acls(client, grant)
    finally:
        await client.close()


async def fresh_topics(settings: Settings, specs: Iterable[TopicSpec]) -> None:
    """Create the topics empty: any left from an earlier run are deleted first."""
    specs = list(specs)
    names = {s.name for s in specs}
    client = await kafka.admin(settings)
    try:
        stale = sorted(names & set(await client.list_topics()))
        if stale:
            await client.delete_topics(stale)
            for _ in range(120):
                if not names & set(await client.list_topics()):
                    break
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError(f"topics {stale} were not deleted within 60 s")
    finally:
        await client.close()
    await kafka.create_topics(settings, specs)
