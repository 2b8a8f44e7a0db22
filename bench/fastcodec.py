"""Faster encode/decode paths for ``iomkit.codec``, prototyped here to be measured.

Nothing in the services uses this module: it exists so the benchmark can put numbers on
two candidate replacements for ``Codec.encode`` / ``Codec.decode``:

* ``LowLevelCodec``: still fastavro, but calls its Cython ``write_data`` / ``_read_data``
  directly with a schema parsed once, so ``parse_schema`` and the option dict are not
  rebuilt on every call, and encodes into one ``bytearray`` that already holds the
  10-byte header (no ``BytesIO``). These are private fastavro functions: pin the version.
* ``CompiledCodec``: for flat records of primitive fields (TagPing is one), generates a
  straight-line Python function per schema with ``struct`` for the fixed-width fields
  and an inline zig-zag varint for strings and longs. Anything unusual (a missing or
  extra field, a wrong type, a value fastavro would reject) falls back to
  ``Codec.encode`` / ``Codec.decode``, so errors and edge cases stay exactly fastavro's.
  Output is byte-identical to fastavro's (checked by ``check_identical``).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import fastavro
from fastavro._read import _read_data  # private, Cython
from fastavro._write import write_data  # private, Cython

from iomkit.codec import HEADER_LEN, MAGIC, Codec, Decoded, DecodeError, SchemaVersion

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Below 2**33 s a double holds ms / 1000 to within 1 us / 2, so fromtimestamp rounds to
# the exact millisecond; 8e12 ms is the year 2223.
EXACT_MS = 8_000_000_000_000
Encoder = Callable[[dict[str, Any]], bytes]
DecoderFn = Callable[[bytes], dict[str, Any]]

_WRITE_OPTIONS = {"strict": True, "strict_allow_default": False, "disable_tuple_notation": False}
_READ_OPTIONS = {
    "return_record_name": False,
    "return_record_name_override": False,
    "handle_unicode_errors": "strict",
    "return_named_type": False,
    "return_named_type_override": False,
}


class LowLevelCodec:
    """fastavro's Cython writer/reader, called without the per-call schema parsing."""

    def __init__(self, codec: Codec, name: str) -> None:
        self.codec = codec
        self.version: SchemaVersion = codec.registry.current(name)
        self.name = name
        self.header = MAGIC + self.version.fingerprint
        self._named: dict[str, Any] = {}
        self._schema = fastavro.parse_schema(self.version.raw, self._named)
        self._read_named: dict[str, dict[str, Any]] = {"writer": dict(self._named), "reader": {}}

    def encode(self, value: dict[str, Any]) -> bytes:
        buf = bytearray(self.header)
        try:
            write_data(buf, value, self._schema, self._named, "", _WRITE_OPTIONS)
        except Exception:  # let the reference path produce the canonical EncodeError
            return self.codec.encode(self.name, value)
        return bytes(buf)

    def decode(self, data: bytes) -> Decoded:
        if not data.startswith(self.header):
            return self.codec.decode(data)
        body = io.BytesIO(data)
        body.seek(HEADER_LEN)
        try:
            value = _read_data(body, self._schema, self._read_named, None, _READ_OPTIONS)
        except Exception:
            return self.codec.decode(data)
        if body.tell() != len(data):
            return self.codec.decode(data)
        return Decoded(self.name, value, self.version)


# --- generated straight-line codecs for flat records ---------------------------------

_FIXED = {"double": "d", "float": "f"}
_VARINT = {"int", "long"}


def _field_kind(ftype: Any) -> str | None:
    """'string', 'int', 'long', 'ts-millis', 'double', 'float', 'boolean' or None."""
    if isinstance(ftype, str):
        return ftype if ftype in ("string", "int", "long", "double", "float", "boolean") else None
    if isinstance(ftype, dict):
        if ftype.get("type") == "long" and ftype.get("logicalType") == "timestamp-millis":
            return "ts-millis"
        if ftype.get("type") in ("string", "int", "long", "double", "float", "boolean") and (
            "logicalType" not in ftype
        ):
            return str(ftype["type"])
    return None


