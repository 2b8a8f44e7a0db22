"""One bad record between good ones: the good ones are processed, the bad one lands in
iom.dead-letters with the contract's headers, and the consumer keeps running."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from typer.testing import CliRunner

from iomkit import testing, topics
from iomkit.cli import app as cli
from iomkit.jsonconv import from_json
from iomkit.metrics import sample_sum
from iomkit.settings import ROOT

pytestmark = pytest.mark.integration


def person(codec, person_id: str, **changes: object) -> dict[str, object]:
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    raw.update(person_id=person_id, **changes)
    return from_json(codec.registry.current("Person").raw, raw)


async def test_poison_records_go_to_dead_letters_and_good_ones_are_graded(
    settings, codec, start_service
):
    risk = start_service("risk")
    good_before = person(codec, "P-poison-1")
    good_after = person(codec, "P-poison-2")
    future_born = person(codec, "P-poison-3", date_of_birth="2999-01-01")
    valid = codec.encode("Person", good_before)
    unknown_fingerprint = valid[:2] + b"\x00" * 8 + valid[10:]
    poison = [
        (b"P-poison-x1", b"not avro at all"),
        (b"P-poison-x2", unknown_fingerprint),
        (b"P-poison-x3", valid[:14]),  # truncated body
        (b"P-poison-x4", codec.encode("TagPing", {
            "device_id": "TAG-1", "recorded_at": 0, "lat": 50.0, "lon": -1.0, "accuracy_m": 5.0,
        })),  # a record of the wrong kind on iom.people
    ]
    await testing.produce(settings, codec, topics.PEOPLE, [good_before])
    await testing.produce_raw(settings, topics.PEOPLE.name, poison)
    await testing.produce(settings, codec, topics.PEOPLE, [future_born, good_after])

    async with testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades:
        await grades.wait_for(lambda seen: {"P-poison-1", "P-poison-2"} <= {
            r.value["person_id"] for r in seen if r.value
        })
        graded = {r.value["person_id"] for r in grades.seen if r.value}
    assert "P-poison-3" not in graded  # its grade stands (none): it went to dead letters

    async with testing.Reader(settings, codec, topics.DEAD_LETTERS.name) as dlq:
        ours = await dlq.wait_for(
            lambda seen: len([r for r in seen if (r.key or b"").startswith(b"P-poison")]) >= 5
        )
    letters = {r.key: r for r in ours if (r.key or b"").startswith(b"P-poison")}
    assert set(letters) == {b"P-poison-x1", b"P-poison-x2", b"P-poison-x3", b"P-poison-x4",
                            b"P-poison-3"}
    for key, raw in poison:
        letter = letters[key]
        assert letter.raw == raw  # bytes unchanged
        assert letter.headers["iom-dlq-topic"] == "iom.people"
        assert letter.headers["iom-dlq-service"] == "risk"
        assert int(letter.headers["iom-dlq-partition"]) >= 0
        assert int(letter.headers["iom-dlq-offset"]) >= 0
        assert date.fromisoformat(letter.headers["iom-dlq-at"][:10])
    assert "not Avro single-object encoding" in letters[b"P-poison-x1"].headers["iom-dlq-reason"]
    assert "unknown schema fingerprint" in letters[b"P-poison-x2"].headers["iom-dlq-reason"]
    assert "does not decode" in letters[b"P-poison-x3"].headers["iom-dlq-reason"]
    assert "expected a Person record, got TagPing" in letters[b"P-poison-x4"].headers[
        "iom-dlq-reason"]
    reason = letters[b"P-poison-3"].headers["iom-dlq-reason"]
    assert "date_of_birth" in reason and "2999-01-01" in reason

    assert risk.alive() and risk.healthy()
    for _ in range(40):  # consumer lag is measured every second (IOM_LAG_INTERVAL_S)
        exposition = await testing.metrics_page(risk.port)
        if 'iom_consumer_lag{group="throughcare-risk-inputs"' in exposition:
            break
        await asyncio.sleep(0.25)
    assert 'iom_records_in_total{service="risk",topic="iom.people"}' in exposition
    assert 'iom_processing_seconds_bucket{' in exposition
    assert 'iom_consumer_lag{group="throughcare-risk-inputs",partition="0",service="risk",' \
        'topic="iom.people"}' in exposition
    assert 'iom_dead_letters_total{kind="decode",service="risk",topic="iom.people"} 4.0' \
        in exposition
    assert 'iom_dead_letters_total{kind="handler",service="risk",topic="iom.people"} 1.0' \
        in exposition
    # its stores: the people it grades (at least this test's good ones); on disk, nothing
    # (its state is in memory, restored from its changelog)
    assert sample_sum([exposition], "iom_store_entries", service="risk", store="people") >= 2
    assert 'iom_store_bytes{service="risk"} 0.0' in exposition
    assert "P-poison" not in exposition  # no person ids in labels


async def test_replay_puts_fixed_records_back_on_their_topic(
    settings, codec, cli_env, monkeypatch
):
    good = codec.encode("Person", person(codec, "P-replay-1"))
    # Dead-lettered by a handler (decodes fine now that the bug is fixed) and a still-broken one.
    from iomkit.deadletters import dead_letter_headers, utc_now

    producer_items = [
        (b"P-replay-1", good, dead_letter_headers("iom.people", 0, 7, "risk", "bug", utc_now())),
        (b"P-replay-2", b"\x00junk", dead_letter_headers("iom.people", 0, 8, "risk", "x",
                                                         utc_now())),
    ]
    from iomkit import kafka

    await _pass_earlier_letters(settings, "replay-test")
    producer = kafka.producer(settings)
    await producer.start()
    for key, value, headers in producer_items:
        await producer.send_and_wait(topics.DEAD_LETTERS.name, value, key=key, headers=headers)
    await producer.stop()

    runner = CliRunner()
    dry = await _in_thread(runner.invoke, cli, ["replay-dead-letters", "--topic", "iom.people",
                                                "--group", "replay-test", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would replay 1;" in dry.stdout and "kept 1" in dry.stdout
    result = await _in_thread(runner.invoke, cli, ["replay-dead-letters", "--topic",
                                                   "iom.people", "--group", "replay-test"])
    assert result.exit_code == 0, result.output
    assert "still refused" in result.stderr
    async with testing.Reader(settings, codec, topics.PEOPLE.name) as people:
        seen = await people.wait_for(lambda s: any(r.key == b"P-replay-1" for r in s))
    replayed = [r for r in seen if r.key == b"P-replay-1"]
    assert len(replayed) == 1  # the dry run published nothing
    assert replayed[0].raw == good
    assert replayed[0].headers["iom-replayed-from"].startswith("iom.dead-letters/")
    assert not any(k.startswith("iom-dlq-") for k in replayed[0].headers)
    assert not any(r.key == b"P-replay-2" for r in seen)

    # The refused letter was not committed past: the next run sees it again, and drops it
    # only when told to; each replayed letter goes back once per group.
    again = await _in_thread(runner.invoke, cli, ["replay-dead-letters", "--topic",
                                                  "iom.people", "--group", "replay-test"])
    assert "replayed 0;" in again.stdout and "kept 1" in again.stdout
    dropped = await _in_thread(runner.invoke, cli, ["replay-dead-letters", "--topic",
                                                    "iom.people", "--group", "replay-test",
                                                    "--drop-refused"])
    assert "replayed 0; dropped 1;" in dropped.stdout
    last = await _in_thread(runner.invoke, cli, ["replay-dead-letters", "--topic",
                                                 "iom.people", "--group", "replay-test"])
    assert "replayed 0; dropped 0; kept 0" in last.stdout


async def test_replay_never_puts_an_old_person_back_over_a_newer_one(
    settings, codec, cli_env
):
    from iomkit import kafka
    from iomkit.deadletters import dead_letter_headers, utc_now

    await _pass_earlier_letters(settings, "replay-old")
    old = person(codec, "P-replay-old", force="Kent")
    await testing.produce(settings, codec, topics.PEOPLE,
                          [old, person(codec, "P-replay-old", force="Hampshire")])
    where = kafka.partition_of(b"P-replay-old", settings.partitions)
    ping = codec.encode("TagPing", {"device_id": "TAG-1", "recorded_at": 0, "lat": 50.0,
                                    "lon": -1.0, "accuracy_m": 5.0})
    producer = kafka.producer(settings)
    await producer.start()
    await producer.send_and_wait(  # as if dead-lettered at offset 0, before the newer value
        topics.DEAD_LETTERS.name, codec.encode("Person", old), key=b"P-replay-old",
        headers=dead_letter_headers("iom.people", where, 0, "risk", "bug", utc_now()))
    await producer.send_and_wait(  # a TagPing claiming to come from iom.people
        topics.DEAD_LETTERS.name, ping, key=b"P-replay-ping",
        headers=dead_letter_headers("iom.people", 0, 1, "risk", "x", utc_now()))
    await producer.stop()

    result = await _in_thread(CliRunner().invoke, cli, [
        "replay-dead-letters", "--topic", "iom.people", "--group", "replay-old"])
    assert result.exit_code == 0, result.output
    assert "older than the latest value of its key" in result.stderr
    assert "expected a Person record, got TagPing" in result.stderr
    async with testing.Reader(settings, codec, topics.PEOPLE.name) as people:
        await people.settle(2.0)
    mine = [r.value for r in people.seen if r.key == b"P-replay-old"]
    assert [p["force"] for p in mine] == ["Kent", "Hampshire"]  # nothing put back after
    assert not any(r.key == b"P-replay-ping" for r in people.seen)


async def _pass_earlier_letters(settings, group: str) -> None:
    """Earlier tests leave letters of their own: this test's group starts after them, so
    what it checks is about its own letters only."""
    from iomkit import kafka

    ends = await kafka.end_offsets(settings, topics.DEAD_LETTERS.name)
    consumer = kafka.consumer(settings, group_id=group)
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.commit(ends)
    finally:
        await kafka.stop_consumer(consumer)


async def _in_thread(fn, *args):
    import asyncio

    return await asyncio.to_thread(fn, *args)
