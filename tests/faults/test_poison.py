"""Poison on every topic with all five services running, as an outside system could send it:
records that are not Avro, records with an unknown fingerprint and valid records with NaN in
their numbers. Every service stays healthy, every poison record on a topic a service consumes
lands in iom.dead-letters with its reason, and a scenario published afterwards gets its hit,
its grade, its webhook and its place in the insights figures."""

from __future__ import annotations

import asyncio
import json
import math
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from iomkit import testing, topics
from iomkit.jsonconv import from_json
from iomkit.processes import Broker, all_healthy, free_port
from iomkit.settings import ROOT, Settings
from services.gps_stream.hitrule import hit_id
from services.notifications.receiver import Receiver
from tests.conftest import credentials_on, operator_of, running_broker
from tests.integration.test_gps_hits import crime, ping
from tests.integration.test_notifications_delivery import fast_retries

pytestmark = pytest.mark.integration


# A broker of this module's own: the poison stays here, out of every other test's topics.
@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    yield from running_broker(tmp_path_factory.mktemp("poisoned"))


@pytest.fixture(scope="module")
def settings(broker: Broker) -> Settings:
    return operator_of(broker)


@pytest.fixture(scope="module")
def service_credentials(broker: Broker, settings: Settings) -> Callable[[str], Path]:
    return credentials_on(broker)


SECRET = "faults-police-secret-0123456789"
# Topics a service consumes in a group (so it dead-letters what it cannot read). Of the
# others, iom.notifications is only followed (skipped and counted there), iom.audit is read
# by no service, and poison on iom.dead-letters would be a letter about nothing.
CONSUMED = [t for t in topics.ALL
            if t not in (topics.NOTIFICATIONS, topics.AUDIT, topics.DEAD_LETTERS)]


def example(codec: Any, name: str, **fields: Any) -> dict[str, Any]:
    raw = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return {**from_json(codec.registry.current(name).raw, raw), **fields}


def with_nan(codec: Any, record: str) -> bytes:
    """The record's example with NaN in every double it has; a TagPing with NaN (a record of
    another type, twice poison) for records that carry no double."""
    schema = codec.registry.current(record).raw
    doubles = [f["name"] for f in schema["fields"]
               if "double" in (f["type"] if isinstance(f["type"], list) else [f["type"]])]
    if not doubles:
        return codec.encode("TagPing", example(codec, "TagPing", lat=math.nan))
    return codec.encode(record, example(codec, record, **dict.fromkeys(doubles, math.nan)))


def poison_for(codec: Any, spec: topics.TopicSpec, run: str) -> list[tuple[bytes, bytes]]:
    valid = codec.encode(spec.record, example(codec, spec.record))
    return [
        (f"POISON-{run}-a".encode(), b"\x00 not avro at all"),
        (f"POISON-{run}-b".encode(), valid[:2] + b"\x5a" * 8 + valid[10:]),
        (f"POISON-{run}-c".encode(), with_nan(codec, spec.record)),
    ]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def insights_figures(port: int, force: str, authorization: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/insights/report.json?force={urllib.parse.quote(force)}",
        headers=authorization)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


async def test_poison_on_every_topic_stops_nothing(settings, codec, start_service, tmp_path,
                                                   token):
    run = uuid.uuid4().hex[:8]
    force = f"Faultshire {run}"
    police_port = free_port()
    (tmp_path / "subscriptions.toml").write_text(
        f'[[recipient]]\nname = "police"\nrole = "POLICE"\nkinds = ["HIT"]\n'
        f'forces = ["{force}"]\nurl = "http://127.0.0.1:{police_port}/hooks/throughcare"\n'
        f'secret_env = "FAULTS_SECRET_POLICE"\nagreement = "test ISA"\n')
    receiver = Receiver(SECRET, police_port)
    await receiver.start()
    services = {
        "referrals": start_service("referrals", healthy=False),
        "risk": start_service("risk", healthy=False),
        "gps_stream": start_service("gps_stream", healthy=False),
        "notifications": start_service(
            "notifications", healthy=False, FAULTS_SECRET_POLICE=SECRET,
            **fast_retries(tmp_path / "subscriptions.toml", force, 5)),
        "insights": start_service("insights", healthy=False),
    }
    all_healthy(services.values())
    try:
        async with testing.Reader(settings, codec, topics.DEAD_LETTERS.name) as dead:
            sent: set[tuple[str, int]] = set()  # (topic, key suffix) of every poison record
            for spec in CONSUMED:
                await testing.produce_raw(settings, spec.name, poison_for(codec, spec, run))
                sent |= {(spec.name, n) for n in range(3)}

            def letters(seen: list[Any]) -> set[tuple[str, int]]:
                return {(r.headers.get("iom-dlq-topic"), "abc".index(r.key.decode()[-1]))
                        for r in seen
                        if r.key and r.key.decode().startswith(f"POISON-{run}-")}

            await dead.wait_for(lambda seen: sent <= letters(seen), within=90)
            reasons = [r.headers["iom-dlq-reason"] for r in dead.seen
                       if r.key and r.key.decode().startswith(f"POISON-{run}-")]
        assert all(reasons), "every dead letter says why"
        assert any("not a finite number" in reason for reason in reasons)

        for name, service in services.items():
            assert service.alive(), f"{name} stopped"
            assert healthy(service.port), f"{name} is not healthy"

        # After the poison, a scenario: a person, a tag, a trail and a crime on it.
        person, tag = f"P-faults-{run}", f"TAG-faults-{run}"
        start = testing.now().replace(microsecond=0) - timedelta(hours=3)
        ref = f"44/F{run}/26"
        await testing.produce(settings, codec, topics.PEOPLE,
                              [example(codec, "Person", person_id=person, force=force)])
        await testing.produce(settings, codec, topics.TAG_ENROLMENTS, [{
            "enrolment_id": f"E-{run}", "device_id": tag, "person_id": person,
            "status": "FITTED", "effective_at": start - timedelta(days=1),
            "monitoring_ends_at": None}])
        await testing.produce(settings, codec, topics.TAG_PINGS,
                              [ping(tag, start + timedelta(minutes=m), 30) for m in (0, 10)])
        await testing.produce(settings, codec, topics.CRIMES_REPORTED, [crime(ref, 1, start)])

        async with (testing.Reader(settings, codec, topics.GPS_HITS.name) as hits,
                    testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades):
            await hits.wait_for(lambda seen: any(
                r.value and r.value["hit_id"] == hit_id(ref, person) for r in seen), within=60)
            await grades.wait_for(lambda seen: any(
                r.value and r.value["person_id"] == person for r in seen), within=60)
        for _ in range(120):
            if any(person in json.dumps(d.body) for d in receiver.deliveries):
                break
            await asyncio.sleep(0.5)
        assert any(person in json.dumps(d.body) for d in receiver.deliveries)
        # insights read past the poison (its readers skip and count what the groups above
        # dead-letter) and counts the scenario's hit for the force
        head = token("POLICE", force)
        for _ in range(60):
            found = await asyncio.to_thread(insights_figures, services["insights"].port,
                                            force, head)
            if found["mi"]["hits"]["found"] == 1:
                break
            await asyncio.sleep(0.5)
        assert found["mi"]["hits"]["found"] == 1
        metrics = await testing.metrics_page(services["insights"].port)
        skipped = [line for line in metrics.splitlines() if line.startswith(
            'iom_records_skipped_total{service="insights"')]
        assert skipped and sum(float(line.rsplit(" ", 1)[1]) for line in skipped) >= 3
    finally:
        await receiver.stop()
