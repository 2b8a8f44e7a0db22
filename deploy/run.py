"""`make run`: a real broker, the contract's topics, the four services as separate
processes, a small demo data set, and what came out. Ctrl-C stops everything it started.

    python deploy/run.py                  run until Ctrl-C
    python deploy/run.py --exit-after-demo  stop after printing the demo's results
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iomkit import kafka, testing  # noqa: E402 - after the path is set
from iomkit.cli import produce_records, validate_lines  # noqa: E402
from iomkit.codec import Codec, SchemaRegistry  # noqa: E402
from iomkit.jsonconv import to_json  # noqa: E402
from iomkit.processes import SERVICES, Broker, ServiceProcess  # noqa: E402
from iomkit.settings import load  # noqa: E402
from iomkit.topics import ALL, GPS_HITS, RISK_GRADES, spec  # noqa: E402

DEMO = ROOT / "deploy" / "demo"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def publish_demo(settings, codec: Codec) -> set[str]:  # type: ignore[no-untyped-def]
    people: set[str] = set()
    files = {path.stem: path.read_bytes().splitlines() for path in sorted(DEMO.glob("*.jsonl"))}
    for name, values in demo_trail(datetime.now(UTC)).items():
        files[name] = [orjson.dumps(v) for v in values]
    for name, lines in files.items():
        topic = spec(name)
        records, problems = validate_lines(codec, topic, lines)
        if problems:
            raise SystemExit(f"demo data for {name} is invalid: {problems}")
        await produce_records(settings, topic.name, records, topic.record or "")
        say(f"published {len(records):>3} {topic.record} records to {topic.name}")
        if topic.name == "iom.people":
            people = {key.decode() for key, _ in records if key}
    return people


def demo_trail(now: datetime) -> dict[str, list[dict[str, object]]]:
    """A tag fitted yesterday, half an hour of its trail, and a burglary on that trail:
    relative to now, so the demo stays inside the 30-day retention whenever it runs."""
    start = now.replace(microsecond=0) - timedelta(hours=2)
    pings = [{"device_id": "TAG-0002", "recorded_at": (start + timedelta(minutes=i)).isoformat(),
              "lat": round(50.9040 + 0.0003 * i, 6), "lon": round(-1.4100 + 0.0002 * i, 6),
              "accuracy_m": 8.0 + i % 5} for i in range(30)]
    at = start + timedelta(minutes=12)
    return {
        "iom.tag.enrolments": [{
            "enrolment_id": "ENR-0002", "device_id": "TAG-0002", "person_id": "P-1002",
            "status": "FITTED", "effective_at": (now - timedelta(days=1)).isoformat(),
            "monitoring_ends_at": None}],
        "iom.tag.pings": pings,
        "iom.crimes.reported": [{
            "crime_ref": "44/DEMO/26", "version": 1, "offence": "BURGLARY_DWELLING",
            "lat": 50.90765, "lon": -1.40765, "location_accuracy_m": 10.0,
            "committed_from": (at - timedelta(minutes=10)).isoformat(),
            "committed_to": (at + timedelta(minutes=10)).isoformat(),
            "reported_at": now.isoformat(), "force": "Hampshire",
            "type_description": "Burglary in a dwelling", "batch_id": "DEMO",
            "crime_text": "Rear window forced"}],
    }


async def show_hits(settings, codec: Codec, within: float) -> None:  # type: ignore[no-untyped-def]
    async with testing.Reader(settings, codec, GPS_HITS.name) as hits:
        await hits.wait_for(lambda seen: any(r.value and r.value["crime_ref"] == "44/DEMO/26"
                                             for r in seen), within)
    say("\ncrime hits published by gps_stream (iom.gps.hits):")
    for received in hits.seen:
        if received.value and received.value["crime_ref"] == "44/DEMO/26":
            hit = received.value
            say(f"  hit {hit['hit_id']} rev {hit['revision']} {hit['status']}: "
                f"{hit['person_id']} {hit['distance_m']:.0f} m from {hit['crime_ref']} "
                f"({len(hit['fixes'])} evidence fixes)")


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
        # The demo's webhook secrets (services/notifications/subscriptions.toml names them);
        # a deployment sets its own.
        for name in ("HAMPSHIRE_POLICE", "SOUTHAMPTON_PDU", "SOUTHAMPTON_HOUSING"):
            env.setdefault(f"IOM_NOTIFY_SECRET_{name}", f"demo-only-secret-{name.lower()}")
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
        asyncio.run(show_hits(settings, codec, args.timeout))
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
