"""A Faust stream (or a table's recovery) that stopped being fed, found and fed again.

Seen on a referrals worker restarted after a SIGKILL (tests/faults/test_referrals_kill.py,
every time after the end-to-end and poison tests had used the broker): the consumer holds
its partitions, flow is on, none is paused or held back for a full buffer, and the fetch
position of a partition is at the broker's end, yet the records between the group's
committed offset and that end were never handed to the agent (Faust's read offset for the
partition: none since the assignment). Faust dropped a fetched batch (it breaks out of one
when flow stops or the generation changes, with the fetch position already past it) and
nothing fetches it again. Nothing is logged, the lag only grows.

The watch: when the agents have handled nothing for ``STALLED_AFTER_S`` and a partition
they read has records on the broker past the next one to hand out, say so (log and
``iom_stream_stalled``) and seek the partition there. The next one is the committed offset:
after that long idle every handled record's offset is committed (Faust commits every few
seconds), so nothing handled is handed again; before any commit, the one after the last
handed. The end is asked of the broker: the consumer's own highwater is as of the
partition's last fetch and says nothing of records never fetched.

The same dropped batch did worse once a later batch came: Faust takes any jump in a
partition's offsets for a gap left by compaction and marks the missing offsets done, so its
next commit went past records nobody handled (two referrals workers, one SIGKILLed: 9 of
200 panel decisions never handled, their people never registered), and its check that the
first acknowledged offset follows the committed one is off by one (a single record skipped
at the head, 1 of 200). On a topic that is not compacted offsets have no gaps but a
transaction's marker: ``guard_gaps`` keeps either skip from being committed past, the watch
seeks the partition back to the first record skipped at its next round, and a jump that
comes back the same after that is a real gap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from iomkit import metrics

EVERY_S = 5.0
STALLED_AFTER_S = 15.0
RESEEK_AFTER_S = 300.0


# partition -> (the first offset skipped, the offset seen after it) on a topic that is not
# compacted, waiting for the watch to fetch it again; and the jump each partition was last
# sought back for. One Faust consumer a worker process.
SKIPPED: dict[Any, tuple[int, int]] = {}
REFETCHED: dict[Any, tuple[int, int]] = {}


def skipped(tp: Any, first: int, seen: int) -> bool:
    """A jump from ``first`` to ``seen`` in ``tp``'s offsets: True while it is to be fetched
    again (nothing past it may be committed). False once the same jump came back after a
    refetch: the broker has no record there (a transaction's marker), it is a real gap."""
    if tp in SKIPPED:
        first = min(first, SKIPPED[tp][0])
        SKIPPED[tp] = (first, max(seen, SKIPPED[tp][1]))
        return True
    if REFETCHED.get(tp) == (first, seen):
        del REFETCHED[tp]
        return False
    SKIPPED[tp] = (first, seen)
    return True


def guard_gaps(consumer_class: Any, compacted: Callable[[str], bool]) -> None:
    """Faust's consumer (``consumer_class``) fills a jump in offsets as a gap (committable)
    only on compacted topics or once a refetch found the same jump; elsewhere the records
    are fetched again (``watch``). Faust's own check that the first acknowledged offset
    follows the committed one is off by one (a single record skipped at the head of a
    partition was committed past): it is exact here. Installed once a process."""
    fill = getattr(consumer_class, "_fill_gap", None) or consumer_class._add_gap
    new_offset = getattr(consumer_class, "_faust_new_offset", None) \
        or consumer_class._new_offset

    async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        if compacted(tp.topic) or not skipped(tp, offset_from, offset_to):
            await fill(self, tp, offset_from, offset_to)

    def _new_offset(self: Any, tp: Any) -> int | None:
        acked, committed = self._acked[tp], self._committed_offset[tp]
        if acked and committed is not None and not compacted(tp.topic):
            head = min(acked)
            if head > committed and skipped(tp, committed, head):
                return None  # the committed offset's record was never handled
        return new_offset(self, tp)

    consumer_class._fill_gap, consumer_class._faust_new_offset = fill, new_offset
    consumer_class._add_gap, consumer_class._new_offset = _add_gap, _new_offset


async def refetch_skipped(consumer: Any, log: Any) -> int:
    """Seek each assigned partition with records skipped back to the first of them (Faust's
    seek also moves its read offset back, so they are handed out again, in order; the ones
    after them a second time, which the handlers' idempotence absorbs)."""
    if not SKIPPED:
        return 0
    found = {tp: jump for tp, jump in SKIPPED.items() if tp in consumer.assignment()}
    SKIPPED.clear()
    if found:
        log.warning("stream.skipped", partitions={f"{tp.topic}/{tp.partition}": first
                                                  for tp, (first, _) in found.items()})
        for tp, (first, seen) in found.items():
            REFETCHED[tp] = (first, seen)
            await consumer.seek(tp, first)
    return len(found)


def again_too_soon(last: tuple[tuple[int, int], float] | None, found: tuple[int, int],
                   now: float) -> bool:
    """A partition found exactly as the last seek left it, less than RESEEK_AFTER_S ago."""
    return last is not None and last[0] == found and now - last[1] < RESEEK_AFTER_S


def next_to_hand(read: int | None, committed: int | None) -> int | None:
    """The offset a partition's stream should get next, or None if nothing says."""
    if committed is not None:
        return committed
    return None if read is None else read + 1


def stuck(read: Mapping[Any, int | None], committed: Mapping[Any, int | None],
          ends: Mapping[Any, int | None], consumed: set[str]) -> dict[Any, int]:
    """Partitions of the consumed topics with records on the broker (``ends``) past the next
    one to hand out, each with that offset. A partition with neither a commit nor anything
    handed is left alone: where it starts is the reset policy's, not ours to know."""
    found = {}
    for tp, end in ends.items():
        offset = next_to_hand(read.get(tp), committed.get(tp))
        if tp.topic in consumed and offset is not None and end is not None and end > offset:
            found[tp] = offset
    return found


def changelogs_stuck(applied: Mapping[Any, int | None], highwaters: Mapping[Any, int | None],
                     received_at: Mapping[Any, float], started_at: float, now: float
                     ) -> dict[Any, int]:
    """Changelog partitions a table's recovery still waits on (the last offset it applied
    short of the partition's last offset, as Faust's Recovery counts both) and has received
    nothing from for ``STALLED_AFTER_S`` (since the recovery began, if nothing yet): each
    with the offset after the last applied."""
    found = {}
    for tp, last in highwaters.items():
        offset = applied.get(tp)
        if last is None or offset is None or offset >= last:
            continue
        if now - received_at.get(tp, started_at) >= STALLED_AFTER_S:
            found[tp] = max(offset + 1, 0)
    return found


class Seeks:
    """The last seek of each partition: where from, the end then seen, and when. One found
    again exactly as it was left is sought again only after RESEEK_AFTER_S (an end offset
    past the last record, e.g. a transaction marker written by another client, would be
    "stalled" every round). Bounded by the partitions this worker is assigned."""

    def __init__(self) -> None:
        self._last: dict[Any, tuple[tuple[int, int], float]] = {}

    def due(self, found: Mapping[Any, int], ends: Mapping[Any, int], now: float
            ) -> dict[Any, int]:
        return {tp: offset for tp, offset in found.items()
                if not again_too_soon(self._last.get(tp), (offset, ends[tp]), now)}

    async def seek(self, consumer: Any, found: Mapping[Any, int], ends: Mapping[Any, int],
                   now: float) -> None:
        for tp, offset in found.items():
            await consumer.seek(tp, offset)
            self._last[tp] = ((offset, ends[tp]), now)


async def _unstick_recovery(app: Any, seeks: Seeks, log: Any) -> None:
    """A table's recovery that waits for changelog records never handed to it (seen on a
    second notifications worker: one partition of its `told` changelog, nothing received
    for minutes, the worker never ready) is fed again from the record after the last it
    applied; what it gets twice it skips (it applies only offsets past the last)."""
    recovery = app.tables.recovery
    started = recovery._recovery_started_at
    if not recovery.in_recovery or started is None:
        return
    now = time.monotonic()
    highwaters = dict(recovery.active_highwaters)
    found = seeks.due(changelogs_stuck(
        dict(recovery.active_offsets), highwaters, dict(recovery._active_events_received_at),
        started, now), highwaters, now)
    if not found:
        return
    log.warning("recovery.stalled", waiting={f"{tp.topic}/{tp.partition}": highwaters[tp] + 1
                                             - offset for tp, offset in found.items()})
    await seeks.seek(app.consumer, found, highwaters, now)


async def watch(app: Any, service: str, consumed: set[str], assigned: asyncio.Event,
                last_handled: Callable[[], float], log: Any) -> None:
    seeks = Seeks()
    while True:
        await asyncio.sleep(EVERY_S)
        try:
            await _unstick_recovery(app, seeks, log)
        except Exception as exc:  # Faust's recovery between states: try next round
            log.debug("recovery.watch_skipped", reason=type(exc).__name__)
        consumer = app.consumer
        if assigned.is_set() and not app.rebalancing:
            try:
                await refetch_skipped(consumer, log)
            except Exception as exc:  # the consumer is between states: try next round
                log.debug("stream.refetch_skipped_later", reason=type(exc).__name__)
        idle = time.monotonic() - last_handled()
        if idle < STALLED_AFTER_S or app.rebalancing or not assigned.is_set() \
                or not consumer.flow_active:
            metrics.STREAM_STALLED.labels(service).set(0)
            continue
        try:
            tps = [tp for tp in consumer.assignment() if tp.topic in consumed]
            ends = await consumer.highwaters(*tps) if tps else {}
        except Exception:  # the consumer is between states (starting, rebalancing)
            continue
        now = time.monotonic()
        found = seeks.due(stuck(dict(consumer._read_offset), dict(consumer._committed_offset),
                                ends, consumed), ends, now)
        metrics.STREAM_STALLED.labels(service).set(1 if found else 0)
        if not found:
            continue
        log.warning("stream.stalled", idle_s=round(idle),
                    waiting={f"{tp.topic}/{tp.partition}": ends[tp] - offset
                             for tp, offset in found.items()})
        await seeks.seek(consumer, found, ends, now)
        log.warning("stream.refetched", partitions=len(found))
