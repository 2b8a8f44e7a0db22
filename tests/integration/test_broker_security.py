"""The broker as an outsider, a service and an agency meet it: no credentials, no
connection; a principal gets exactly its grant (the broker says no to anything else, and
the tests read its answer); nobody but the operator reads iom.audit; Kafka's console
consumer and kcat work with the files `iom credentials create` writes, unchanged; a
revoked principal is refused even on a connection it already has."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from iomkit import kafka, principals, testing
from iomkit.access import SERVICES, agency
from iomkit.clientconfig import ClientConfig
from iomkit.codec import Codec
from iomkit.jsonconv import from_json
from iomkit.processes import KAFKA_SH, Broker
from iomkit.settings import ROOT, Settings
from iomkit.topics import AUDIT, CRIMES_REPORTED, GPS_HITS, PEOPLE

pytestmark = pytest.mark.integration
KCAT = ROOT / "deploy" / "kcat"
TOPIC_AUTHORIZATION_FAILED = 29  # Kafka's error code


def as_principal(client_properties: Path) -> Settings:
    return Settings(kafka_client_config=client_properties)


async def onboard(operator: Settings, folder: Path, name: str, produce: list[str],
                  consume: list[str]) -> Settings:
    issued = await principals.create(operator, agency(name, produce, consume), folder / name)
    return as_principal(issued.client_properties)


def record(codec: Codec, name: str, **changes: object) -> bytes:
    """The schema's example, changed, as Avro: services read these topics while other
    tests run, and a record that does not decode would be a poison message to them."""
    raw = json.loads((ROOT / "schemas" / "examples" / f"{name}.json").read_text())
    raw.update(changes)
    return codec.encode(name, from_json(codec.registry.current(name).raw, raw))


async def put(operator: Settings, codec: Codec, name: str, topic: str, key: str) -> None:
    """One valid ``name`` record keyed ``key`` (its person, or device, is ``key``)."""
    field = "device_id" if name == "TagPing" else "person_id"
    await testing.produce_raw(operator, topic, [(key.encode(),
                                                 record(codec, name, **{field: key}))])


async def refused_reading(settings: Settings, topic: str) -> TopicAuthorizationFailedError:
    reader = kafka.consumer(settings, topic, group_id=None)
    with pytest.raises(TopicAuthorizationFailedError) as refused:
        try:
            await reader.start()
            await reader.getmany(timeout_ms=5000)
        finally:
            await kafka.stop_consumer(reader)
    return refused.value


async def refused_writing(settings: Settings, topic: str) -> TopicAuthorizationFailedError:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            await producer.send_and_wait(topic, b"forged", key=b"forged")
    finally:
        await producer.stop()
    return refused.value


# -- outsiders --------------------------------------------------------------------------------


async def test_a_client_without_credentials_cannot_connect(broker: Broker, settings: Settings):
    outsider = Settings(bootstrap_servers=broker.bootstrap)  # plaintext, no user
    assert outsider.kafka_client().security_protocol == "PLAINTEXT"
    reader = kafka.consumer(outsider, PEOPLE.name, group_id=None, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        try:
            await reader.start()
        finally:
            await kafka.stop_consumer(reader)


async def test_a_wrong_password_is_refused_by_the_broker(
    broker: Broker, settings: Settings, tmp_path: Path
):
    mine = settings.kafka_client()
    wrong = ClientConfig(mine.bootstrap_servers, "SASL_SSL", "admin", "not-the-password",
                         mine.ca_file)
    outsider = as_principal(wrong.write(tmp_path)[0])
    with pytest.raises(KafkaError) as refused:
        client = await kafka.admin(outsider)
        await client.close()
    assert "Authentication failed" in str(refused.value) or isinstance(
        refused.value, KafkaConnectionError)


# -- services ---------------------------------------------------------------------------------


async def test_a_service_is_refused_a_topic_outside_its_grant(
    settings: Settings, codec: Codec, service_credentials: Callable[[str], Path]
):
    risk = as_principal(service_credentials("risk"))
    # Its own output: allowed.
    producer = kafka.producer(risk)
    await producer.start()
    try:
        await producer.send_and_wait(
            "iom.risk.grades", record(codec, "RiskGrade", person_id="P-security-grant"),
            key=b"P-security-grant")
    finally:
        await producer.stop()
    # Writing what an agency writes, or reading what it does not consume: the broker says no.
    forged = await refused_writing(risk, PEOPLE.name)
    assert forged.errno == TOPIC_AUTHORIZATION_FAILED
    assert PEOPLE.name in str(forged)
    spying = await refused_reading(risk, "iom.tag.pings")
    assert spying.errno == TOPIC_AUTHORIZATION_FAILED
    assert "iom.tag.pings" in str(spying)


async def test_no_service_reads_the_audit_topic_but_every_one_writes_it(
    settings: Settings, codec: Codec, service_credentials: Callable[[str], Path]
):
    await put(settings, codec, "AuditRecord", AUDIT.name, "P-security-audit")
    for name in SERVICES:
        service = as_principal(service_credentials(name))
        refused = await refused_reading(service, AUDIT.name)
        assert refused.errno == TOPIC_AUTHORIZATION_FAILED, name
        producer = kafka.producer(service)
        await producer.start()
        try:
            appended = record(codec, "AuditRecord", person_id=f"P-security-{name}",
                              service=name, audit_id=f"A-security-{name}")
            await producer.send_and_wait(AUDIT.name, appended, key=name.encode())
        finally:
            await producer.stop()


# -- agencies through the iom command line ---------------------------------------------------


def iom(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iomkit.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, errors="replace", timeout=120)


def test_the_cli_with_an_agency_credentials_produces_only_its_topics(
    broker: Broker, settings: Settings, tmp_path: Path
):
    operator_env = {**broker.env(), "IOM_KAFKA_CLIENT_CONFIG": str(broker.operator_config)}
    made = iom(operator_env, "credentials", "create", "police-cli-test", "--produce",
               CRIMES_REPORTED.name, "--consume", GPS_HITS.name, "--out",
               str(tmp_path / "police"))
    assert made.returncode == 0, made.stderr
    assert "librdkafka" in made.stdout
    # The folder is all the agency needs: the CA is in it, and the files name that copy.
    issued = ClientConfig.read(tmp_path / "police" / "client.properties")
    assert issued.ca_file == (tmp_path / "police" / "ca.pem").resolve()
    police_env = {**broker.env(),
                  "IOM_KAFKA_CLIENT_CONFIG": str(tmp_path / "police" / "client.properties")}
    crime = json.loads((ROOT / "schemas/examples/CrimeReported.json").read_text())
    crime["crime_ref"] = "99/SECURITY/26"
    crimes = tmp_path / "crimes.jsonl"
    crimes.write_text(json.dumps(crime) + "\n")
    allowed = iom(police_env, "publish", CRIMES_REPORTED.name, str(crimes))
    assert allowed.returncode == 0, allowed.stderr
    assert "published 1 CrimeReported records" in allowed.stdout

    person = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    people = tmp_path / "people.jsonl"
    people.write_text(json.dumps(person) + "\n")
    forged = iom(police_env, "publish", PEOPLE.name, str(people))
    assert forged.returncode == 3, forged.stdout + forged.stderr
    assert "refused by the broker: TopicAuthorizationFailedError" in forged.stderr
    assert PEOPLE.name in forged.stderr
    # The contract itself stops a grant no agency may have, before the broker is asked.
    greedy = iom(operator_env, "credentials", "create", "police-greedy", "--consume",
                 AUDIT.name, "--out", str(tmp_path / "greedy"))
    assert greedy.returncode == 2 and "nobody but the operator reads it" in greedy.stderr


# -- Kafka's own console consumer and kcat, with the generated files, unchanged ----------------


def console_consumer(config: Path, bootstrap: str, topic: str, group: str
                     ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAFKA_SH), "console-consumer", "--bootstrap-server", bootstrap,
         "--consumer.config", str(config), "--topic", topic, "--group", group,
         "--from-beginning", "--max-messages", "1", "--timeout-ms", "30000",
         "--property", "print.key=true"],
        # Other tests' records are Avro: bytes that are not UTF-8.
        capture_output=True, text=True, errors="replace", timeout=180, env=os.environ.copy())


async def test_kafka_console_consumer_uses_client_properties_unchanged(
    broker: Broker, settings: Settings, codec: Codec, tmp_path: Path
):
    await put(settings, codec, "CrimeHit", GPS_HITS.name, "P-console")
    await put(settings, codec, "AuditRecord", AUDIT.name, "P-console-audit")
    await onboard(settings, tmp_path, "police-console", [], [GPS_HITS.name])
    config = tmp_path / "police-console" / "client.properties"
    # Its consumer groups are police-console-*: the grant gives it those and no others.
    allowed = await asyncio.to_thread(console_consumer, config, broker.bootstrap,
                                      GPS_HITS.name, "police-console-hits")
    assert "Processed a total of 1 messages" in allowed.stderr, allowed.stderr
    # key<TAB>value of the topic's first hit (the session's broker may hold others' first,
    # e.g. the make run test's simulated people)
    key, tab, value = allowed.stdout.partition("\t")
    assert key and tab and value, allowed.stdout
    refused = await asyncio.to_thread(console_consumer, config, broker.bootstrap,
                                      AUDIT.name, "police-console-audit")
    assert "TopicAuthorizationException" in refused.stderr, refused.stderr
    assert "Not authorized to access topics: [iom.audit]" in refused.stderr
    assert "P-console-audit" not in refused.stdout


def kcat(config: Path, topic: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KCAT), "-F", str(config), "-C", "-t", topic, "-o", "beginning",
                           "-e", "-f", "%k\n"],
                          capture_output=True, text=True, errors="replace", timeout=120)


async def test_kcat_uses_the_librdkafka_file_unchanged(
    broker: Broker, settings: Settings, codec: Codec, tmp_path: Path
):
    await put(settings, codec, "CrimeHit", GPS_HITS.name, "P-kcat")
    await put(settings, codec, "AuditRecord", AUDIT.name, "P-kcat-audit")
    await onboard(settings, tmp_path, "police-kcat", [], [GPS_HITS.name])
    config = tmp_path / "police-kcat" / "librdkafka.properties"
    allowed = await asyncio.to_thread(kcat, config, GPS_HITS.name)
    assert allowed.returncode == 0, allowed.stderr
    assert "P-kcat" in allowed.stdout.splitlines()
    refused = await asyncio.to_thread(kcat, config, AUDIT.name)
    assert refused.returncode != 0
    assert "Topic authorization failed" in refused.stderr, refused.stderr
    assert "P-kcat-audit" not in refused.stdout


# -- revocation -------------------------------------------------------------------------------


async def eventually_refused(attempt: Callable[[], object], within: float = 30.0
                             ) -> BaseException:
    """The broker applies an ACL change through its metadata log: the next request after
    it is refused. Returns the refusal."""
    deadline = time.monotonic() + within
    while True:
        try:
            await attempt()  # type: ignore[misc]
        except (TopicAuthorizationFailedError, KafkaConnectionError) as refused:
            return refused
        if time.monotonic() > deadline:
            raise AssertionError(f"still allowed {within}s after revocation")
        await asyncio.sleep(0.2)


async def test_revocation_takes_effect_for_a_running_client(
    broker: Broker, settings: Settings, codec: Codec, tmp_path: Path
):
    tag = await onboard(settings, tmp_path, "tag-revoked", ["iom.tag.pings"], [GPS_HITS.name])
    await put(settings, codec, "CrimeHit", GPS_HITS.name, "P-revoked-before")
    # A fix of a tag fitted to nobody: gps_stream keeps it on no one's trail.
    ping = record(codec, "TagPing", device_id="TAG-revoked")
    producer = kafka.producer(tag)
    reader = kafka.consumer(tag, GPS_HITS.name, group_id=None)
    await producer.start()
    await reader.start()
    try:
        await producer.send_and_wait("iom.tag.pings", ping, key=b"TAG-revoked")
        seen = await reader.getmany(timeout_ms=5000)
        assert seen, "the reader read nothing before revocation"

        removed, existed = await principals.revoke(settings, "tag-revoked")
        assert removed == len(agency("tag-revoked", ["iom.tag.pings"], [GPS_HITS.name]).acls())
        assert existed

        # The same, already authenticated connections: refused from the next request.
        async def send() -> None:
            await producer.send_and_wait("iom.tag.pings", ping, key=b"TAG-revoked")

        refused = await eventually_refused(send)
        assert isinstance(refused, TopicAuthorizationFailedError)
        await put(settings, codec, "CrimeHit", GPS_HITS.name, "P-revoked-after")

        async def fetch() -> None:
            await reader.getmany(timeout_ms=1000)

        refused = await eventually_refused(fetch)
        assert isinstance(refused, TopicAuthorizationFailedError)
    finally:
        await producer.stop()
        await kafka.stop_consumer(reader)
    # A new connection: the user is gone, so it does not even authenticate.
    with pytest.raises(KafkaError):
        client = await kafka.admin(tag)
        await client.close()


async def test_rotation_gives_a_new_password_and_keeps_running_clients_allowed(
    settings: Settings, codec: Codec, tmp_path: Path
):
    first = await onboard(settings, tmp_path / "1", "police-rotated", [],
                          [GPS_HITS.name])
    old = first.kafka_client()
    reader = kafka.consumer(first, GPS_HITS.name, group_id=None)
    await reader.start()
    try:
        rotated = await onboard(settings, tmp_path / "2", "police-rotated", [],
                                [GPS_HITS.name])
        assert rotated.kafka_client().password != old.password
        # The running client: same ACLs, still allowed.
        await put(settings, codec, "CrimeHit", GPS_HITS.name, "P-rotated")
        await reader.getmany(timeout_ms=2000)
    finally:
        await kafka.stop_consumer(reader)
    client = await kafka.admin(rotated)  # the new password logs in
    await client.close()
    with pytest.raises(KafkaError):  # the old one does not, on a new connection
        client = await kafka.admin(first)
        await client.close()
