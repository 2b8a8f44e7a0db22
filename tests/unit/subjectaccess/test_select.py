"""Which records are a person's (by key, person_id anywhere, a list naming them, a device
while fitted to them, a dead letter as its original, undecodable text by whole word), and
the summary page: escaped, no script."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from iomkit.codec import Codec, SchemaRegistry
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT
from iomkit.subjectaccess import render, select


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2028, 2, day, hour, tzinfo=UTC)


ENROLMENTS = [
    {"device_id": "D-1", "person_id": "P-1", "status": "FITTED", "effective_at": at(1)},
    {"device_id": "D-1", "person_id": "P-1", "status": "REMOVED", "effective_at": at(10)},
    {"device_id": "D-1", "person_id": "P-2", "status": "FITTED", "effective_at": at(12)},
    {"device_id": "D-2", "person_id": "P-1", "status": "FITTED", "effective_at": at(29)},
]
DEVICES = select.fitted("P-1", list(reversed(ENROLMENTS)))  # any order


def ping(device: str, when: datetime) -> dict:
    return {"device_id": device, "recorded_at": when, "lat": 50.9, "lon": -1.4}


def test_a_device_is_the_persons_while_it_was_fitted_to_them():
    assert DEVICES.intervals == {"D-1": [(at(1), at(10))], "D-2": [(at(29), None)]}
    assert select.concerns(b"D-1", ping("D-1", at(9, 23)), "P-1", DEVICES)
    assert not select.concerns(b"D-1", ping("D-1", at(10)), "P-1", DEVICES)  # removed
    assert not select.concerns(b"D-1", ping("D-1", at(13)), "P-1", DEVICES)  # P-2's now
    assert select.concerns(b"D-2", ping("D-2", at(29, 23)), "P-1", DEVICES)  # 29 February
    assert not select.concerns(b"D-3", ping("D-3", at(5)), "P-1", DEVICES)
    # a tag alert naming another person is theirs, whatever the device
    alert = {"alert_id": "a", "device_id": "D-1", "person_id": "P-2", "detected_at": at(5)}
    assert not select.concerns(b"D-1", alert, "P-1", DEVICES)


@pytest.mark.parametrize(("key", "value", "theirs"), [
    (b"P-1", {"anything": 1}, True),                               # keyed by the person
    (b"R-9", {"notification_id": "n", "person_id": "P-1"}, True),  # a notification
    (b"h", {"value": {"hit": {"person_id": "P-1"}}, "stamp": 1}, True),  # a changelog's JSON
    (None, {"audit_id": "a", "person_id": None, "details": {"people": "P-0,P-1"}}, True),
    (None, {"audit_id": "a", "person_id": None, "details": {"people": "P-10,P-11"}}, False),
    (b"P-10", {"person_id": "P-10"}, False),                       # not a prefix match
    (None, "raw bytes naming P-1 somewhere", True),
    (None, "raw bytes naming P-10 and XP-1 only", False),
    (None, [1, 2], False),
])
def test_whose_record(key, value, theirs):
    assert select.concerns(key, value, "P-1", DEVICES) is theirs


def test_decode_reads_a_dead_letter_as_the_record_it_was():
    codec = Codec(SchemaRegistry(ROOT / "schemas"))
    person = orjson.loads((ROOT / "schemas/examples/Person.json").read_bytes())
    raw = codec.encode("Person", from_json(codec.registry.current("Person").raw, person))
    value, how = select.decode(codec, "iom.dead-letters", {"iom-dlq-topic": "iom.people"}, raw)
    assert how == "avro:Person" and value["person_id"] == person["person_id"]
    assert select.decode(codec, "throughcare-referrals-cases-changelog", {},
                         b'{"person_id": "P-1"}') == ({"person_id": "P-1"}, "json")
    assert select.decode(codec, "x", {}, b"\xff not json") == ("\ufffd not json", "text")
    assert select.decode(codec, "x", {}, None) == (None, "tombstone")


def test_the_page_escapes_everything_and_runs_nothing():
    export = render.Export("P-<1>", at(29, 12), "dpo")
    export.topics_read = {"iom.people": 3, "iom.referrals": 5}
    export.found = [render.Found("iom.people", 0, 7, 1_830_000_000_000, "P-<1>", "avro",
                                 {"name": "<script>alert(1)</script>", "at": at(1)})]
    page = render.html(export)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "Everything Throughcare holds about P-&lt;1&gt;" in page
    document = orjson.loads(render.json_bytes(export))
    assert document["nothing_held_in"] == ["iom.referrals"]
    assert document["held_in"]["iom.people"][0]["value"]["at"] == "2028-02-01T00:00:00+00:00"
    many = render.Export("P-1", at(29), "dpo", {"t": 300},
                         [render.Found("t", 0, n, 0, None, "json", {"n": n}) for n in range(300)])
    assert "100 more records: see the JSON file" in render.html(many)
