"""Avro single-object encoding (``C3 01`` + CRC-64-AVRO fingerprint + body) with fastavro.

A reader resolves the writer's fingerprint against every schema in ``schemas/`` and
``schemas/released/*/``, then reads with the current schema of the same record, so old and
new writers coexist.

Flat records of primitive fields (TagPing) take a generated fast path first
(``iomkit.fastcodec``): byte-identical to fastavro, and anything it does not vouch for
is done again by fastavro, so results and error messages are fastavro's.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from iomkit.fastcodec import CompiledRecord, compile_record

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


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~10 % of a TagPing decode
class Decoded:
    name: str
    value: dict[str, Any]
    writer: SchemaVersion


_UNCOMPILED: Any = object()  # "not looked at yet", unlike None: "no fast path"


@dataclass(frozen=True, slots=True)
class _FastDecoder:
    record: CompiledRecord
    writer: SchemaVersion  # the current schema the record was compiled from


class Codec:
    """Encode and decode Avro single-object values for the records of a registry.

    The fast path of each current flat schema is compiled on first use.
    """

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._encoders: dict[str, CompiledRecord | None] = {}  # by record name
        self._decoders: dict[bytes, _FastDecoder | None] = {}  # by header, known ones only

    def _compiled(self, version: SchemaVersion) -> CompiledRecord | None:
        """The fast path of a current schema, compiled once (None: not a flat record)."""
        compiled = self._encoders.get(version.name, _UNCOMPILED)
        if compiled is _UNCOMPILED:
            compiled = compile_record(version.raw, MAGIC + version.fingerprint)
            self._encoders[version.name] = compiled
        return compiled  # type: ignore[no-any-return]

    def encode(self, name: str, value: dict[str, Any]) -> bytes:
        compiled = self._encoders.get(name, _UNCOMPILED)
        if compiled is _UNCOMPILED:
            compiled = self._compiled(self.registry.current(name))
        if compiled is not None:
            try:
                return compiled.encode(value)  # type: ignore[no-any-return]
            except Exception:  # not the plain case: fastavro decides, and names any error
                pass
        version = self.registry.current(name)
        buf = io.BytesIO()
        buf.write(MAGIC)
        buf.write(version.fingerprint)
        try:
            # Strict, but a missing field with a default takes it (fastavro's
            # strict_allow_default; an unknown field is still an error), so a producer
            # written before a compatible addition (contract 1.1) still encodes.
            fastavro.schemaless_writer(buf, version.parsed, value, strict_allow_default=True)
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

    def _fast_decoder(self, header: bytes) -> _FastDecoder | None:
        """The fast path for values starting with ``header``: only a current flat schema
        has one. Only headers of known schemas are remembered, so poison values cannot
        grow the cache."""
        if len(header) < HEADER_LEN or header[:2] != MAGIC:
            return None
        writer = self.registry.by_fingerprint(header[2:])
        if writer is None:
            return None
        fast = None
        if writer is self.registry.current(writer.name):
            compiled = self._compiled(writer)
            fast = _FastDecoder(compiled, writer) if compiled is not None else None
        self._decoders[header] = fast
        return fast

    def decode(self, data: bytes, expect: str | None = None) -> Decoded:
        if type(data) is bytes:
            header = data[:HEADER_LEN]
            fast = self._decoders.get(header, _UNCOMPILED)
            if fast is _UNCOMPILED:
                fast = self._fast_decoder(header)
            if fast is not None and (expect is None or expect == fast.writer.name):
                try:
                    return Decoded(fast.writer.name, fast.record.decode(data), fast.writer)
                except Exception:  # corrupt or unusual: fastavro decides, and says why
                    pass
        return self._decode_fastavro(data, expect)

    def _decode_fastavro(self, data: bytes, expect: str | None) -> Decoded:
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
