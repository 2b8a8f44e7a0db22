"""Avro single-object encoding (``C3 01`` + CRC-64-AVRO fingerprint + body) with fastavro.

A reader resolves the writer's fingerprint against every schema in ``schemas/`` and
``schemas/released/*/``, then reads with the current schema of the same record, so old and
new writers coexist.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_LEN = 10


class DecodeError(ValueError):
    """A value that is not a record we know: the reason goes to the dead letter."""


class EncodeError(ValueError):
    """A value that does not fit its schema."""


@dataclass(frozen=True)
class SchemaVersion:
    name: str  # short record name, e.g. "Person"
    release: str  # "current" or the released folder name, e.g. "v1"
    raw: dict[str, Any]
    parsed: Any
    fingerprint: bytes  # 8 bytes, little-endian CRC-64-AVRO
    path: Path


def load_schema(path: Path, release: str = "current") -> SchemaVersion:
    raw = json.loads(path.read_text())
    parsed = fastavro.parse_schema(raw, named_schemas={})
    canonical = to_parsing_canonical_form(parsed)
    return SchemaVersion(
        name=raw["name"],
        release=release,
        raw=raw,
        parsed=parsed,
        fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
        path=path,
    )


class SchemaRegistry:
    """Every schema this checkout knows: the current ones and all released versions."""

    def __init__(self, schemas_dir: Path) -> None:
        self.schemas_dir = schemas_dir
        self._current: dict[str, SchemaVersion] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        self._released: dict[str, list[SchemaVersion]] = {}
        for path in sorted(schemas_dir.glob("*.avsc")):
            version = load_schema(path)
            self._current[version.name] = version
            self._by_fingerprint[version.fingerprint] = version
        released = schemas_dir / "released"
        for folder in sorted(released.iterdir() if released.is_dir() else [], key=_release_key):
            for path in sorted(folder.glob("*.avsc")):
                version = load_schema(path, folder.name)
                self._released.setdefault(version.name, []).append(version)
                self._by_fingerprint.setdefault(version.fingerprint, version)
        if not self._current:
            raise FileNotFoundError(f"no .avsc schemas in {schemas_dir}")

    def names(self) -> list[str]:
        return sorted(self._current)

    def current(self, name: str) -> SchemaVersion:
        try:
            return self._current[name]
        except KeyError:
            raise KeyError(f"unknown record {name!r}; known: {', '.join(self.names())}") from None

    def released(self, name: str) -> list[SchemaVersion]:
        """Released versions of a record, oldest first."""
        return list(self._released.get(name, []))

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        return self._by_fingerprint.get(fp)


def _release_key(folder: Path) -> tuple[int, str]:
    digits = folder.name.lstrip("v")
    return (int(digits) if digits.isdigit() else 0, folder.name)


@dataclass(frozen=True)
class Decoded:
    name: str
    value: dict[str, Any]
    writer: SchemaVersion


class Codec:
    """Encode and decode Avro single-object values for the records of a registry."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry

    def encode(self, name: str, value: dict[str, Any]) -> bytes:
        version = self.registry.current(name)
        buf = io.BytesIO()
        buf.write(MAGIC)
        buf.write(version.fingerprint)
        try:
            fastavro.schemaless_writer(buf, version.parsed, value, strict=True)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EncodeError(f"{name}: {exc}") from exc
        return buf.getvalue()

    def writer_of(self, data: bytes) -> SchemaVersion:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise DecodeError(f"value is {type(data).__name__}, not bytes")
        if len(data) < HEADER_LEN:
            raise DecodeError(f"value of {len(data)} bytes is shorter than the 10-byte header")
        if data[:2] != MAGIC:
            raise DecodeError(f"not Avro single-object encoding: starts {bytes(data[:2]).hex()}")
        fp = bytes(data[2:HEADER_LEN])
        writer = self.registry.by_fingerprint(fp)
        if writer is None:
            raise DecodeError(f"unknown schema fingerprint {fp.hex()}")
        return writer

    def decode(self, data: bytes, expect: str | None = None) -> Decoded:
        writer = self.writer_of(data)
        if expect is not None and writer.name != expect:
            raise DecodeError(f"expected a {expect} record, got {writer.name}")
        reader = self.registry.current(writer.name)
        body = io.BytesIO(data[HEADER_LEN:])
        try:
            if reader is writer:
                value = fastavro.schemaless_reader(body, writer.parsed, None)
            else:
                value = fastavro.schemaless_reader(body, writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises EOFError, ValueError, IndexError ...
            reason = f"{writer.name}: body does not decode ({type(exc).__name__}: {exc})"
            raise DecodeError(reason) from exc
        if body.tell() != len(data) - HEADER_LEN:
            trailing = len(data) - HEADER_LEN - body.tell()
            raise DecodeError(f"{writer.name}: {trailing} trailing bytes after the record")
        return Decoded(writer.name, value, writer)  # type: ignore[arg-type]
