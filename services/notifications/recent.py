"""The ids of the notifications most recently finished (delivered, or failed for good), so
that the same notification made again (its hit read a second time after a worker was lost
between publishing it and recording it in ``told``) is not sent a second time. Pure;
bounded: at most ``limit`` ids, the oldest forgotten first (a hit is read again within
seconds of the loss, not after thousands of others)."""

from __future__ import annotations


class Recent:
    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._ids: dict[str, None] = {}  # insertion order: the oldest first

    def add(self, notification_id: str) -> None:
        self._ids.pop(notification_id, None)
        self._ids[notification_id] = None
        while len(self._ids) > self.limit:
            del self._ids[next(iter(self._ids))]

    def __contains__(self, notification_id: object) -> bool:
        return notification_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)
