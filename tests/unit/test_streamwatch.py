"""Which partitions a stalled Faust stream fetches again, and from where."""

from __future__ import annotations

from typing import Any

from aiokafka.structs import TopicPartition as TP

from iomkit import streamwatch
from iomkit.streamwatch import (
    RESEEK_AFTER_S,
    STALLED_AFTER_S,
    Seeks,
    again_too_soon,
    changelogs_stuck,
    next_to_hand,
    stuck,
)

REFERRALS, TICKS = "iom.referrals", "throughcare-referrals-ticks"


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


def test_records_past_the_committed_offset_are_fetched_from_it() -> None:
    # p0: handed up to 51 and committed; p1: 9 was the last record
    read = {TP(REFERRALS, 0): 51, TP(REFERRALS, 1): 9}
    committed = {TP(REFERRALS, 0): 52, TP(REFERRALS, 1): 10}
    ends = {TP(REFERRALS, 0): 85, TP(REFERRALS, 1): 10}
    assert stuck(read, committed, ends, {REFERRALS}) == {TP(REFERRALS, 0): 52}


def test_a_partition_nothing_was_handed_from_since_its_assignment_is_found() -> None:
    # what the restarted referrals worker showed: fetch position at the end, read offset
    # none, the records from the commit on never handed
    ends = {TP(REFERRALS, 2): 58}
    assert stuck({}, {TP(REFERRALS, 2): 28}, ends, {REFERRALS}) == {TP(REFERRALS, 2): 28}
    assert stuck({TP(REFERRALS, 2): None}, {TP(REFERRALS, 2): 28}, ends, {REFERRALS}) \
        == {TP(REFERRALS, 2): 28}


def test_before_any_commit_the_one_after_the_last_handed() -> None:
    assert stuck({TP(REFERRALS, 0): 51}, {}, {TP(REFERRALS, 0): 85}, {REFERRALS}) \
        == {TP(REFERRALS, 0): 52}
    assert next_to_hand(51, None) == 52
    assert next_to_hand(51, 40) == 40  # idle: what is committed is what was handled


def test_neither_commit_nor_record_handed_is_left_to_the_reset_policy() -> None:
    assert stuck({}, {}, {TP(REFERRALS, 2): 40}, {REFERRALS}) == {}


def test_a_partition_read_to_its_end_is_not_stuck() -> None:
    read, committed = {TP(REFERRALS, 0): 84}, {TP(REFERRALS, 0): 85}
    assert stuck(read, committed, {TP(REFERRALS, 0): 85}, {REFERRALS}) == {}


def test_only_the_agents_topics_count() -> None:
    # a changelog the recovery reads, or a topic no agent reads, is not the stream's
    changelog = TP("throughcare-referrals-cases-changelog", 0)
    committed = {TP(TICKS, 0): 4, changelog: 2}
    ends = {TP(TICKS, 0): 10, changelog: 99}
    assert stuck({}, committed, ends, {TICKS}) == {TP(TICKS, 0): 4}


def test_an_unknown_end_is_not_a_stall() -> None:
    assert stuck({TP(REFERRALS, 0): 5}, {TP(REFERRALS, 0): 6}, {TP(REFERRALS, 0): None},
                 {REFERRALS}) == {}


def test_a_partition_left_as_the_last_seek_found_it_waits_before_another() -> None:
    last = ((28, 29), 1000.0)  # sought from 28, end 29: e.g. a transaction marker at 28
    assert again_too_soon(last, (28, 29), 1000.0 + 5)
    assert not again_too_soon(last, (28, 29), 1000.0 + RESEEK_AFTER_S)
    assert not again_too_soon(last, (28, 35), 1000.0 + 5)  # more came: a stall again
    assert not again_too_soon(None, (28, 29), 1000.0)


TOLD = TP("throughcare-notifications-told-changelog", 3)


def test_a_recovery_waiting_on_a_silent_changelog_is_fed_from_after_the_last_applied() -> None:
    # Faust's Recovery counts the last offset applied and the partition's last offset
    applied, last = {TOLD: 40}, {TOLD: 57}
    assert changelogs_stuck(applied, last, {TOLD: 100.0}, 90.0, 100.0 + STALLED_AFTER_S) \
        == {TOLD: 41}
    # nothing received yet: counted from the recovery's start; none applied yet is -1
    assert changelogs_stuck({TOLD: -1}, last, {}, 90.0, 90.0 + STALLED_AFTER_S) == {TOLD: 0}


