"""Generated encoders and decoders for flat records, used by ``iomkit.codec.Codec``.

Why this exists: fastavro spends most of its time per value on generic work (walking the
parsed schema, looking up a writer per field type, logical-type dispatch, a ``BytesIO``).
For the high-volume records, TagPing above all, that is more than the fields themselves
cost: the codec could not reach 300,000 values a second each way. For a *flat* record,
one whose fields are all of the types in ``FLAT_TYPES``, the whole job is a fixed sequence
of steps, so we generate that sequence once per schema as a plain Python function
(``struct`` for runs of fixed-width fields, an inline zig-zag varint for strings and
longs) and run it without any dispatch.

The contract, which ``tests/unit/test_fastcodec.py`` checks against fastavro itself:

* Byte-identical. ``encode`` returns exactly the header plus fastavro's
  ``schemaless_writer(..., strict=True)`` body, and ``decode`` returns a value equal to
  fastavro's ``schemaless_reader`` (same types, same ``-0.0`` / NaN / float32 bits, same
  ``datetime`` with ``timezone.utc``).
* Anything unusual is not ours to decide. The generated functions accept only the plain
  case (a ``dict`` holding exactly the schema's fields; ``str`` for strings, ``int`` for
  ints and longs, ``bool`` for booleans, an aware ``datetime`` or ``int`` for timestamps)
  and *raise* on everything else: other types, missing or extra fields, out-of-range
  numbers, a truncated or overlong body, a varint past 64 bits, trailing bytes. The caller
  (``Codec``) then repeats the job with fastavro, so fastavro's behaviour, and its error
  messages in ``EncodeError`` / ``DecodeError``, stay exactly as they were. The exception
  a generated function raises carries no meaning and is never shown to anyone.
* Non-flat records (unions, enums, arrays, maps, nested records, bytes, other logical
  types) are not compiled at all: ``compile_record`` returns None and fastavro does the
  work.

The source is generated from the schema only, never from data; ``CompiledRecord`` keeps
it (``encode_source`` / ``decode_source``) so it can be read when in doubt.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Field types a flat record may have: Avro primitives written as a plain string, and the
# one logical type we need (``{"type": "long", "logicalType": "timestamp-millis"}``).
# Dict forms of the primitives are left to fastavro: it treats "double" and
# {"type": "double"} slightly differently (only the first goes through ``float()``).
FLAT_TYPES = ("string", "int", "long", "float", "double", "boolean", "timestamp-millis")
_STRUCT_CODE = {"double": "d", "float": "f"}  # fixed-width fields, little-endian

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # fastavro's epoch; UTC is timezone.utc
# fastavro reads a timestamp-millis as ``EPOCH + timedelta(microseconds=ms * 1000)``.
# ``datetime.fromtimestamp(ms / 1000, UTC)`` gives the same datetime in less than half the
# time, as long as ms / 1000 is within half a microsecond of the true value (it is rounded
# to the nearest microsecond): true while ms / 1000 < 2**33 s, where a double's spacing is
# 2**-20 s. EXACT_MS (8e12 ms, the year 2223) stays below that; outside [0, EXACT_MS) the
# generated decoder uses fastavro's own expression.
EXACT_MS = 8_000_000_000_000
INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)

Encoder = Callable[[dict[str, Any]], bytes]
Decoder = Callable[[bytes], dict[str, Any]]


@dataclass(frozen=True)
class CompiledRecord:
    """The generated functions of one flat record schema.

    ``encode(value)`` returns header + body; ``decode(data)`` reads the body after the
    header (it does not look at the header: the caller has matched it already). Both
    raise, with no useful message, on anything they do not vouch for: see the module doc.
    """

    name: str
    header: bytes
    encode: Encoder
    decode: Decoder
    encode_source: str
    decode_source: str


def flat_fields(raw: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(field name, one of ``FLAT_TYPES``) for each field, or None if the record is not flat."""
    if raw.get("type") != "record" or not raw.get("fields"):
        return None
    fields = []
    for field in raw["fields"]:
        ftype = field["type"]
        if isinstance(ftype, str) and ftype in FLAT_TYPES and ftype != "timestamp-millis":
            fields.append((field["name"], ftype))
        elif ftype == {"type": "long", "logicalType": "timestamp-millis"}:
            fields.append((field["name"], "timestamp-millis"))
        else:
            return None
    return fields


