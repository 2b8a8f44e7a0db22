"""Dead letters: the original bytes, unchanged, on iom.dead-letters with the reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from iomkit import headers as h
from iomkit import log as logging
from iomkit.metrics import DEAD_LETTERS
from iomkit.topics import DEAD_LETTERS as DLQ_TOPIC

Send = Callable[[str, bytes | None, bytes | None, h.Headers], Awaitable[Any]]
Clock = Callable[[], datetime]

_log = logging.get("iomkit.deadletters")
DLQ_HEADER_NAMES = {
    h.DLQ_TOPIC, h.DLQ_PARTITION, h.DLQ_OFFSET, h.DLQ_SERVICE, h.DLQ_REASON, h.DLQ_AT,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def dead_letter_headers(
    topic: str, partition: int, offset: int, service: str, reason: str, at: datetime,
    original: Sequence[tuple[str, bytes]] = (),
) -> h.Headers:
    kept = [(k, v) for k, v in original if k not in DLQ_HEADER_NAMES]
    return [
        *kept,
        (h.DLQ_TOPIC, topic.encode()),
        (h.DLQ_PARTITION, str(partition).encode()),
        (h.DLQ_OFFSET, str(offset).encode()),
        (h.DLQ_SERVICE, service.encode()),
        (h.DLQ_REASON, reason[:2000].encode()),
        (h.DLQ_AT, at.astimezone(UTC).isoformat().encode()),
    ]


class DeadLetters:
    """Sends a failed record to iom.dead-letters, logs it (no key: it is a person id) and
    counts it. ``send(topic, key, value, headers)`` is the service's own producer."""

    def __init__(self, service: str, send: Send, clock: Clock = utc_now) -> None:
        self.service = service
        self._send = send
        self._clock = clock

    async def __call__(
        self, *, topic: str, partition: int, offset: int, key: bytes | None,
        value: bytes | None, reason: str, kind: str,
        original_headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        headers = dead_letter_headers(
            topic, partition, offset, self.service, reason, self._clock(), original_headers
        )
        await self._send(DLQ_TOPIC.name, key, value, headers)
        DEAD_LETTERS.labels(self.service, topic, kind).inc()
        _log.warning(
            "record.dead_lettered", service=self.service, topic=topic, partition=partition,
            offset=offset, kind=kind, reason=reason,
        )
