"""The most recent few thousand notification ids, each with a value or none, the oldest
forgotten first. Pure. Two uses:

- ids lately finished (delivered, or failed for good), so that the same notification made
  again (its hit read a second time after a worker was lost between publishing it and
  recording it in ``told``) is not sent a second time: a hit is read again within seconds
  of the loss, not after thousands of others;
- for the ``hit_to_webhook`` latency, where each hit's notification came from (the hit's
  arrival on the bus, its detected_at), kept from routing to delivery: only the worker that
  routed the hit knows it, and it is lost with the worker (a latency, not a record)."""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._by_id: dict[str, V | None] = {}  # insertion order: the oldest first

    def add(self, notification_id: str, value: V | None = None) -> None:
        self._by_id.pop(notification_id, None)  # again: now the newest
        self._by_id[notification_id] = value
        while len(self._by_id) > self.limit:
            del self._by_id[next(iter(self._by_id))]

    def take(self, notification_id: str) -> V | None:
        return self._by_id.pop(notification_id, None)

    def __contains__(self, notification_id: object) -> bool:
        return notification_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)
