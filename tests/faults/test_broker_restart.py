"""The broker stopped mid-stream and started again (a broker restart, a network cut): the
risk worker grading a backlog carries on, or if it left because a delivery failed (exit 70,
by design rather than commit past it) a new one takes over, and every person ends with
exactly the grades an uninterrupted run gave the same inputs: none lost, none different,
none published twice with other content."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from iomkit import kafka, testing, topics
from iomkit.codec import Codec
from iomkit.processes import Broker, ServiceProcess, free_port
from tests.faults.test_risk_kill import grades_by_person, inputs, total

pytestmark = pytest.mark.integration
PEOPLE = 1000


async def test_a_broker_restart_mid_stream_loses_and_changes_no_grade(
        codec: Codec, tmp_path: Path) -> None:
    broker = Broker(port=free_port(), data_dir=tmp_path / "kafka", controller_port=free_port())
    broker.start()
    settings = broker.operator_settings()
    await kafka.create_topics(settings, topics.OPERATOR_TOPICS)
    credentials = await asyncio.to_thread(broker.service_credentials, "risk")
    env = {**broker.env(), "IOM_STORE_DIR": str(tmp_path / "state"),
           "IOM_KAFKA_CLIENT_CONFIG": str(credentials), "PYTHONUNBUFFERED": "1",
           "IOM_SESSION_TIMEOUT_S": "6"}
    workers = [ServiceProcess("risk", env, tmp_path / "risk-0.log", free_port())]
    workers[0].start()
    try:
        await asyncio.to_thread(workers[0].wait_healthy, 120)
        async with testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades:
            people, events = inputs(codec, "BC", PEOPLE)
            await testing.produce_many(settings, codec, topics.PEOPLE, people)
            await testing.produce_many(settings, codec, topics.OFFENDER_EVENTS, events)
            await grades.wait_for(lambda seen: len(grades_by_person(seen, "BC")) == PEOPLE,
                                  within=120)
            await grades.settle(3.0)
            expected = grades_by_person(grades.seen, "BC")

            people, events = inputs(codec, "BF", PEOPLE)
            await testing.produce_many(settings, codec, topics.PEOPLE, people)
            await testing.produce_many(settings, codec, topics.OFFENDER_EVENTS, events)
            await grades.wait_for(lambda seen: total(grades_by_person(seen, "BF")) > 0,
                                  within=60)
            broker.stop()  # mid-stream: the worker is grading the backlog
            before = total(grades_by_person(grades.seen, "BF"))
            await asyncio.sleep(5.0)
            broker.start()

            async def orchestrator() -> None:
                """The worker reconnects, or (a delivery failed) it left: start another."""
                while True:
                    if not workers[-1].alive():
                        n = len(workers)
                        workers.append(ServiceProcess("risk", env, tmp_path / f"risk-{n}.log",
                                                      free_port()))
                        workers[-1].start()
                    await asyncio.sleep(0.5)

            restarting = asyncio.create_task(orchestrator())
            try:
                await grades.wait_for(
                    lambda seen: total(grades_by_person(seen, "BF")) >= total(expected),
                    within=180)
                await grades.settle(3.0)
            finally:
                restarting.cancel()
        assert before < total(expected), "the broker should have gone mid-stream"
        found = grades_by_person(grades.seen, "BF")
        different = {i: (dict(found[i]), dict(expected[i])) for i in expected
                     if found.get(i) != expected[i]}
        assert not different, f"{len(different)} people graded otherwise, e.g. " \
                              f"{next(iter(different.items()))}"
    finally:
        for worker in workers:
            worker.stop(timeout=10)
        broker.stop()
