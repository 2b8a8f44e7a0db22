"""The heap policy of a hot path: freeze after each batch, a full collection hourly."""

from __future__ import annotations

import gc

from iomkit.heap import Heap


def test_survivors_are_frozen_and_a_full_collection_comes_once_an_interval() -> None:
    now = [0.0]
    heap = Heap(clock=lambda: now[0], full_every_s=60.0)
    try:
        kept = [{"state": n} for n in range(1000)]  # what a batch leaves behind
        assert heap.after_batch() is False
        assert gc.get_freeze_count() >= len(kept)
        cycle: list[object] = []
        cycle.append(cycle)  # garbage with a cycle, frozen with the rest
        heap.after_batch()
        ref = id(cycle)
        del cycle
        now[0] = 61.0
        assert heap.after_batch() is True  # unfrozen, collected, frozen again
        assert not any(id(o) == ref for o in gc.get_objects())
        assert heap.after_batch() is False  # not again before the next interval
    finally:
        gc.unfreeze()
