"""Record headers of the contract: ``iom-schema``, ``iom-cause`` and the dead-letter ones."""

from __future__ import annotations

from collections.abc import Sequence

SCHEMA = "iom-schema"
CAUSE = "iom-cause"
DLQ_TOPIC = "iom-dlq-topic"
DLQ_PARTITION = "iom-dlq-partition"
DLQ_OFFSET = "iom-dlq-offset"
DLQ_SERVICE = "iom-dlq-service"
DLQ_REASON = "iom-dlq-reason"
DLQ_AT = "iom-dlq-at"

Headers = list[tuple[str, bytes]]


def cause(topic: str, partition: int, offset: int) -> str:
    return f"{topic}/{partition}/{offset}"


def record_headers(record: str, caused_by: str | None = None) -> Headers:
    headers = [(SCHEMA, record.encode())]
    if caused_by:
        headers.append((CAUSE, caused_by.encode()))
    return headers


def as_dict(headers: Sequence[tuple[str, bytes]] | dict[str, bytes] | None) -> dict[str, str]:
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, dict) else headers
    return {k: (v.decode(errors="replace") if v is not None else "") for k, v in items}
