"""The broker is not always there: a worker started before it waits (and says so on /health),
works once it comes, and still stops on SIGTERM when the broker has gone again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from iomkit import kafka, testing, topics
from iomkit.codec import Codec
from iomkit.jsonconv import from_json
from iomkit.processes import Broker, ServiceProcess, free_port
from iomkit.settings import ROOT

pytestmark = pytest.mark.integration


def health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())
    except OSError:
        return 0, {}


async def test_a_worker_waits_for_the_broker_and_stops_when_it_is_gone(
    codec: Codec, tmp_path: Path
) -> None:
    broker = Broker(port=free_port(), data_dir=tmp_path / "kafka", controller_port=free_port())
    # The worker's principal exists before it starts (the operator made it), then the broker
    # goes down: the worker starts into an outage, as after a power cut.
    broker.start()
    settings = broker.operator_settings()
    await kafka.create_topics(settings, topics.OPERATOR_TOPICS)
    credentials = await asyncio.to_thread(broker.service_credentials, "risk")
    broker.stop()
    env = {**broker.env(), "IOM_STORE_DIR": str(tmp_path / "state"),
           "IOM_KAFKA_CLIENT_CONFIG": str(credentials),
           "IOM_SHUTDOWN_GRACE_S": "3", "PYTHONUNBUFFERED": "1"}
    risk = ServiceProcess("risk", env, tmp_path / "risk.log", free_port())
    risk.start()
    try:
        for _ in range(120):  # no broker yet: the worker waits and says so
            status, said = health(risk.port)
            if status == 503 and said.get("attempt", 0) >= 2:
                break
            await asyncio.sleep(0.25)
        assert status == 503 and said["status"] == "waiting_for_broker", said
        assert risk.alive()

        broker.start()
        await asyncio.to_thread(risk.wait_healthy, 120)
        raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
        person = from_json(codec.registry.current("Person").raw, raw)
        await testing.produce(settings, codec, topics.PEOPLE, [person])
        async with testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades:
            await grades.wait_for(lambda seen: any(
                r.value and r.value["person_id"] == person["person_id"] for r in seen))

        broker.stop()  # the broker goes; an orchestrator now asks the worker to stop
        assert risk.process is not None
        os.killpg(risk.process.pid, signal.SIGTERM)
        try:
            code = await asyncio.to_thread(risk.process.wait, 15)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker ignored SIGTERM with its broker gone")
        assert code is not None
    finally:
        risk.stop(timeout=5)
        broker.stop()
