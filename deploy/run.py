"""`make run`: a real broker, the contract's topics, the four services as separate
processes, a small demo data set, and what came out. Ctrl-C stops everything it started.

    python deploy/run.py                  run until Ctrl-C
    python deploy/run.py --exit-after-demo  stop after printing the demo's results
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iomkit import kafka, testing  # noqa: E402 - after the path is set
from iomkit.cli import produce_records, validate_lines  # noqa: E402
from iomkit.codec import Codec, SchemaRegistry  # noqa: E402
from iomkit.jsonconv import to_json  # noqa: E402
from iomkit.processes import SERVICES, Broker, ServiceProcess  # noqa: E402
from iomkit.settings import load  # noqa: E402
from iomkit.topics import ALL, RISK_GRADES, spec  # noqa: E402

DEMO = ROOT / "deploy" / "demo"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def publish_demo(settings, codec: Codec) -> set[str]:  # type: ignore[no-untyped-def]
    people: set[str] = set()
    for path in sorted(DEMO.glob("*.jsonl")):
        topic = spec(path.stem)
        records, problems = validate_lines(codec, topic, path.read_bytes().splitlines())
        if problems:
            raise SystemExit(f"demo file {path} is invalid: {problems}")
        await produce_records(settings, topic.name, records, topic.record or "")
        say(f"published {len(records):>3} {topic.record} records to {topic.name}")
        if topic.name == "iom.people":
            people = {key.decode() for key, _ in records if key}
    return people


async def show_grades(settings, codec: Codec, people: set[str], within: float) -> int:  # type: ignore[no-untyped-def]
    async with testing.Reader(settings, codec, RISK_GRADES.name) as grades:
        await grades.wait_for(
            lambda seen: people <= {r.value["person_id"] for r in seen if r.value}, within
        )
    say("\nrisk grades published by the risk service (iom.risk.grades):")
    for received in grades.seen:
        if received.value and received.value["person_id"] in people:
            say("  " + to_json(received.value).decode())
    return len(grades.seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exit-after-demo", action="store_true")
    parser.add_argument("--keep-broker", action="store_true",
                        help="leave the broker running when done")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()

    settings = load()
    logs = settings.store_dir.parent / "logs"
    port = int(settings.bootstrap_servers.rsplit(":", 1)[1].split(",")[0])
    import os

    data_dir = Path(os.environ.get("IOM_KAFKA_DATA_DIR", ROOT / ".cache" / "kafka" /
                                   f"data-{port}"))
    broker = Broker(port=port, data_dir=data_dir)
    services: list[ServiceProcess] = []
    try:
        say(f"starting Kafka (KRaft) on {broker.bootstrap} ...")
        broker.start()
        for state in asyncio.run(kafka.create_topics(settings, ALL)):
            if state.created:
                say(f"created topic {state.name} ({state.partitions} partitions)")
        env = broker.env()
        env["PYTHONUNBUFFERED"] = "1"
        for name in SERVICES:
            service = ServiceProcess(name, env, logs / f"{name}.log", settings.port_of(name))
            service.start()
            services.append(service)
        for service in services:
            service.wait_healthy()
            say(f"service {service.name:<14} up: http://127.0.0.1:{service.port}/metrics "
                f"(log {service.log_file})")
        codec = Codec(SchemaRegistry(settings.schemas_dir))
        people = asyncio.run(publish_demo(settings, codec))
        asyncio.run(show_grades(settings, codec, people, args.timeout))
        say("\nnotifications received them:")
        for line in (logs / "notifications.log").read_text().splitlines():
            if "grade.received" in line:
                say("  " + line.split("] ", 3)[-1])
        if args.exit_after_demo:
            return 0
        say("\nrunning; Ctrl-C stops the services and the broker")
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(1.0):
            for service in services:
                if not service.alive():
                    say(f"service {service.name} stopped unexpectedly: see {service.log_file}")
                    return 1
        return 0
    finally:
        say("stopping ...")
        for service in services:
            service.stop()
        if not args.keep_broker:
            broker.stop()


if __name__ == "__main__":
    sys.exit(main())
