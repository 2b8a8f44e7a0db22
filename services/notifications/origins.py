"""Where each notification of a hit came from (the hit's arrival on the bus and its
detected_at), kept from routing to delivery for the hit_to_webhook latency. Pure.

Only the worker that routed the hit knows it (one that takes an outbox over does not
measure those), and it is lost with the worker: a latency, not a record. At most ``limit``
entries, the oldest dropped first; an entry goes when its notification is delivered or
fails."""

from __future__ import annotations

from datetime import datetime

Origin = tuple[int | None, datetime]  # arrival ms (Kafka timestamp), detected_at


class Origins:
    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._by_id: dict[str, Origin] = {}  # insertion order: the oldest first

    def remember(self, notification_id: str, arrived_ms: int | None,
                 detected_at: datetime) -> None:
        self._by_id.pop(notification_id, None)  # a resend is newer
        self._by_id[notification_id] = (arrived_ms, detected_at)
        while len(self._by_id) > self.limit:
            del self._by_id[next(iter(self._by_id))]

    def take(self, notification_id: str) -> Origin | None:
        return self._by_id.pop(notification_id, None)

    def __len__(self) -> int:
        return len(self._by_id)