def flat_fields(raw: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The (name, kind) of each field, or None when the record is not flat-primitive."""
    fields = []
    for field in raw.get("fields", []):
        kind = _field_kind(field["type"])
        if kind is None:
            return None
        fields.append((field["name"], kind))
    return fields


def _groups(fields: Sequence[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Runs of adjacent fixed-width fields become one struct group."""
    groups: list[tuple[str, list[str]]] = []
    for name, kind in fields:
        if kind in _FIXED and groups and groups[-1][0].startswith("<"):
            fmt, names = groups[-1]
            groups[-1] = (fmt + _FIXED[kind], [*names, name])
        elif kind in _FIXED:
            groups.append(("<" + _FIXED[kind], [name]))
        else:
            groups.append((kind, [name]))
    return groups


def _varint_write(lines: list[str], expr: str, indent: str) -> None:
    lines += [
        f"{indent}n = ({expr} << 1) ^ ({expr} >> 63)",
        f"{indent}while n > 0x7F:",
        f"{indent}    out.append((n & 0x7F) | 0x80)",
        f"{indent}    n >>= 7",
        f"{indent}out.append(n)",
    ]


def _varint_read(lines: list[str], target: str, indent: str) -> None:
    lines += [
        f"{indent}b = data[pos]; pos += 1; n = b & 0x7F; shift = 7",
        f"{indent}while b & 0x80:",
        f"{indent}    b = data[pos]; pos += 1; n |= (b & 0x7F) << shift; shift += 7",
        f"{indent}if n >> 64: raise ValueError('varint longer than 64 bits')",
        f"{indent}{target} = (n >> 1) ^ -(n & 1)",
    ]


def compile_encoder(header: bytes, raw: dict[str, Any]) -> Encoder | None:
    """A function value -> bytes (header included), or None if the schema is not flat.

    It raises (any exception) where it cannot vouch for matching fastavro: the caller
    falls back to fastavro then. Timestamps are converted as fastavro does:
    ``int(dt.timestamp() * 1000)``.
    """
    fields = flat_fields(raw)
    if fields is None:
        return None
    env: dict[str, Any] = {"HEADER": header, "datetime": datetime, "bytearray": bytearray}
    lines = [
        "def encode(value):",
        f"    if len(value) != {len(fields)}: raise KeyError",
        "    out = bytearray(HEADER)",
    ]
    for i, (fmt, names) in enumerate(_groups(fields)):
        name = names[0]
        if fmt.startswith("<"):
            env[f"pack{i}"] = struct.Struct(fmt).pack
            args = ", ".join(f"value[{n!r}]" for n in names)
            lines.append(f"    out += pack{i}({args})")
        elif fmt == "string":
            lines += [
                f"    s = value[{name!r}]",
                "    if type(s) is not str: raise TypeError",
                "    s = s.encode()",
                "    ln = len(s)",
            ]
            _varint_write(lines, "ln", "    ")
            lines.append("    out += s")
        elif fmt == "boolean":
            lines += [
                f"    v = value[{name!r}]",
                "    if type(v) is not bool: raise TypeError",
                "    out.append(1 if v else 0)",
            ]
        else:  # int, long, ts-millis
            lines.append(f"    v = value[{name!r}]")
            if fmt == "ts-millis":
                lines += [
                    "    if type(v) is datetime and v.tzinfo is not None:",
                    "        v = int(v.timestamp() * 1000)",
                ]
            lines.append("    if type(v) is not int: raise TypeError")
            lo, hi = (-(2**31), 2**31 - 1) if fmt == "int" else (-(2**63), 2**63 - 1)
            lines.append(f"    if not {lo} <= v <= {hi}: raise OverflowError")
            _varint_write(lines, "v", "    ")
    lines.append("    return bytes(out)")
    exec("\n".join(lines), env)  # generated from the schema only, never from data
    return env["encode"]  # type: ignore[no-any-return]


def compile_decoder(raw: dict[str, Any]) -> DecoderFn | None:
    """A function bytes -> dict reading the body after the 10-byte header.

    Raises IndexError/struct.error/UnicodeDecodeError/ValueError on a bad body.
    Timestamps become the datetime fastavro makes (``EPOCH + timedelta(microseconds=ms *
    1000)``), built with ``datetime.fromtimestamp(ms / 1000, UTC)``, twice as fast and exact
    while ms / 1000 is within half a microsecond of the true value (before ``EXACT_MS``).
    """
    fields = flat_fields(raw)
    if fields is None:
        return None
    env: dict[str, Any] = {
        "EPOCH": EPOCH, "UTC": UTC, "timedelta": timedelta, "fromts": datetime.fromtimestamp
    }
    lines = ["def decode(data):", f"    pos = {HEADER_LEN}"]
    names_out: list[str] = []
    for i, (fmt, names) in enumerate(_groups(fields)):
        locals_ = [f"f_{n}" for n in names]
        names_out += names
        if fmt.startswith("<"):
            st = struct.Struct(fmt)
            env[f"unpack{i}"] = st.unpack_from
            lines += [
                f"    {', '.join(locals_)}, = unpack{i}(data, pos)",
                f"    pos += {st.size}",
            ]
        elif fmt == "string":
            _varint_read(lines, "ln", "    ")
            lines += [
                "    if ln < 0 or pos + ln > len(data): raise ValueError('short string')",
                f"    {locals_[0]} = data[pos:pos + ln].decode()",
                "    pos += ln",
            ]
        elif fmt == "boolean":
            lines += [f"    {locals_[0]} = data[pos] != 0", "    pos += 1"]
        else:
            _varint_read(lines, locals_[0], "    ")
            if fmt == "ts-millis":
                v = locals_[0]
                lines.append(
                    f"    {v} = fromts({v} / 1000, UTC) if 0 <= {v} < {EXACT_MS} "
                    f"else EPOCH + timedelta(microseconds={v} * 1000)"
                )
    lines += [
        "    if pos != len(data): raise ValueError('trailing bytes')",
        "    return {" + ", ".join(f"{n!r}: f_{n}" for n in names_out) + "}",
    ]
    exec("\n".join(lines), env)  # generated from the schema only, never from data
    return env["decode"]  # type: ignore[no-any-return]


class CompiledCodec:
    """Generated per-schema functions, falling back to the reference ``Codec``."""

    def __init__(self, codec: Codec, name: str) -> None:
        self.codec = codec
        self.name = name
        self.version = codec.registry.current(name)
        self.header = MAGIC + self.version.fingerprint
        encoder = compile_encoder(self.header, self.version.raw)
        decoder = compile_decoder(self.version.raw)
        if encoder is None or decoder is None:
            raise ValueError(f"{name} is not a flat record of primitive fields")
        self._encode = encoder
        self._decode = decoder

    def encode(self, value: dict[str, Any]) -> bytes:
        try:
            return self._encode(value)
        except Exception:  # anything unusual: fastavro decides (and names the error)
            return self.codec.encode(self.name, value)

    def decode(self, data: bytes) -> Decoded:
        if not data.startswith(self.header):  # another writer schema: the general path
            return self.codec.decode(data)
        try:
            value = self._decode(data)
        except Exception:
            return self.codec.decode(data)  # raises the canonical DecodeError
        return Decoded(self.name, value, self.version)


def check_identical(
    codec: Codec, name: str, fast: LowLevelCodec | CompiledCodec, values: Sequence[dict[str, Any]]
) -> None:
    """Raise AssertionError unless ``fast`` encodes/decodes exactly as ``codec`` does."""
    for value in values:
        reference = codec.encode(name, value)
        if fast.encode(value) != reference:
            raise AssertionError(f"{type(fast).__name__} encodes {value!r} differently")
        if repr(fast.decode(reference).value) != repr(codec.decode(reference).value):
            raise AssertionError(f"{type(fast).__name__} decodes {reference!r} differently")
    bad = reference[:-1]
    for data in (bad, reference + b"\x00"):
        try:
            fast.decode(data)
        except DecodeError:
            continue
        raise AssertionError(f"{type(fast).__name__} accepted a corrupt value {data!r}")
