"""A Faust stream that stopped being fed, found and fed again.

Seen on a referrals worker restarted after a SIGKILL (tests/faults/test_referrals_kill.py):
the consumer holds its partitions, flow is on, none is paused or held back for a full
buffer, fetch requests go on, and yet records past the last one handed to the agent never
come: Faust dropped part of a fetched batch (it breaks out of a batch when flow stops or
the generation changes, with the fetch position already past it) and nothing fetches it
again.
Nothing is logged, the lag only grows.

The watch: when records wait past the last offset handed to the streams and the agents have
handled nothing for ``STALLED_AFTER_S``, say so (log and ``iom_stream_stalled``) and seek
those partitions to the record after the last one handed out. The agents are idle then, so
nothing is handed twice that was not already going to be (at-least-once either way: what
was handed but not committed is read again after any restart)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from iomkit import metrics

EVERY_S = 5.0
STALLED_AFTER_S = 15.0


def stuck(read: Mapping[Any, int | None], highwaters: Mapping[Any, int | None],
          consumed: set[str]) -> dict[Any, int]:
    """Partitions of the consumed topics with records past the last offset handed to the
    streams (``read``), each with the offset to fetch from. A partition nothing was handed
    from yet is left alone: its position is the committed offset, not ours to know."""
    found = {}
    for tp, highwater in highwaters.items():
        last = read.get(tp)
        if tp.topic in consumed and last is not None and highwater is not None \
                and highwater > last + 1:
            found[tp] = last + 1
    return found


def _names(tps: Iterable[Any] | None) -> list[str]:
    return sorted(f"{tp.topic}/{tp.partition}" for tp in (tps or ()))


async def watch(app: Any, service: str, consumed: set[str], assigned: asyncio.Event,
                last_handled: Callable[[], float], log: Any) -> None:
    while True:
        await asyncio.sleep(EVERY_S)
        if app.rebalancing or not assigned.is_set() or not app.consumer.flow_active:
            continue
        idle = time.monotonic() - last_handled()
        consumer = app.consumer
        try:
            highwaters = {tp: consumer.highwater(tp) for tp in consumer.assignment()}
            found = stuck(consumer._read_offset, highwaters, consumed)
        except Exception:  # the consumer is between states (starting, rebalancing)
            continue
        stalled = bool(found) and idle >= STALLED_AFTER_S
        metrics.STREAM_STALLED.labels(service).set(1 if stalled else 0)
        if not stalled:
            continue
        log.warning("stream.stalled", idle_s=round(idle),
                    waiting={f"{tp.topic}/{tp.partition}": highwaters[tp] - offset
                             for tp, offset in found.items()},
                    paused=_names(set(found) & set(consumer._paused_partitions)),
                    inactive=_names(set(found) - set(consumer._active_partitions or ())),
                    buffered=_names(set(found) & set(consumer._buffered_partitions)))
        for tp, offset in found.items():
            await consumer.seek(tp, offset)
        log.warning("stream.refetched", partitions=len(found))