def test_a_recovery_that_is_receiving_or_done_is_left_alone() -> None:
    assert changelogs_stuck({TOLD: 40}, {TOLD: 57}, {TOLD: 100.0}, 0.0, 101.0) == {}
    assert changelogs_stuck({TOLD: 57}, {TOLD: 57}, {}, 0.0, 1000.0) == {}
    assert changelogs_stuck({TOLD: 40}, {TOLD: None}, {}, 0.0, 1000.0) == {}


async def test_a_seek_is_remembered_and_not_repeated_too_soon() -> None:
    class Consumer:
        def __init__(self) -> None:
            self.seeks: list[tuple[TP, int]] = []

        async def seek(self, tp: TP, offset: int) -> None:
            self.seeks.append((tp, offset))

    seeks, consumer = Seeks(), Consumer()
    found, ends = {TOLD: 41}, {TOLD: 57}
    assert seeks.due(found, ends, 100.0) == found
    await seeks.seek(consumer, found, ends, 100.0)
    assert consumer.seeks == [(TOLD, 41)]
    assert seeks.due(found, ends, 105.0) == {}  # left as it was: not again so soon
    assert seeks.due(found, {TOLD: 60}, 105.0) == found  # more came since


# --- a jump in offsets: filled as a gap only where the broker really has none -----------


class FaustConsumer:
    """The two methods of Faust's consumer the guard wraps, as Faust has them."""

    def __init__(self) -> None:
        self.filled: list[tuple[str, int, int]] = []
        self._acked: dict[TP, list[int]] = {}
        self._committed_offset: dict[TP, int | None] = {}

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        self.filled.append((tp.topic, offset_from, offset_to))

    def _new_offset(self, tp: TP) -> int | None:  # Faust's: the first consecutive run
        acked = sorted(self._acked[tp])
        run = [acked[0]]
        for offset in acked[1:]:
            if offset != run[-1] + 1:
                break
            run.append(offset)
        return run[-1] + 1


class Assigned:
    def __init__(self, *tps: TP) -> None:
        self.tps, self.sought = set(tps), []

    def assignment(self) -> set[TP]:
        return self.tps

    async def seek(self, tp: TP, offset: int) -> None:
        self.sought.append((tp, offset))


DECISIONS, PEOPLE = TP("iom.panel.decisions", 3), TP("iom.people", 3)


def guarded() -> FaustConsumer:
    streamwatch.SKIPPED.clear()
    streamwatch.REFETCHED.clear()
    streamwatch.guard_gaps(FaustConsumer, lambda topic: topic == "iom.people")
    return FaustConsumer()


async def test_records_skipped_mid_stream_are_fetched_again_not_committed_past() -> None:
    consumer = guarded()
    await consumer._add_gap(DECISIONS, 3, 21)   # Faust dropped 3..20 and read 21
    await consumer._add_gap(DECISIONS, 30, 32)  # and more later: the first one counts
    await consumer._add_gap(PEOPLE, 7, 9)       # compaction removed 7 and 8
    assert consumer.filled == [("iom.people", 7, 9)]
    consumer._committed_offset[DECISIONS], consumer._acked[DECISIONS] = 3, [21, 22, 30, 31]
    assert consumer._new_offset(DECISIONS) is None  # nothing committed past 3
    broker = Assigned(DECISIONS)
    assert await streamwatch.refetch_skipped(broker, Log()) == 1
    assert broker.sought == [(DECISIONS, 3)]
    assert await streamwatch.refetch_skipped(broker, Log()) == 0  # once
    consumer._acked[DECISIONS] = [3, 4, 5]  # handed out again, in order
    assert consumer._new_offset(DECISIONS) == 6


async def test_a_single_record_skipped_at_the_head_is_not_committed_past() -> None:
    """Faust's own check lets a run start one past the committed offset (off by one)."""
    consumer = guarded()
    consumer._committed_offset[DECISIONS], consumer._acked[DECISIONS] = 10, [11, 12, 13]
    assert consumer._new_offset(DECISIONS) is None
    broker = Assigned(DECISIONS)
    await streamwatch.refetch_skipped(broker, Log())
    assert broker.sought == [(DECISIONS, 10)]
    consumer._acked[DECISIONS] = [10, 11, 12, 13]
    assert consumer._new_offset(DECISIONS) == 14


async def test_a_jump_found_again_after_a_refetch_is_a_real_gap() -> None:
    """A transaction's marker takes an offset no record has: fetched again, the same jump
    comes back, and from then on it is committed past (never a refetch loop)."""
    consumer = guarded()
    consumer._committed_offset[DECISIONS], consumer._acked[DECISIONS] = 6, [7, 8]
    assert consumer._new_offset(DECISIONS) is None
    await streamwatch.refetch_skipped(Assigned(DECISIONS), Log())
    assert consumer._new_offset(DECISIONS) == 9  # the same jump: committed past now
    assert streamwatch.SKIPPED == {}
