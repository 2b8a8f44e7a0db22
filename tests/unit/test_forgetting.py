"""Forgetting old table entries: which go, with a tombstone to which partition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from iomkit.forgetting import stamped, to_forget, unstamped
from iomkit.service import Service
from services.notifications.once import HitState

NOW = datetime(2028, 2, 29, 23, 30, tzinfo=UTC)  # any day: a leap day's last hour
MS = int(NOW.timestamp() * 1000)


def test_old_entries_of_own_partitions_go_with_their_partition_others_from_memory() -> None:
    entries = [
        (b"old-mine", stamped({"x": 1}, MS - 10, 2)),
        (b"new-mine", stamped({"x": 1}, MS, 2)),
        (b"old-not-mine", stamped({"x": 1}, MS - 10, 5)),
        (b"unstamped", {"x": 1}),
        (b"marker", True),
    ]
    owned, left = to_forget(entries, MS, {0, 2})
    assert owned == [(b"old-mine", 2)]
    assert left == [b"old-not-mine"]


def test_a_stamp_is_invisible_to_the_reader() -> None:
    state = HitState(3, "ACTIVE", episode=2).as_dict()
    assert unstamped(stamped(state, MS, 4)) == state
    assert HitState.of(stamped(state, MS, 4)) == HitState(3, "ACTIVE", episode=2)


class FakeTable:
    def __init__(self, data: dict[bytes, Any]) -> None:
        self.data = data
        self.tombstones: list[tuple[int, bytes, None]] = []
        self.changelog_topic = SimpleNamespace(get_topic_name=lambda: "svc-told-changelog")

    def send_changelog(self, partition: int, key: bytes, value: None) -> None:
        self.tombstones.append((partition, key, value))


def test_forget_older_sends_tombstones_only_for_this_workers_partitions() -> None:
    table = FakeTable({
        b"a": stamped({}, MS - 91 * 86_400_000, 1),
        b"b": stamped({}, MS - 91 * 86_400_000, 4),  # another worker's now
        b"c": stamped({}, MS - 89 * 86_400_000, 1),
    })
    worker = SimpleNamespace(app=SimpleNamespace(tables=SimpleNamespace(recovery=SimpleNamespace(
        active_tps={TP("svc-told-changelog", 1), TP("iom.gps.hits", 4)}))))
    gone = Service.forget_older(worker, table, NOW - timedelta(days=90))  # type: ignore[arg-type]
    assert gone == 2
    assert table.tombstones == [(1, b"a", None)]
    assert set(table.data) == {b"c"}
