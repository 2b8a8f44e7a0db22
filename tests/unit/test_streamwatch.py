"""Which partitions a stalled Faust stream fetches again, and from where."""

from __future__ import annotations

from aiokafka.structs import TopicPartition as TP

from iomkit.streamwatch import stuck

REFERRALS, TICKS = "iom.referrals", "throughcare-referrals-ticks"


def test_records_past_the_last_handed_are_fetched_from_the_next_one() -> None:
    read = {TP(REFERRALS, 0): 51, TP(REFERRALS, 1): 9}
    highwaters = {TP(REFERRALS, 0): 85, TP(REFERRALS, 1): 10}  # p1: 9 was the last record
    assert stuck(read, highwaters, {REFERRALS}) == {TP(REFERRALS, 0): 52}


def test_a_partition_nothing_was_handed_from_is_left_alone() -> None:
    assert stuck({}, {TP(REFERRALS, 2): 40}, {REFERRALS}) == {}
    assert stuck({TP(REFERRALS, 2): None}, {TP(REFERRALS, 2): 40}, {REFERRALS}) == {}


def test_only_the_agents_topics_count() -> None:
    # a changelog the recovery reads, or a topic no agent reads, is not the stream's
    read = {TP(TICKS, 0): 3, TP("throughcare-referrals-cases-changelog", 0): 1}
    highwaters = {TP(TICKS, 0): 10, TP("throughcare-referrals-cases-changelog", 0): 99}
    assert stuck(read, highwaters, {TICKS}) == {TP(TICKS, 0): 4}


def test_an_unknown_highwater_is_not_a_stall() -> None:
    assert stuck({TP(REFERRALS, 0): 5}, {TP(REFERRALS, 0): None}, {REFERRALS}) == {}
