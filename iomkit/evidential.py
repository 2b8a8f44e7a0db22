"""A hit's evidence fixes are where a person was: readable only for the evidential period
(``IOM_EVIDENCE_DAYS``, 30 by default, the fix retention of the contract; see
deploy/retention.toml). Pure, the clock given: gps_stream's published hits and the
notifications console's cards both pass every hit through :func:`current` when they keep
it, when they are read and at their hourly purge; a notification sent again (a recovery,
a redelivery) passes its payload through :func:`payload`.

A fix older than the cutoff is dropped from the hit; a hit left with no fix (or a withdrawn
hit whose nearest fix is older) is forgotten whole: its crime's place and time would still
say where the person was. ``nearest_fix_at`` and ``distance_m`` are those of the nearest fix
left (as gps_stream's assembler picks it: the smallest distance, then the earliest).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cutoff(now: datetime, days: float) -> datetime:
    """The earliest moment a fix may have been recorded at to be shown at ``now``."""
    return now - timedelta(days=days)


def _at(value: datetime | int | str) -> datetime:
    """A time as decoded (datetime), as assembled (epoch milliseconds) or in a JSON payload
    (ISO 8601)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return _EPOCH + timedelta(milliseconds=value)


def current(hit: Mapping[str, Any], before: datetime) -> dict[str, Any] | None:
    """``hit`` (a CrimeHit as a dict) without its fixes recorded before ``before``; None
    when nothing of its evidence is left. The same dict values otherwise (a copy)."""
    fixes = hit.get("fixes") or []
    kept = [f for f in fixes if _at(f["recorded_at"]) >= before]
    if not kept and (fixes or _at(hit["nearest_fix_at"]) < before):
        return None
    if len(kept) == len(fixes):
        return dict(hit)
    nearest = min(kept, key=lambda f: (f["distance_m"], _at(f["recorded_at"])))
    return {**hit, "fixes": kept, "nearest_fix_at": nearest["recorded_at"],
            "distance_m": nearest["distance_m"]}


def payload(text: str, before: datetime) -> str | None:
    """A notification's payload (JSON, the record as the recipient's role receives it)
    without the evidence fixes recorded before ``before``: the same text when it carries
    none of them, None when it carried fixes and none is left (not to be sent again)."""
    value = orjson.loads(text)
    fixes = value.get("fixes") if isinstance(value, dict) else None
    if not fixes or all(_at(f["recorded_at"]) >= before for f in fixes):
        return text
    kept = [f for f in fixes if _at(f["recorded_at"]) >= before]
    if not kept:
        return None
    value["fixes"] = kept
    if "nearest_fix_at" in value or "distance_m" in value:
        nearest = min(kept, key=lambda f: (f["distance_m"], _at(f["recorded_at"])))
        value.update({k: nearest[v] for k, v in (("nearest_fix_at", "recorded_at"),
                                                 ("distance_m", "distance_m")) if k in value})
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
