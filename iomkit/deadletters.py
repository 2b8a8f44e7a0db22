"""Dead letters: the original bytes, unchanged, on iom.dead-letters with the reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iomkit import headers as h
from iomkit import log as logging
from iomkit.codec import Codec, DecodeError
from iomkit.kernel import decode
from iomkit.metrics import DEAD_LETTERS
from iomkit.topics import BY_NAME, TopicSpec
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


# -- replay ------------------------------------------------------------------------------


REPLAY, KEEP, DROP, OTHER = "replay", "keep", "drop", "other"
ACTIONS = (REPLAY, KEEP, DROP, OTHER)


@dataclass(frozen=True)
class Verdict:
    """What replay does with one letter: put it back (``replay``), leave it for a later
    run (``keep``: not committed past), pass it for good (``drop``: committed past), or
    pass it as another topic's (``other``: a replay of one topic has a group of its own)."""

    action: str
    reason: str
    origin: TopicSpec | None = None


def judge(codec: Codec, headers: Mapping[str, str], value: bytes | None, key: bytes | None,
          *, only_topic: str | None, latest: Mapping[tuple[str, bytes], tuple[int, int]],
          drop_refused: bool = False) -> Verdict:
    """The verdict on one dead letter. Pure: ``latest`` gives, for the compacted origin
    topics, the (partition, offset) of each key's latest value there.

    The letter's headers are not trusted: its origin must be a contract topic of records, and
    the value must decode as that topic's record (a letter of another type is refused). On
    a compacted topic a letter older than its key's latest value is dropped: putting it back
    would undo a newer one (an old Person after a newer one)."""
    name = headers.get(h.DLQ_TOPIC, "")
    origin = BY_NAME.get(name)
    if only_topic and name != only_topic:
        return Verdict(OTHER, f"from {name or 'an unnamed topic'}, not {only_topic}")
    refuse = DROP if drop_refused else KEEP
    if origin is None or origin.record is None or origin is DLQ_TOPIC:
        return Verdict(refuse, f"origin {name!r} is not a contract topic of records")
    try:
        decode(codec, origin, value)
    except DecodeError as exc:
        return Verdict(refuse, f"still refused: {exc}")
    if origin.compacted and key is not None:
        newest = latest.get((origin.name, key))
        was = (headers.get(h.DLQ_PARTITION, ""), headers.get(h.DLQ_OFFSET, ""))
        if newest is not None and (not all(x.isdigit() for x in was)
                                   or newest != (int(was[0]), int(was[1]))):
            return Verdict(DROP, f"older than the latest value of its key on {origin.name} "
                                 f"(partition {newest[0]} offset {newest[1]})", origin)
    return Verdict(REPLAY, f"back to {origin.name}", origin)


def committable(verdicts: Sequence[tuple[int, str]]) -> int | None:
    """The offset to commit for one partition's letters (offset, action) in order: past every
    letter replayed or dropped, up to the first one kept. None when nothing can be."""
    position = None
    for offset, action in verdicts:
        if action == KEEP:
            break
        position = offset + 1
    return position
