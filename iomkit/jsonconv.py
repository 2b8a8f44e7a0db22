"""JSON to Avro-ready values, with errors that name the record, the field and the problem.

The JSON convention: dates "YYYY-MM-DD"; timestamps ISO-8601 with a zone ("...Z") or epoch
milliseconds; unions as the plain value or null; enums as their symbol.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class FieldError:
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class RecordError(ValueError):
    def __init__(self, record: str, errors: list[FieldError]) -> None:
        self.record = record
        self.errors = errors
        super().__init__(f"{record}: " + "; ".join(str(e) for e in errors))


class _Invalid(Exception):
    def __init__(self, problem: str) -> None:
        self.problem = problem


def from_json(schema: dict[str, Any], obj: Any) -> dict[str, Any]:
    """Convert one JSON object to the value fastavro writes, or raise RecordError."""
    errors: list[FieldError] = []
    named: dict[str, Any] = {}
    value = _convert(schema, obj, schema["name"], errors, named, schema.get("namespace", ""))
    if errors:
        raise RecordError(schema["name"], errors)
    return value


def _describe(obj: Any) -> str:
    text = orjson.dumps(obj).decode() if _jsonable(obj) else repr(obj)
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(obj: Any) -> bool:
    try:
        orjson.dumps(obj)
    except TypeError:
        return False
    return True


def _full(name: str, namespace: str) -> str:
    return name if "." in name else f"{namespace}.{name}" if namespace else name


def _convert(
    schema: Any, obj: Any, path: str, errors: list[FieldError], named: dict[str, Any], ns: str
) -> Any:
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    elif isinstance(schema, str) and _full(schema, ns) in named:
        schema = named[_full(schema, ns)]
    if isinstance(schema, list):
        return _union(schema, obj, path, errors, named, ns)
    kind = schema if isinstance(schema, str) else schema["type"]
    if isinstance(schema, dict) and kind in ("record", "enum", "fixed"):
        ns = schema.get("namespace", ns)
        named[_full(schema["name"], ns)] = schema
        named[schema["name"]] = schema
    try:
        if kind == "record":
            return _record(schema, obj, path, errors, named, ns)
        if kind == "array":
            if not isinstance(obj, list):
                raise _Invalid(f"expected an array, got {_describe(obj)}")
            return [
                _convert(schema["items"], item, f"{path}[{i}]", errors, named, ns)
                for i, item in enumerate(obj)
            ]
        if kind == "map":
            if not isinstance(obj, dict):
                raise _Invalid(f"expected an object, got {_describe(obj)}")
            return {
                key: _convert(schema["values"], item, f"{path}.{key}", errors, named, ns)
                for key, item in obj.items()
            }
        if kind == "enum":
            if not isinstance(obj, str) or obj not in schema["symbols"]:
                allowed = ", ".join(schema["symbols"])
                raise _Invalid(f"expected one of {allowed}; got {_describe(obj)}")
            return obj
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        return _primitive(kind, logical, obj)
    except _Invalid as invalid:
        errors.append(FieldError(path, invalid.problem))
        return None


def _record(
    schema: dict[str, Any], obj: Any, path: str, errors: list[FieldError],
    named: dict[str, Any], ns: str,
) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        raise _Invalid(f"expected an object, got {_describe(obj)}")
    fields = {f["name"]: f for f in schema["fields"]}
    for unknown in sorted(set(obj) - set(fields)):
        errors.append(FieldError(f"{path}.{unknown}", "unknown field"))
    out: dict[str, Any] = {}
    for name, field in fields.items():
        where = f"{path}.{name}"
        if name in obj:
            out[name] = _convert(field["type"], obj[name], where, errors, named, ns)
        elif "default" in field:
            out[name] = copy.deepcopy(field["default"])  # never hand out the schema's own
        else:
            errors.append(FieldError(where, "missing required field"))
    return out


def _union(
    branches: list[Any], obj: Any, path: str, errors: list[FieldError],
    named: dict[str, Any], ns: str,
) -> Any:
    if obj is None and "null" in branches:
        return None
    candidates = [b for b in branches if b != "null"]
    last: list[FieldError] = []
    for branch in candidates:
        attempt: list[FieldError] = []
        value = _convert(branch, obj, path, attempt, named, ns)
        if not attempt:
            return value
        last = attempt
    if obj is None:
        errors.append(FieldError(path, "must not be null"))
    else:
        errors.extend(last)
    return None


def _primitive(kind: str, logical: str | None, obj: Any) -> Any:
    if logical == "date":
        if isinstance(obj, str):
            try:
                return date.fromisoformat(obj)
            except ValueError:
                pass
        raise _Invalid(f"expected a date YYYY-MM-DD, got {_describe(obj)}")
    if logical in ("timestamp-millis", "timestamp-micros"):
        return _timestamp(obj)
    if kind == "null":
        if obj is not None:
            raise _Invalid(f"expected null, got {_describe(obj)}")
        return None
    if kind == "boolean":
        if not isinstance(obj, bool):
            raise _Invalid(f"expected true or false, got {_describe(obj)}")
        return obj
    if kind in ("int", "long"):
        low, high = INT_RANGE if kind == "int" else LONG_RANGE
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise _Invalid(f"expected a whole number, got {_describe(obj)}")
        if not low <= obj <= high:
            raise _Invalid(f"{obj} is out of range for {kind}")
        return obj
    if kind in ("float", "double"):
        if isinstance(obj, bool) or not isinstance(obj, int | float) or not math.isfinite(obj):
            raise _Invalid(f"expected a number, got {_describe(obj)}")
        return float(obj)
    if kind == "string":
        if not isinstance(obj, str):
            raise _Invalid(f"expected a string, got {_describe(obj)}")
        return obj
    raise _Invalid(f"type {kind} is not accepted from JSON")


def _timestamp(obj: Any) -> datetime:
    if isinstance(obj, int) and not isinstance(obj, bool):
        try:
            return datetime.fromtimestamp(obj / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise _Invalid(f"epoch milliseconds {obj} are out of range") from None
    if isinstance(obj, str):
        try:
            parsed = datetime.fromisoformat(obj)
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                raise _Invalid(f"timestamp {obj!r} has no time zone; add Z for UTC")
            return parsed.astimezone(UTC)
    example = "2026-11-02T09:30:00Z"
    raise _Invalid(f"expected an ISO-8601 timestamp such as {example}, got {_describe(obj)}")


def to_json(value: Any) -> bytes:
    """One record as a JSON line (dates and times in ISO-8601, UTC)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)
