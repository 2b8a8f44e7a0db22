"""Python's full garbage collections kept off a hot path that holds a large state.

CPython's cyclic collector scans every tracked object at a full (generation 2) collection,
and runs one whenever the long-lived objects have grown by a quarter. A worker holding tens
of thousands of people's states or millions of fixes as Python objects then pauses for
100-300 ms every few seconds while collecting next to nothing (measured in the risk
worker: `make bench`'s event-to-grade p99 of 540-700 ms came from exactly those pauses).

After each batch the objects that survived it are frozen (``gc.freeze``: moved out of the
collector's reach, O(1)), so a collection only ever scans what the last batch made; states
and indexes are freed by reference counting as before. Garbage with cycles among frozen
objects would wait: once every ``FULL_EVERY_S`` everything is unfrozen, collected once and
frozen again.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FULL_EVERY_S = 3600.0


class Heap:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 full_every_s: float = FULL_EVERY_S) -> None:
        self.clock = clock
        self.full_every_s = full_every_s
        self.last_full = clock()

    def after_batch(self) -> bool:
        """Freeze what survived the batch; returns True when a full collection ran."""
        now = self.clock()
        if now - self.last_full < self.full_every_s:
            gc.freeze()
            return False
        self.last_full = now
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        return True
