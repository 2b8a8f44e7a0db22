"""The analytical store: rows of contract records, a batch and its end written together,
the same record read twice changes nothing, and the history read back."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import duckdb
import pytest

from iomkit import topics
from iomkit.codec import Codec, SchemaRegistry
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT
from services.insights import rows
from services.insights.store import Store

REGISTRY = SchemaRegistry(ROOT / "schemas")
CODEC = Codec(REGISTRY)


def example(record: str, **fields: object) -> dict:
    raw = json.loads((ROOT / "schemas" / "examples" / f"{record}.json").read_text())
    raw.update(fields)
    value = from_json(REGISTRY.current(record).raw, raw)
    return CODEC.decode(CODEC.encode(record, value)).value  # as a reader sees it


def write(store: Store, spec: topics.TopicSpec, *values: dict, end: int = 1) -> None:
    _, _, _, row_of = rows.TABLES[spec.name]
    store.write(spec.name, [row_of(v) for v in values], {0: end})


def test_every_example_record_makes_its_row():
    for name, (table, columns, key, row_of) in rows.TABLES.items():
        row = row_of(example(topics.spec(name).record))
        assert len(row) == len(columns), table
        assert all(v is not None for v in row[:key]), table


def test_rows_and_positions_are_written_together():
    store = Store(None)
    write(store, topics.PEOPLE, example("Person"), end=5)
    assert store.positions(topics.PEOPLE.name) == {0: 5}
    with pytest.raises(duckdb.Error):  # a row DuckDB refuses: neither it nor the end lands
        store.write(topics.PEOPLE.name, [("P-2", "Kent", "not a date", None, None)], {0: 9})
    assert store.positions(topics.PEOPLE.name) == {0: 5}
    assert store.counts()["people"] == 1


def test_the_same_record_twice_is_one_row_and_a_newer_state_replaces():
    store = Store(None)
    change = example("CohortChange")
    write(store, topics.COHORT_CHANGES, change, change, end=2)
    write(store, topics.COHORT_CHANGES, change, end=3)  # read again after a restart
    assert store.counts()["changes"] == 1
    write(store, topics.PEOPLE, example("Person", force="Kent"))
    write(store, topics.PEOPLE, example("Person", force="Hampshire"), end=2)
    assert store.query("SELECT force FROM people") == [("Hampshire",)]


def test_change_ids_follow_the_contract_when_not_sent():
    change = example("CohortChange", change_id=None)
    # contract 1.1: sha256 of "person_id|change|effective_at (epoch ms)", first 32 hex
    millis = int(change["effective_at"].timestamp() * 1000)
    text = f"{change['person_id']}|REGISTERED|{millis}"
    assert rows.cohort_change(change)[0] == hashlib.sha256(text.encode()).hexdigest()[:32]
    assert rows.cohort_change(dict(change, change_id="given"))[0] == "given"


def test_history_reads_a_forces_people_with_hits_and_their_crimes():
    store = Store(None)
    write(store, topics.PEOPLE, example("Person", person_id="P-1", force="Hampshire"),
          example("Person", person_id="P-2", force="Kent"))
    write(store, topics.CRIMES_REPORTED, example("CrimeReported", crime_ref="C-1"))
    hit = example("CrimeHit", person_id="P-1", crime_ref="C-1", hit_id="H-1")
    later = dict(hit, revision=2, status="WITHDRAWN",
                 detected_at=datetime(2030, 1, 1, tzinfo=UTC))
    write(store, topics.GPS_HITS, hit, later, example("CrimeHit", person_id="P-2",
                                                      hit_id="H-2"))
    write(store, topics.OFFENDER_EVENTS, example(
        "OffenderEvent", person_id="P-1", type="CONVICTED",
        details={"offence_date": "2026-10-01", "disposal": "CAUTION"}))
    history = store.history("Hampshire")
    assert set(history.people) == {"P-1"}
    [found] = history.hits
    assert (found.hit_id, found.status) == ("H-1", "WITHDRAWN")  # the latest revision
    assert found.first_detected_at == hit["detected_at"]  # found when revision 1 was
    assert found.crime_reported_at is not None and found.crime_reported_at.tzinfo
    [event] = history.events
    assert (event.offence_date.isoformat(), event.disposal) == ("2026-10-01", "CAUTION")
    assert {p for p in store.history(None).people} == {"P-1", "P-2"}


def test_an_unreadable_offence_date_is_missing_not_fatal():
    event = example("OffenderEvent", details={"offence_date": "last Tuesday"})
    assert rows.offender_event(event)[5] is None


def test_parquet_export_reads_back(tmp_path):
    data = Store.parquet(["band", "n", "rate"], [("LOW", 3, 0.5), ("HIGH", None, None)])
    path = tmp_path / "t.parquet"
    path.write_bytes(data)
    assert duckdb.sql(f"SELECT * FROM '{path}'").fetchall() == [("LOW", 3, 0.5),
                                                               ("HIGH", None, None)]


def test_a_file_store_resumes_where_it_ended(tmp_path):
    path = tmp_path / "insights.duckdb"
    store = Store(path)
    write(store, topics.PEOPLE, example("Person"), end=7)
    store.close()
    again = Store(path)
    assert again.positions(topics.PEOPLE.name) == {0: 7} and again.counts()["people"] == 1