def compile_record(raw: dict[str, Any], header: bytes) -> CompiledRecord | None:
    """Generate and compile the encoder and decoder of ``raw``; None if it is not flat.

    ``header`` is what every encoded value starts with (magic + fingerprint).
    """
    fields = flat_fields(raw)
    if fields is None:
        return None
    encode_source, encode_env = _encoder_source(fields, header)
    decode_source, decode_env = _decoder_source(fields, len(header))
    return CompiledRecord(
        name=raw["name"],
        header=header,
        encode=_build(encode_source, encode_env, "encode"),
        decode=_build(decode_source, decode_env, "decode"),
        encode_source=encode_source,
        decode_source=decode_source,
    )


def _build(source: str, env: dict[str, Any], name: str) -> Callable[..., Any]:
    exec(compile(source, f"<iomkit.fastcodec {name}>", "exec"), env)  # schema-made source
    return env[name]  # type: ignore[no-any-return]


def _runs(fields: list[tuple[str, str]]) -> list[tuple[str, list[int]]]:
    """Group the fields into steps: adjacent float/double fields form one ``struct`` run
    ("<ddf", [indices]); every other field is a step of its own (type, [index])."""
    steps: list[tuple[str, list[int]]] = []
    for i, (_, ftype) in enumerate(fields):
        code = _STRUCT_CODE.get(ftype)
        if code and steps and steps[-1][0].startswith("<"):
            fmt, indices = steps[-1]
            steps[-1] = (fmt + code, [*indices, i])
        elif code:
            steps.append(("<" + code, [i]))
        else:
            steps.append((ftype, [i]))
    return steps


# -- encoder ----------------------------------------------------------------------------------
#
# For TagPing the generated encoder reads:
#
#     def encode(value):
#         if type(value) is not dict or len(value) != 5:
#             raise TypeError
#         out = bytearray(HEADER)
#         v = value['device_id']                          # string
#         if type(v) is not str:
#             raise TypeError
#         v = v.encode()
#         n = len(v) << 1                                 # zig-zag varint of the length
#         while n > 0x7F:
#             out.append((n & 0x7F) | 0x80)
#             n >>= 7
#         out.append(n)
#         out += v
#         v = value['recorded_at']                        # timestamp-millis
#         if type(v) is datetime and v.tzinfo is not None:
#             d = v - EPOCH
#             v = (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000
#         if type(v) is not int or not -2**63 <= v <= 2**63 - 1:
#             raise TypeError
#         n = (v << 1) ^ (v >> 63)
#         ...                                             # the same varint loop
#         out += pack_2(float(value['lat']), float(value['lon']), float(value['accuracy_m']))
#         return bytes(out)
#
# Each conversion is the one fastavro makes: ``float()`` on float/double fields (and
# struct's "f" refuses what would overflow a float32, where fastavro writes inf: fallback),
# ``str.encode()`` for strings, and for an aware datetime fastavro's exact integer
# arithmetic (``int(d.microseconds / 1000)`` equals ``// 1000`` for 0..999,999), which
# rounds towards the past, before 1970 too.


def _encoder_source(fields: list[tuple[str, str]], header: bytes) -> tuple[str, dict[str, Any]]:
    env: dict[str, Any] = {"HEADER": header, "EPOCH": EPOCH, "datetime": datetime}
    lines = [
        "def encode(value):",
        f"    if type(value) is not dict or len(value) != {len(fields)}:",
        "        raise TypeError",
        "    out = bytearray(HEADER)",
    ]
    for step, (kind, indices) in enumerate(_runs(fields)):
        names = [fields[i][0] for i in indices]
        if kind.startswith("<"):
            env[f"pack_{step}"] = struct.Struct(kind).pack
            args = ", ".join(f"float(value[{n!r}])" for n in names)
            lines.append(f"    out += pack_{step}({args})  # {', '.join(names)}")
            continue
        lines.append(f"    v = value[{names[0]!r}]  # {kind}")
        if kind == "string":
            lines += ["    if type(v) is not str:", "        raise TypeError", "    v = v.encode()"]
            lines += _write_varint("len(v) << 1")
            lines.append("    out += v")
        elif kind == "boolean":
            lines += ["    if type(v) is not bool:", "        raise TypeError",
                      "    out.append(1 if v else 0)"]
        else:  # int, long, timestamp-millis
            if kind == "timestamp-millis":
                lines += [
                    "    if type(v) is datetime and v.tzinfo is not None:",
                    "        d = v - EPOCH",
                    "        v = (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000",
                ]
            low, high = INT_RANGE if kind == "int" else LONG_RANGE
            lines += [f"    if type(v) is not int or not {low} <= v <= {high}:",
                      "        raise TypeError"]
            lines += _write_varint("(v << 1) ^ (v >> 63)")
    lines.append("    return bytes(out)")
    return "\n".join(lines) + "\n", env


