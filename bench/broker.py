"""A throwaway Kafka broker for a benchmark run, and fresh topics on it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from iomkit import kafka
from iomkit.settings import ROOT, Settings
from iomkit.topics import TopicSpec

KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (all held open together so they differ)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@contextmanager
def own_broker() -> Iterator[str]:
    """Start a broker with kafka.sh on free ports in a temporary folder; yield its
    bootstrap address; always stop it and remove the folder."""
    folder = Path(tempfile.mkdtemp(prefix="iom-bench-"))
    port, controller_port = free_ports(2)
    env = {
        **os.environ,
        "IOM_KAFKA_PORT": str(port),
        "IOM_KAFKA_CONTROLLER_PORT": str(controller_port),
        "IOM_KAFKA_DATA_DIR": str(folder / "kafka"),
    }
    try:
        # kafka.sh reports on stderr; keep our stdout for the results.
        subprocess.run([str(KAFKA_SH), "start"], env=env, check=True, stdout=sys.stderr)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(KAFKA_SH), "stop"], env=env, check=False, stdout=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)


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
