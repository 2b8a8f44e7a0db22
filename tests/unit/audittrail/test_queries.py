"""The audit store and its questions on a constructed history: who saw a person since a
day, what a user did, by kind; lists naming several people count for each; loading the same
records twice keeps them once; refusals are what a user did, not who saw."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from iomkit.audit import audit_record
from iomkit.audittrail import queries
from iomkit.audittrail.kinds import CONSULTATION, DISCLOSURE, KINDS
from iomkit.audittrail.store import Store, rows_of


def record(actor: str, action: str, at: datetime, person: str | None = None,
           recipient: str | None = None, **details: str) -> dict:
    value = audit_record(service="referrals", actor=actor, action=action, purpose=action.lower(),
                         at=at, person_id=person, recipient=recipient,
                         details={"role": "POLICE", **details})
    return value


def at(day: int, month: int = 2, hour: int = 12) -> datetime:
    return datetime(2028, month, day, hour, tzinfo=UTC)


HISTORY = [
    record("pc-smith", "COLLECT", at(27), "P-1"),
    record("pc-smith", "VIEW", at(28, hour=23), "P-1"),   # 28 Feb 23:00
    record("pc-smith", "VIEW", at(29, hour=0), "P-2"),    # 29 Feb 2028 (a leap year)
    record("po-jones", "VIEW", at(29, hour=9), None, people="P-1,P-2,P-3", count="3"),
    record("po-jones", "ALTER", at(1, 3), "P-1"),
    record("notifications", "DISCLOSE", at(1, 3, 6), "P-1", recipient="hampshire-iom"),
    record("pc-evil", "VIEW", at(1, 3, 7), "P-1", outcome="REFUSED"),
    record("analyst", "CONSULT", at(2, 3), "P-3"),
]


@pytest.fixture
def store() -> Store:
    s = Store(None)
    s.write([rows_of(r) for r in HISTORY[:5]], {0: 5})
    s.write([rows_of(r) for r in HISTORY[3:]], {0: 8, 1: 0})  # the batch overlaps: once each
    return s


def test_a_record_read_twice_is_kept_once_and_the_positions_with_it(store):
    assert store.count() == len(HISTORY)
    assert store.positions() == {0: 8, 1: 0}
    assert store.write([rows_of(HISTORY[0])], {0: 9}) == 0


def test_who_saw_a_person_since_a_day(store):
    seen = queries.who_saw(store, "P-1", date(2028, 2, 29))
    assert [(e.actor, e.kind) for e in seen] == [("po-jones", CONSULTATION),
                                                 ("notifications", DISCLOSURE)]
    assert seen[0].people == 3 and seen[0].person_id is None  # the list that named them
    assert seen[1].recipient == "hampshire-iom"
    # from 28 February on: the evening view of the 28th too; nobody refused is there
    since_28 = queries.who_saw(store, "P-1", date(2028, 2, 28))
    assert [e.actor for e in since_28] == ["pc-smith", "po-jones", "notifications"]
    # up to the last moment of 29 February, and no later
    assert [e.actor for e in queries.who_saw(store, "P-1", date(2028, 2, 28),
                                            until=date(2028, 2, 29))] == ["pc-smith", "po-jones"]


def test_a_list_counts_for_each_person_it_named(store):
    for person in ("P-1", "P-2", "P-3"):
        assert "po-jones" in [e.actor for e in queries.who_saw(store, person, None)]
    assert queries.who_saw(store, "P-4", None) == []
    counts = queries.people_by_kind(store)
    assert counts["P-2"] == {CONSULTATION: 2}
    assert counts["P-1"] == {"ALTERATION": 1, "COLLECTION": 1, CONSULTATION: 2,
                             DISCLOSURE: 1}
    assert counts["P-3"] == {CONSULTATION: 2}


def test_who_saw_by_kind_and_refusals_on_request(store):
    everything = queries.who_saw(store, "P-1", None, kinds=KINDS)
    assert queries.by_kind(everything) == {"COLLECTION": 1, "ALTERATION": 1,
                                           CONSULTATION: 2, DISCLOSURE: 1,
                                           "COMBINATION": 0, "ERASURE": 0}
    with_refused = queries.who_saw(store, "P-1", None, refused=True)
    assert [e.actor for e in with_refused if e.refused] == ["pc-evil"]


def test_what_a_user_did(store):
    did = queries.what_did(store, "pc-smith")
    assert [(e.kind, e.person_id) for e in did] == [("COLLECTION", "P-1"),
                                                    (CONSULTATION, "P-1"),
                                                    (CONSULTATION, "P-2")]
    assert [e.person_id for e in queries.what_did(store, "pc-smith", date(2028, 2, 29))] \
        == ["P-2"]
    assert queries.what_did(store, "po-jones", kinds=["ALTERATION"])[0].person_id == "P-1"
    refused = queries.what_did(store, "pc-evil")
    assert len(refused) == 1 and refused[0].refused
    assert queries.what_did(store, "nobody") == []


def test_answers_as_a_table_and_as_json(store):
    entries = queries.who_saw(store, "P-1", date(2028, 2, 29))
    text = queries.table(entries)
    lines = text.splitlines()
    assert lines[0].startswith("when (UTC)") and len(lines) == 4
    assert "2028-02-29 09:00:00" in lines[2] and "3 people" in lines[2]
    document = json.loads(queries.as_json({"person": "P-1"}, entries))
    assert document["person"] == "P-1" and document["by_kind"][DISCLOSURE] == 1
    assert document["entries"][1]["at"] == "2028-03-01T06:00:00+00:00"


def test_the_store_on_disk_resumes_and_opens_read_only(tmp_path):
    path = tmp_path / "audit.duckdb"
    with Store(path) as s:
        s.write([rows_of(r) for r in HISTORY[:2]], {0: 2})
    with Store(path) as s:  # another run: where the last one ended
        assert s.positions() == {0: 2}
        s.write([rows_of(r) for r in HISTORY[2:]], {0: 8})
    with Store(path, read_only=True) as s:
        assert s.count() == len(HISTORY)
        assert [e.actor for e in queries.who_saw(s, "P-3", None)] == ["po-jones", "analyst"]
