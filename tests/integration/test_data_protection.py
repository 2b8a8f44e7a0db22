"""Subject access and the audit store on the real broker (issue 15, parts 4 and 5), the
command line run in-process as the operator: a canary planted in one person's records on
several topics (and in a dead letter and a service's internal JSON topic) is in their export
with every one of those records, another person's are not; the export is itself audited,
and the audit store answers who saw the person and what the exporter did."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iomkit import kafka, testing
from iomkit.audit import audit_record
from iomkit.cli import app, produce_records
from iomkit.codec import Codec
from iomkit.deadletters import dead_letter_headers
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT, Settings
from iomkit.topics import TopicSpec

pytestmark = pytest.mark.integration
runner = CliRunner()
INTERNAL = TopicSpec("throughcare-referrals-sartest-changelog", "key", None, compacted=True)


def example(record: str) -> dict:
    return json.loads((ROOT / "schemas" / "examples" / f"{record}.json").read_text())


def planted(codec: Codec, person: str, canary: str, device: str) -> dict[str, list[dict]]:
    """One person's records on several topics, the canary in each that has free text."""
    def of(record: str, **fields: object) -> dict:
        return from_json(codec.registry.current(record).raw, {**example(record), **fields})

    return {
        "iom.people": [of("Person", person_id=person)],
        "iom.offender.events": [of("OffenderEvent", person_id=person, event_id=f"E-{canary}",
                                   details={"custody_ref": canary})],
        "iom.referrals": [of("Referral", person_id=person, referral_id=f"R-{canary}",
                             reason=f"referred: {canary}")],
        "iom.tag.enrolments": [of("TagEnrolment", person_id=person, device_id=device,
                                  enrolment_id=f"ENR-{canary}",
                                  effective_at="2024-02-28T10:00:00Z")],
        "iom.tag.pings": [of("TagPing", device_id=device, recorded_at="2024-02-29T12:00:00Z")],
        "iom.audit": [audit_record(
            service="referrals", actor="pc-plant", action="VIEW", purpose=f"panel {canary}",
            at=datetime(2024, 2, 29, 9, tzinfo=UTC), details={"people": f"P-x,{person}"})],
    }


RECORDS = {"iom.people": "Person", "iom.offender.events": "OffenderEvent",
           "iom.referrals": "Referral", "iom.tag.enrolments": "TagEnrolment",
           "iom.tag.pings": "TagPing", "iom.audit": "AuditRecord"}


async def publish(settings: Settings, codec: Codec, records: dict[str, list[dict]],
                  person: str, canary: str) -> None:
    from iomkit.topics import key_of, spec

    for topic, values in records.items():
        await produce_records(settings, topic, [
            (key_of(spec(topic), v), codec.encode(RECORDS[topic], v)) for v in values],
            RECORDS[topic])
    await kafka.create_topics(settings, [INTERNAL])
    producer = kafka.producer(settings)
    await producer.start()
    try:
        # a service's changelog entry (JSON), and a dead letter of a Person of theirs
        await producer.send_and_wait(INTERNAL.name, json.dumps(
            {"value": {"person_id": person, "note": canary}}).encode(), key=b"k-" + canary.encode())
        await producer.send_and_wait(
            "iom.dead-letters", codec.encode("Person", records["iom.people"][0]),
            key=person.encode(), headers=dead_letter_headers(
                "iom.people", 0, 0, "referrals", "test", testing.now()))
    finally:
        await producer.stop()


def test_subject_access_exports_the_persons_records_and_is_audited(
        cli_env: Settings, codec: Codec, tmp_path: Path):
    run = uuid.uuid4().hex[:8]
    person, other = f"P-SAR-{run}", f"P-SAR-{run}-other"
    canary, other_canary = f"CANARY{run}", f"OTHERCANARY{run}"
    asyncio.run(publish(cli_env, codec, planted(codec, person, canary, f"TAG-{run}"),
                        person, canary))
    asyncio.run(publish(cli_env, codec, planted(codec, other, other_canary, f"TAG-{run}-o"),
                        other, other_canary))

    out = tmp_path / "export"
    made = runner.invoke(app, ["subject-access", person, "--out", str(out), "--as", "dpo-test",
                               "--reference", f"SAR-{run}"])
    assert made.exit_code == 0, made.output
    data = (out / f"subject-access-{person}.json").read_text()
    page = (out / f"subject-access-{person}.html").read_text()
    document = json.loads(data)
    held = {topic: len(records) for topic, records in document["held_in"].items()}
    assert held == {"iom.people": 1, "iom.offender.events": 1, "iom.referrals": 1,
                    "iom.tag.enrolments": 1, "iom.tag.pings": 1, "iom.audit": 1,
                    "iom.dead-letters": 1, INTERNAL.name: 1}
    for text in (data, page):
        assert canary in text and person in text
        assert other_canary not in text and other not in text
    assert data.count(canary) >= 5  # the event, the referral, the audit, ids, the changelog
    assert "<script" not in page
    assert (out / f"subject-access-{person}.json").stat().st_mode & 0o077 == 0

    # the audit store: who saw the person (the list that named them, the export), and what
    # the exporter did; asked twice, the store loads only what is new
    store = tmp_path / "audit.duckdb"
    since = "2024-02-28"
    asked = runner.invoke(app, ["audit", "who-saw", person, "--since", since, "--json",
                                "--store", str(store), "--as", "dpo-test"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    assert [(e["actor"], e["kind"]) for e in answer["entries"]] == [
        ("pc-plant", "CONSULTATION"), ("dpo-test", "DISCLOSURE")]
    assert answer["entries"][1]["recipient"] == "the data subject"
    did = runner.invoke(app, ["audit", "what-did", "dpo-test", "--since",
                              (testing.now() - timedelta(days=1)).date().isoformat(),
                              "--store", str(store), "--as", "dpo-test"])
    assert did.exit_code == 0, did.output
    # the export, and the question just asked (a consultation of the trail about them)
    assert "DISCLOSURE" in did.stdout and "CONSULTATION" in did.stdout
    assert "audit trail: who saw a person" in did.stdout
    assert "new" in did.stderr and "dead-lettered" in did.stderr
