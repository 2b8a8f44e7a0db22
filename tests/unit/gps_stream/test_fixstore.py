"""The local RocksDB store of a partition's fixes."""

from __future__ import annotations

from services.gps_stream.fixstore import FixStore
from services.gps_stream.hitrule import Enrolment
from services.gps_stream.trail import Fix


def test_round_trip_time_order_offsets_and_purge(tmp_path):
    store = FixStore(tmp_path / "p0")
    fixes = [Fix("TAG-2", 1_000, 50.9, -1.4, 5.5), Fix("TAG-1", -5, 51.0, -1.0, 7.25),
             Fix("TAG-É", 2_000, 50.1, -1.1, 199.0)]
    for fix in fixes:
        store.add_fix(fix)
    store.add_fix(fixes[0])  # a duplicate is one entry
    store.add_enrolment(Enrolment("E1", "TAG-1", "P1", "FITTED", 0, None))
    store.reached("iom.tag.pings", 42)
    assert list(store.fixes(-10)) == []  # nothing until the batch is written
    store.commit()
    assert list(store.fixes(-10)) == sorted(fixes, key=lambda f: f.recorded_at_ms)
    assert list(store.fixes(1_500)) == [fixes[2]]
    assert list(store.enrolments()) == [Enrolment("E1", "TAG-1", "P1", "FITTED", 0, None)]
    assert store.offset("iom.tag.pings") == 42 and store.offset("iom.tag.enrolments") is None
    store.purge_before(1_000)
    assert [f.recorded_at_ms for f in store.fixes(-10)] == [1_000, 2_000]
    store.close()
    again = FixStore(tmp_path / "p0")  # survives a restart
    assert [f.device_id for f in again.fixes(0)] == ["TAG-2", "TAG-É"]
    again.close()
