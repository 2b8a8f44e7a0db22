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


# --- a jump in offsets: filled as a compaction gap only where compaction can make one -----


async def test_a_jump_on_a_topic_not_compacted_is_refetched_not_committed_past() -> None:
    filled: list[tuple[str, int, int]] = []

    class FaustConsumer:  # the method Faust's consumer fills gaps with
        async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
            filled.append((tp.topic, offset_from, offset_to))

    streamwatch.SKIPPED.clear()
    streamwatch.guard_gaps(FaustConsumer, lambda topic: topic == "iom.people")
    consumer = FaustConsumer()
    decisions, people = TP("iom.panel.decisions", 3), TP("iom.people", 3)
    await consumer._add_gap(decisions, 3, 21)   # Faust dropped 3..20 and read 21
    await consumer._add_gap(decisions, 30, 32)  # and more later: the first one counts
    await consumer._add_gap(people, 7, 9)       # compaction removed 7 and 8
    assert filled == [("iom.people", 7, 9)]
    assert streamwatch.SKIPPED == {decisions: 3}

    sought: list[tuple[TP, int]] = []

    class Assigned:
        def assignment(self) -> set[TP]:
            return {decisions}

        async def seek(self, tp: TP, offset: int) -> None:
            sought.append((tp, offset))

    assert await streamwatch.refetch_skipped(Assigned(), Log()) == 1
    assert sought == [(decisions, 3)] and streamwatch.SKIPPED == {}
    assert await streamwatch.refetch_skipped(Assigned(), Log()) == 0  # once
