"""Retry delays: exponential backoff with full jitter. Pure (random is injected).

Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the retries of
many senders after an outage, so a receiver coming back is not hit by all of them at once.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 60.0
    max_attempts: int = 8
    random: Callable[[], float] = _random.random

    def ceiling(self, attempt: int) -> float:
        """The longest wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.cap_s, self.base_s * 2 ** (attempt - 1))

    def delay(self, attempt: int) -> float:
        return self.random() * self.ceiling(attempt)

    def gives_up(self, attempt: int, limit: int | None = None) -> bool:
        """True when attempt number ``attempt`` was the last one (of ``limit``, when a
        recipient has its own)."""
        return attempt >= (limit or self.max_attempts)
