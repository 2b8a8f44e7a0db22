"""What every way of reading and writing shares (Faust agents, the batch consumer, group-less
readers): one decode that refuses every kind of poison with a reason, and the outputs'
deliveries checked before anything is committed.

A record is poison when it is not Avro single-object encoding, its fingerprint is unknown,
its body does not decode, it is of another record than its topic's, it carries NaN or an
infinity in any number (no field of the contract means that), or it is a tombstone on a
topic of records. Poison goes to the dead letters with the reason; it never stops a reader.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from iomkit.codec import Codec, DecodeError
from iomkit.topics import TopicSpec

# When the record being handled arrived on the bus (its Kafka timestamp, ms), set by every
# way of reading around its handler (Quix Streams' message context): what an output's
# end-to-end latency counts from (iomkit.metrics.observe_latency).
_arrived: contextvars.ContextVar[int | None] = contextvars.ContextVar("arrived", default=None)


def arrived_ms() -> int | None:
    """The Kafka timestamp of the record being handled; None outside a handler."""
    return _arrived.get()


@contextmanager
def handling(timestamp_ms: int | float | None) -> Iterator[None]:
    token = _arrived.set(None if timestamp_ms is None else int(timestamp_ms))
    try:
        yield
    finally:
        _arrived.reset(token)


class DeliveryFailed(RuntimeError):
    """An output the broker did not acknowledge: its input must not be committed."""


def decode(codec: Codec, spec: TopicSpec, raw: bytes | None) -> Any:
    """The value of one record of ``spec``'s topic, or ``DecodeError`` saying why not."""
    if raw is None:
        raise DecodeError(f"{spec.name}: a record with no value (tombstone)")
    try:
        if spec.record is None:
            value = orjson.loads(raw)
        else:
            value = codec.decode(raw, expect=spec.record).value
    except DecodeError as exc:
        raise DecodeError(f"{spec.name}: {exc}") from exc
    except Exception as exc:  # orjson, or a value the decoder could not represent
        raise DecodeError(f"{spec.name}: {type(exc).__name__}: {exc}") from exc
    where = non_finite(value)
    if where is not None:
        raise DecodeError(f"{spec.record or spec.name}: {where} is not a finite number")
    return value


def non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or infinity in a decoded value, or None."""
    kind = type(value)
    if kind is float:
        return None if _finite(value) else (path or "value")
    if kind is dict:
        for name, item in value.items():
            # Flat fields checked here, not by a call each: pings cross this line 100,000
            # times a second.
            inner = type(item)
            if inner is float:
                if not _finite(item):
                    return f"{path}.{name}" if path else str(name)
            elif inner is dict or inner is list:
                found = non_finite(item, f"{path}.{name}" if path else str(name))
                if found:
                    return found
    elif kind is list:
        for n, item in enumerate(value):
            found = non_finite(item, f"{path}[{n}]")
            if found:
                return found
    return None


_finite = math.isfinite


async def settle(deliveries: Iterable[asyncio.Future[Any]]) -> int:
    """Wait for every delivery; raise ``DeliveryFailed`` naming the first that failed.

    aiokafka's ``flush()`` waits for the batches but does not raise for one that failed or
    expired: only the futures ``send()`` returned say so. Returns how many were delivered.
    After a flush they are all done: only those still pending are waited for (a gather of a
    batch's ten thousand futures cost a tenth of the risk hot path)."""
    pending = list(deliveries)
    waiting = [delivery for delivery in pending if not delivery.done()]
    if waiting:
        await asyncio.wait(waiting)
    for delivery in pending:
        failure = (asyncio.CancelledError("the send was cancelled") if delivery.cancelled()
                   else delivery.exception())
        if failure is not None:
            raise DeliveryFailed(f"an output was not delivered: {type(failure).__name__}: "
                                 f"{failure}") from failure
    return len(pending)


class Outputs:
    """A producer whose sends are remembered until ``flush()``, which waits for the broker
    and raises ``DeliveryFailed`` if any of them was lost: a batch's outputs are checked
    before its input is committed. Everything else is the producer's own."""

    def __init__(self, producer: Any) -> None:
        self.producer = producer
        # One batch's outputs: emptied at every flush, so bounded by what a batch sends.
        self._pending: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   partition: int | None = None, headers: Any = None) -> asyncio.Future[Any]:
        delivery = await self.producer.send(topic, value, key=key, partition=partition,
                                            headers=headers)
        self._pending.append(delivery)
        return delivery

    async def flush(self) -> int:
        await self.producer.flush()
        pending, self._pending = self._pending, []
        return await settle(pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.producer, name)


EXIT_OUTPUT_LOST = 70  # sysexits EX_SOFTWARE: the supervisor restarts the worker


def stop_now(log: Any, event: str, **fields: Any) -> None:
    """Leave the process at once, committing nothing more: after an output was lost (or the
    reader broke) the inputs since the last commit must be read again, and a graceful
    shutdown would commit them (Faust commits whatever its streams acknowledged)."""
    log.error(event, **fields, exit_code=EXIT_OUTPUT_LOST)
    os._exit(EXIT_OUTPUT_LOST)
