"""The batch consumer hands records of several topics over in the order they were written,
across batches: what the risk fault test found was a person's events handled before the
Person written before them, because a restarted worker's first batches held only events."""

from __future__ import annotations

from collections import deque

from aiokafka.structs import ConsumerRecord, TopicPartition

from iomkit import topics
from iomkit.batch import BatchConsumer, Item, in_written_order
from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import ROOT, Settings

PEOPLE, EVENTS = topics.PEOPLE.name, topics.OFFENDER_EVENTS.name
RANK = {PEOPLE: 0, EVENTS: 1}


def record(topic: str, partition: int, offset: int, timestamp: int) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, timestamp, 0, b"k", b"v", None, 1, 1, [])


def buffers(*records: ConsumerRecord, empty: tuple[TopicPartition, ...] = ()
            ) -> dict[TopicPartition, deque[ConsumerRecord]]:
    found: dict[TopicPartition, deque[ConsumerRecord]] = {tp: deque() for tp in empty}
    for r in records:
        found.setdefault(TopicPartition(r.topic, r.partition), deque()).append(r)
    return found


def where(records: list[ConsumerRecord]) -> list[tuple[str, int, int]]:
    return [(r.topic, r.partition, r.offset) for r in records]


def test_events_wait_while_the_people_partition_has_records_not_fetched_yet() -> None:
    people0, people1 = TopicPartition(PEOPLE, 0), TopicPartition(PEOPLE, 1)
    fetched = buffers(record(EVENTS, 0, 0, 20), record(EVENTS, 1, 0, 20),
                      empty=(people0, people1))
    # people/0 has more on the broker; people/1 is all read
    assert where(in_written_order(fetched, {people0}, RANK, 100)) == [(EVENTS, 1, 0)]
    assert len(fetched[TopicPartition(EVENTS, 0)]) == 1  # kept for the next batch

    fetched[people0].append(record(PEOPLE, 0, 0, 10))
    assert where(in_written_order(fetched, set(), RANK, 100)) == [
        (PEOPLE, 0, 0), (EVENTS, 0, 0)]


def test_a_batch_stops_where_a_lagging_input_runs_out() -> None:
    fetched = buffers(record(PEOPLE, 0, 0, 10), record(EVENTS, 0, 0, 11),
                      record(EVENTS, 0, 1, 30))
    # people/0 has more on the broker than its one buffered record: the next one may be
    # older than events/0 at 11
    taken = in_written_order(fetched, {TopicPartition(PEOPLE, 0)}, RANK, 100)
    assert where(taken) == [(PEOPLE, 0, 0)]
    assert where(in_written_order(fetched, set(), RANK, 100)) == [
        (EVENTS, 0, 0), (EVENTS, 0, 1)]


def test_written_order_across_topics_and_the_topic_listed_first_on_a_tie() -> None:
    fetched = buffers(record(EVENTS, 0, 0, 5), record(EVENTS, 0, 1, 10),
                      record(PEOPLE, 0, 0, 10), record(PEOPLE, 0, 1, 12))
    assert where(in_written_order(fetched, set(), RANK, 100)) == [
        (EVENTS, 0, 0), (PEOPLE, 0, 0), (EVENTS, 0, 1), (PEOPLE, 0, 1)]


def test_at_most_limit_records_and_the_rest_kept_in_order() -> None:
    fetched = buffers(*(record(EVENTS, 0, n, n) for n in range(5)))
    assert where(in_written_order(fetched, set(), RANK, 3)) == [
        (EVENTS, 0, 0), (EVENTS, 0, 1), (EVENTS, 0, 2)]
    assert where(in_written_order(fetched, set(), RANK, 3)) == [
        (EVENTS, 0, 3), (EVENTS, 0, 4)]


class Assigning:
    """A consumer whose first assignment arrives while getmany waits, as aiokafka's does;
    getmany hands over only the events: the people partition's records are on the broker
    (its highwater) and not fetched yet."""

    def __init__(self) -> None:
        self.assigned: set[TopicPartition] = set()
        self.positions = {TopicPartition(PEOPLE, 0): 0, TopicPartition(EVENTS, 0): 0}
        self.commits: list[dict[TopicPartition, int]] = []

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int, max_records: int
                      ) -> dict[TopicPartition, list[ConsumerRecord]]:
        self.assigned = set(self.positions)
        events = TopicPartition(EVENTS, 0)
        self.positions[events] = 1
        return {events: [record(EVENTS, 0, 0, 20)]}

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def highwater(self, tp: TopicPartition) -> int:
        return 1

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)


async def test_an_assignment_made_while_fetching_holds_events_back_for_their_people() -> None:
    handled: list[Item] = []

    async def handle(item: Item) -> None:
        handled.append(item)

    batch = BatchConsumer("test", [topics.PEOPLE, topics.OFFENDER_EVENTS], Settings(), "g",
                          Codec(SchemaRegistry(ROOT / "schemas")), record_handler=handle)
    source = Assigning()
    batch.consumer = source  # type: ignore[assignment]
    assert await batch.run_once() == 0
    assert not handled and not source.commits
    assert [r.offset for r in batch.buffers[TopicPartition(EVENTS, 0)]] == [0]