def _write_varint(zigzag: str) -> list[str]:
    """Append the zig-zag value ``zigzag`` (already >= 0) to ``out``, 7 bits a byte."""
    return [
        f"    n = {zigzag}",
        "    while n > 0x7F:",
        "        out.append((n & 0x7F) | 0x80)",
        "        n >>= 7",
        "    out.append(n)",
    ]


# -- decoder ----------------------------------------------------------------------------------
#
# The decoder reads ``data`` (exactly ``bytes``) from just after the header, field by field,
# into locals f0, f1, ... and returns them as a dict in schema order. Indexing past the end
# raises IndexError, a short struct run struct.error, bad UTF-8 UnicodeDecodeError, an
# impossible value (negative length, varint past 64 bits, trailing bytes) ValueError.
#
# fastavro reads a varint into a 64-bit C integer: bits past the 64th are lost (a
# malformed, overlong varint gives some wrapped-around number rather than an error). The
# generated reader keeps every bit and raises when there are more than 64, so fastavro
# decides those values too.


def _decoder_source(fields: list[tuple[str, str]], header_len: int) -> tuple[str, dict[str, Any]]:
    env: dict[str, Any] = {
        "EPOCH": EPOCH, "UTC": UTC, "timedelta": timedelta, "fromtimestamp": datetime.fromtimestamp,
    }
    lines = ["def decode(data):", f"    pos = {header_len}"]
    for step, (kind, indices) in enumerate(_runs(fields)):
        names = [fields[i][0] for i in indices]
        targets = [f"f{i}" for i in indices]
        if kind.startswith("<"):
            unpack = struct.Struct(kind)
            env[f"unpack_{step}"] = unpack.unpack_from
            lines += [
                f"    {', '.join(targets)}, = unpack_{step}(data, pos)  # {', '.join(names)}",
                f"    pos += {unpack.size}",
            ]
            continue
        target = targets[0]
        lines.append(f"    # {names[0]}: {kind}")
        if kind == "string":
            lines += _read_varint("n")
            lines += [
                "    if n < 0 or pos + n > len(data):",
                "        raise ValueError",
                f"    {target} = data[pos:pos + n].decode()",
                "    pos += n",
            ]
        elif kind == "boolean":
            lines += [f"    {target} = data[pos] != 0", "    pos += 1"]  # fastavro: != 0
        else:  # int, long, timestamp-millis (fastavro does not range-check an int either)
            lines += _read_varint(target)
            if kind == "timestamp-millis":
                lines += [
                    f"    if 0 <= {target} < {EXACT_MS}:",
                    f"        {target} = fromtimestamp({target} / 1000, UTC)",
                    "    else:",
                    f"        {target} = EPOCH + timedelta(microseconds={target} * 1000)",
                ]
    result = ", ".join(f"{name!r}: f{i}" for i, (name, _) in enumerate(fields))
    lines += [
        "    if pos != len(data):",
        "        raise ValueError",
        f"    return {{{result}}}",
    ]
    return "\n".join(lines) + "\n", env


def _read_varint(target: str) -> list[str]:
    """Read one zig-zag varint at ``pos`` into ``target``."""
    return [
        "    b = data[pos]",
        "    pos += 1",
        "    n = b & 0x7F",
        "    shift = 7",
        "    while b & 0x80:",
        "        b = data[pos]",
        "        pos += 1",
        "        n |= (b & 0x7F) << shift",
        "        shift += 7",
        "    if n >> 64:",
        "        raise ValueError",
        f"    {target} = (n >> 1) ^ -(n & 1)",
    ]
