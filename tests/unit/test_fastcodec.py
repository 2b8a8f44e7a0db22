"""The generated flat-record codec (``iomkit.fastcodec``) against fastavro itself.

Invariant: whatever the compiled functions return is exactly what fastavro returns
(bytes on encode; values, down to float bits and tzinfo, on decode), and ``Codec`` as a
whole behaves as the fastavro-only codec did, errors and their messages included.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from iomkit import codec as codec_module
from iomkit.codec import MAGIC, Codec, DecodeError, EncodeError, SchemaRegistry, SchemaVersion
from iomkit.fastcodec import EXACT_MS, CompiledRecord, compile_record, flat_fields
from iomkit.jsonconv import from_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
MAX_EXAMPLES = settings(max_examples=400, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow])

# A record with one field of every flat type (TagPing has no int, long or boolean).
ALL_FLAT = {
    "type": "record", "name": "AllFlat", "namespace": "test",
    "fields": [
        {"name": "s", "type": "string"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "b", "type": "boolean"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "s2", "type": "string"},
    ],
}


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(SchemaRegistry(SCHEMAS))


@pytest.fixture(scope="module")
def tag_ping(codec: Codec) -> SchemaVersion:
    return codec.registry.current("TagPing")


@pytest.fixture(scope="module")
def compiled(tag_ping: SchemaVersion) -> CompiledRecord:
    record = compile_record(tag_ping.raw, MAGIC + tag_ping.fingerprint)
    assert record is not None
    return record


class Reference:
    """fastavro alone, as ``Codec`` used it before the fast path existed."""

    def __init__(self, raw: dict[str, Any], header: bytes) -> None:
        self.name = raw["name"]
        self.parsed = fastavro.parse_schema(raw, named_schemas={})
        self.header = header

    def encode(self, value: Any) -> bytes:
        buf = io.BytesIO()
        buf.write(self.header)
        fastavro.schemaless_writer(buf, self.parsed, value, strict=True)
        return buf.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        """The value, or DecodeError with the message ``Codec`` always gave."""
        body = io.BytesIO(data[len(self.header):])
        try:
            value = fastavro.schemaless_reader(body, self.parsed, None)
        except Exception as exc:
            raise DecodeError(
                f"{self.name}: body does not decode ({type(exc).__name__}: {exc})"
            ) from exc
        trailing = len(data) - len(self.header) - body.tell()
        if trailing:
            raise DecodeError(f"{self.name}: {trailing} trailing bytes after the record")
        return value  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def reference(tag_ping: SchemaVersion) -> Reference:
    return Reference(tag_ping.raw, MAGIC + tag_ping.fingerprint)


def exact(value: Any) -> Any:
    """A form in which equal means identical: floats by their bits (-0.0, NaN payloads,
    float32 widening), datetimes with their tzinfo object, types kept."""
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items()}
    if type(value) is float:
        return ("float", struct.pack("<d", value).hex())
    if type(value) is datetime:
        return ("datetime", value.isoformat(), id(value.tzinfo))
    return (type(value).__name__, value)


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """("ok", exact result) or ("error", exception type and message, addresses masked)."""
    try:
        return ("ok", exact(fn(*args)))
    except Exception as exc:
        return ("error", (type(exc).__name__, re.sub(r" at 0x[0-9a-f]+", "", str(exc))))


# -- strategies -------------------------------------------------------------------------------

FIXED_OFFSETS = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                            max_value=timedelta(hours=23, minutes=59))
)
AWARE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.just(UTC) | FIXED_OFFSETS)
TIMESTAMPS = st.one_of(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 12, 31),
                 timezones=st.just(UTC)),  # the range that matters
    AWARE,  # all fastavro accepts: years 1 to 9999, any fixed offset, before 1970 too
    st.integers(-(2**63), 2**63 - 1),  # milliseconds, as fastavro also accepts
)
DOUBLES = st.floats() | st.sampled_from([-0.0, 0.0, math.inf, -math.inf, math.nan, -math.nan])
FLOAT32S = st.floats(width=32) | DOUBLES  # representable as float32, and not (rounded, or inf)
DEVICE_IDS = st.text() | st.sampled_from(["", "TAG-0001", "ü", "\U0001f600", "\x00"])


@st.composite
def tag_pings(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "device_id": draw(DEVICE_IDS),
        "recorded_at": draw(TIMESTAMPS),
        "lat": draw(DOUBLES),
        "lon": draw(DOUBLES | st.integers(-180, 180)),
        "accuracy_m": draw(FLOAT32S),
    }


def fits_float32(x: float) -> bool:
    """False where fastavro writes inf for a finite double, and struct refuses."""
    try:
        struct.pack("<f", x)
    except OverflowError:
        return False
    return True


def declines(fn: Any, *args: Any) -> bool:
    return outcome(fn, *args)[0] == "error"


# -- TagPing ----------------------------------------------------------------------------------


def test_tag_ping_is_flat_and_person_is_not(codec: Codec) -> None:
    assert flat_fields(codec.registry.current("TagPing").raw) == [
        ("device_id", "string"), ("recorded_at", "timestamp-millis"), ("lat", "double"),
        ("lon", "double"), ("accuracy_m", "float"),
    ]
    person = codec.registry.current("Person")
    assert flat_fields(person.raw) is None
    assert compile_record(person.raw, MAGIC + person.fingerprint) is None


@MAX_EXAMPLES
@given(value=tag_pings())
@example(value={"device_id": "", "recorded_at": datetime(1969, 12, 31, 23, 59, 59, 999500,
                                                             tzinfo=UTC),
                "lat": -0.0, "lon": math.nan, "accuracy_m": 1e300})
@example(value={"device_id": "TAG-0001", "recorded_at": datetime(2026, 11, 1, 0, 0, 0, 1000,
                                                                     tzinfo=UTC),
                "lat": 51.5, "lon": -0.1, "accuracy_m": 8.5})
def test_compiled_encode_is_fastavro_byte_for_byte(
    codec: Codec, compiled: CompiledRecord, reference: Reference, value: dict[str, Any]
) -> None:
    expected = outcome(reference.encode, value)
    fast = outcome(compiled.encode, value)
    if fast[0] == "ok":  # the compiled encoder may decline, never differ
        assert fast == expected
    elif expected[0] == "ok":  # and it declines only a float32 overflow here
        assert not fits_float32(value["accuracy_m"])
    via_codec = outcome(codec.encode, "TagPing", value)
    if expected[0] == "ok":
        assert via_codec == expected
    else:
        assert via_codec == ("error", ("EncodeError", f"TagPing: {expected[1][1]}"))


@MAX_EXAMPLES
@given(value=tag_pings())
def test_compiled_decode_is_fastavro_value_for_value(
    codec: Codec, compiled: CompiledRecord, reference: Reference, value: dict[str, Any]
) -> None:
    encoded = outcome(reference.encode, value)
    assume(encoded[0] == "ok")
    data = reference.encode(value)
    expected = outcome(reference.decode, data)
    fast = outcome(compiled.decode, data)
    if expected[0] == "ok":
        # every value fastavro can write and read back decodes on the fast path
        assert fast == expected
    else:  # e.g. a datetime near year 1 at +23:59 is written, but not readable as UTC
        assert fast[0] == "error"
    assert outcome(lambda d: codec.decode(d, expect="TagPing").value, data) == expected


@MAX_EXAMPLES
@given(ms=st.integers(-(2**63), 2**63 - 1) | st.integers(0, EXACT_MS + 1000)
       | st.integers(EXACT_MS - 1000, EXACT_MS + 1000))
@example(ms=0)
@example(ms=-1)
@example(ms=EXACT_MS - 1)
@example(ms=EXACT_MS)
@example(ms=253402300799999)  # 9999-12-31T23:59:59.999
@example(ms=253402300800000)  # one past the last datetime
def test_every_timestamp_decodes_as_fastavro_reads_it(
    compiled: CompiledRecord, reference: Reference, ms: int
) -> None:
    data = reference.encode({"device_id": "x", "recorded_at": ms, "lat": 0.0, "lon": 0.0,
                             "accuracy_m": 0.0})
    expected = outcome(reference.decode, data)
    fast = outcome(compiled.decode, data)
    if expected[0] == "ok":
        assert fast == expected
    else:  # beyond year 9999
        assert fast[0] == "error"


def test_fast_paths_are_used_for_tag_ping_and_not_for_person(
    codec: Codec, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    writer, reader = fastavro.schemaless_writer, fastavro.schemaless_reader

    def counting_writer(*args: Any, **kwargs: Any) -> Any:
        calls.append("write")
        return writer(*args, **kwargs)

    def counting_reader(*args: Any, **kwargs: Any) -> Any:
        calls.append("read")
        return reader(*args, **kwargs)

    monkeypatch.setattr(codec_module.fastavro, "schemaless_writer", counting_writer)
    monkeypatch.setattr(codec_module.fastavro, "schemaless_reader", counting_reader)
    fresh = Codec(codec.registry)
    ping = example_value(fresh, "TagPing")
    data = fresh.encode("TagPing", ping)
    assert fresh.decode(data, expect="TagPing").value == ping
    assert fresh.decode(bytearray(data)).value == ping  # not bytes: the general path
    assert calls == ["read"]
    calls.clear()
    person = example_value(fresh, "Person")
    assert fresh.decode(fresh.encode("Person", person), expect="Person").value == person
    assert calls == ["write", "read"]


def example_value(codec: Codec, name: str) -> dict[str, Any]:
    raw = json.loads((SCHEMAS / "examples" / f"{name}.json").read_text())
    return from_json(codec.registry.current(name).raw, raw)


# -- corrupt values ---------------------------------------------------------------------------


def _ping_bytes(codec: Codec) -> bytes:
    return codec.encode("TagPing", example_value(codec, "TagPing"))


def _overlong_length(data: bytes) -> bytes:
    # device_id's length as an 11-byte varint: fastavro reads past 64 bits and fails
    return data[:10] + b"\xff" * 10 + b"\x01" + data[11:]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b[:-1], r"TagPing: body does not decode \(EOFError: "),
        (lambda b: b[:11], r"TagPing: body does not decode \(EOFError: Expected 8 bytes"),
        (lambda b: b[:21], r"TagPing: body does not decode \(IndexError: "),
        (lambda b: b[:10], r"TagPing: body does not decode \(EOFError"),
        (lambda b: b + b"\x00", r"TagPing: 1 trailing bytes after the record"),
        (lambda b: b[:10] + b"\x7f" + b[11:], r"TagPing: body does not decode \(EOFError"),
        (lambda b: b[:10] + b"\x02\xff" + b[12:], r"TagPing: body does not decode \(Unicode"),
        (_overlong_length, r"TagPing: body does not decode \("),
    ],
    ids=["truncated-1", "truncated-string", "truncated-in-varint", "header-only", "trailing-1",
         "length-too-long", "bad-utf8", "overlong-varint"],
)
def test_corrupt_tag_pings_raise_fastavros_decode_error(
    codec: Codec, reference: Reference, compiled: CompiledRecord, mangle: Any, reason: str
) -> None:
    data = mangle(_ping_bytes(codec))
    assert declines(compiled.decode, data)
    with pytest.raises(DecodeError, match=reason) as raised:
        codec.decode(data, expect="TagPing")
    assert outcome(reference.decode, data) == ("error", ("DecodeError", _mask(raised.value)))


def _mask(exc: BaseException) -> str:
    return re.sub(r" at 0x[0-9a-f]+", "", str(exc))


def test_overlong_varint_that_fastavro_accepts_is_read_as_fastavro_reads_it(
    codec: Codec, reference: Reference, compiled: CompiledRecord
) -> None:
    # recorded_at as an 11-byte varint whose last byte sets bit 70: fastavro's 64-bit
    # reader wraps it round instead of failing, so the value is fastavro's, not an error.
    good = _ping_bytes(codec)
    start = 10 + 1 + good[10] // 2
    end = start
    while good[end] & 0x80:
        end += 1
    data = good[:start] + b"\x80" * 10 + b"\x01" + good[end + 1:]
    with pytest.raises(ValueError):
        compiled.decode(data)  # more than 64 bits: the compiled reader declines
    assert outcome(lambda d: codec.decode(d).value, data) == outcome(reference.decode, data)


@MAX_EXAMPLES
@given(body=st.binary(max_size=40), cut=st.integers(0, 40), extra=st.binary(max_size=3))
def test_any_body_decodes_as_fastavro_decodes_it(
    codec: Codec, reference: Reference, compiled: CompiledRecord,
    body: bytes, cut: int, extra: bytes,
) -> None:
    good = _ping_bytes(codec)
    for data in (compiled.header + body, good[:cut + 10] + extra, good[:cut + 10] + body):
        expected = outcome(reference.decode, data)
        fast = outcome(compiled.decode, data)
        assert fast[0] == "error" or fast == expected
        assert outcome(lambda d: codec.decode(d).value, data) == expected


def test_unencodable_values_keep_fastavros_messages(codec: Codec, reference: Reference) -> None:
    ping = example_value(codec, "TagPing")
    for bad in ({**ping, "extra": 1}, {k: v for k, v in ping.items() if k != "lat"},
                {**ping, "lat": "north"}, {**ping, "device_id": 7},
                {**ping, "device_id": "\ud800"}, {**ping, "recorded_at": "2026-11-01"},
                {**ping, "device_id": b"TAG-9"}):
        expected = outcome(reference.encode, bad)
        assert expected[0] == "error"
        with pytest.raises(EncodeError) as raised:
            codec.encode("TagPing", bad)
        assert str(raised.value) == f"TagPing: {expected[1][1]}"


def test_unusual_but_valid_values_fall_back_to_fastavro(
    codec: Codec, reference: Reference, compiled: CompiledRecord
) -> None:
    ping = example_value(codec, "TagPing")
    naive = datetime(2026, 11, 1, 12)  # fastavro reads it as local time (mktime)

    class Id(str):
        pass

    for odd in ({**ping, "recorded_at": naive}, {**ping, "device_id": Id("TAG-9")},
                {**ping, "accuracy_m": 1e39}, {**ping, "recorded_at": True},
                {**ping, "recorded_at": 5.7},
                {**ping, "recorded_at": 2**64}):  # OverflowError: fastavro's, not wrapped
        assert declines(compiled.encode, odd)
        assert outcome(codec.encode, "TagPing", odd) == outcome(reference.encode, odd)
    # fastavro passes float and double fields through float(), and so does the compiled one
    text_lat = {**ping, "lat": "51.5"}
    assert compiled.encode(text_lat) == reference.encode(text_lat) == codec.encode(
        "TagPing", {**ping, "lat": 51.5}
    )


# -- every flat type --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_flat() -> tuple[CompiledRecord, Reference]:
    header = MAGIC + bytes(range(8))
    record = compile_record(ALL_FLAT, header)
    assert record is not None
    return record, Reference(ALL_FLAT, header)


@st.composite
def all_flat_values(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "s": draw(DEVICE_IDS),
        "i": draw(st.integers(-(2**31), 2**31 - 1) | st.integers() | st.booleans()),
        "l": draw(st.integers(-(2**63), 2**63 - 1) | st.integers()),
        "b": draw(st.booleans() | st.integers(0, 2)),
        "f": draw(FLOAT32S),
        "d": draw(DOUBLES | st.integers(-(10**20), 10**20)),
        "t": draw(TIMESTAMPS),
        "s2": draw(st.text(min_size=64, max_size=200)),  # a length of two varint bytes
    }


@MAX_EXAMPLES
@given(value=all_flat_values())
def test_every_flat_type_encodes_and_decodes_as_fastavro(
    all_flat: tuple[CompiledRecord, Reference], value: dict[str, Any]
) -> None:
    record, reference = all_flat
    expected = outcome(reference.encode, value)
    fast = outcome(record.encode, value)
    assert fast[0] == "error" or fast == expected
    plain = (type(value["i"]) is int and -(2**31) <= value["i"] < 2**31
             and type(value["b"]) is bool and fits_float32(value["f"]))
    if plain and expected[0] == "ok":
        assert fast == expected  # the plain case is the compiled encoder's own
    if expected[0] == "ok":
        data = reference.encode(value)
        want = outcome(reference.decode, data)
        got = outcome(record.decode, data)
        assert got == want if want[0] == "ok" else got[0] == "error"


@MAX_EXAMPLES
@given(body=st.binary(max_size=60))
def test_every_flat_type_decodes_any_bytes_as_fastavro(
    all_flat: tuple[CompiledRecord, Reference], body: bytes
) -> None:
    record, reference = all_flat
    data = record.header + body
    fast = outcome(record.decode, data)
    assert fast[0] == "error" or fast == outcome(reference.decode, data)


# -- schema evolution: the fast path is only for the current schema ---------------------------


def test_older_writer_of_a_flat_record_goes_through_fastavro_resolution(tmp_path: Path) -> None:
    v1 = json.loads((SCHEMAS / "TagPing.avsc").read_text())
    v2 = {**v1, "fields": [*v1["fields"], {"name": "battery", "type": "int", "default": 100}]}
    (tmp_path / "released" / "v1").mkdir(parents=True)
    (tmp_path / "TagPing.avsc").write_text(json.dumps(v2))
    (tmp_path / "released" / "v1" / "TagPing.avsc").write_text(json.dumps(v1))
    new = Codec(SchemaRegistry(tmp_path))
    old = Codec(SchemaRegistry(SCHEMAS))
    ping = example_value(old, "TagPing")
    decoded = new.decode(old.encode("TagPing", ping), expect="TagPing")
    assert decoded.writer.release == "v1"
    assert decoded.value == {**ping, "battery": 100}
    data = new.encode("TagPing", {**ping, "battery": 7})
    assert new.decode(data).value == {**ping, "battery": 7}
    assert new.decode(data).writer is new.registry.current("TagPing")
    with pytest.raises(DecodeError, match="expected a Person record, got TagPing"):
        new.decode(data, expect="Person")
