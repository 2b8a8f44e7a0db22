"""Avro single-object encoding: round trips, header bytes, poison values, schema evolution."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.schema import to_parsing_canonical_form

from iomkit.codec import Codec, DecodeError, SchemaRegistry
from iomkit.jsonconv import from_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
NAMES = sorted(p.stem for p in SCHEMAS.glob("*.avsc"))

CRC64_EMPTY = 0xC15D213AA4D7A795  # Avro spec: the CRC-64-AVRO of nothing, and its polynomial


def _crc64_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return table


CRC64_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO (Rabin) fingerprint, as given in the Avro specification."""
    fp = CRC64_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ CRC64_TABLE[(fp ^ byte) & 0xFF]
    return fp


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(SchemaRegistry(SCHEMAS))


def example_value(codec: Codec, name: str) -> dict[str, Any]:
    raw = json.loads((SCHEMAS / "examples" / f"{name}.json").read_text())
    return from_json(codec.registry.current(name).raw, raw)


def test_crc64_avro_reference_vectors() -> None:
    assert crc64_avro(b"") == CRC64_EMPTY
    # From the Avro project's schema-tests.txt (fingerprints as signed Java longs).
    assert crc64_avro(b'"null"') == 7195948357588979594
    assert crc64_avro(b'"int"') == 8247732601305521295
    assert crc64_avro(b'"string"') == -8142146995180207161 % 2**64


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_of_every_example(codec: Codec, name: str) -> None:
    value = example_value(codec, name)
    decoded = codec.decode(codec.encode(name, value), expect=name)
    assert decoded.name == name
    assert decoded.writer is codec.registry.current(name)
    assert decoded.value == value


@pytest.mark.parametrize("name", NAMES)
def test_header_is_magic_then_little_endian_fingerprint(codec: Codec, name: str) -> None:
    data = codec.encode(name, example_value(codec, name))
    assert data[:2] == b"\xc3\x01"
    raw = json.loads((SCHEMAS / f"{name}.avsc").read_text())
    canonical = to_parsing_canonical_form(fastavro.parse_schema(raw, named_schemas={}))
    assert data[2:10] == crc64_avro(canonical.encode()).to_bytes(8, "little")
    assert data[2:10] == codec.registry.current(name).fingerprint


def test_fingerprint_of_a_known_canonical_form() -> None:
    schema = {"type": "record", "name": "T", "namespace": "iom.v1", "doc": "ignored",
              "fields": [{"name": "a", "type": {"type": "long", "logicalType": "timestamp-millis"},
                          "doc": "ignored"}]}
    canonical = to_parsing_canonical_form(fastavro.parse_schema(schema, named_schemas={}))
    # Parsing Canonical Form drops docs and logical types and uses the full name.
    assert canonical == '{"name":"iom.v1.T","type":"record","fields":[{"name":"a","type":"long"}]}'
    assert crc64_avro(canonical.encode()) == int.from_bytes(
        bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")), "little"
    )


@pytest.fixture(scope="module")
def person_bytes(codec: Codec) -> bytes:
    return codec.encode("Person", example_value(codec, "Person"))


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b"", "0 bytes is shorter than the 10-byte header"),
        (lambda b: b[:7], "7 bytes is shorter than the 10-byte header"),
        (lambda b: b"\xc3\x02" + b[2:], "not Avro single-object encoding: starts c302"),
        (lambda b: b"{}" + b[2:], "not Avro single-object encoding: starts 7b7d"),
        (lambda b: b[:2] + bytes(8) + b[10:], "unknown schema fingerprint 0000000000000000"),
        (lambda b: b[:-1], "Person: body does not decode"),
        (lambda b: b[:12], "Person: body does not decode"),
        (lambda b: b[:10], "Person: body does not decode"),
        (lambda b: b + b"\x00", "Person: 1 trailing bytes after the record"),
        (lambda b: b + b"junk", "Person: 4 trailing bytes after the record"),
    ],
    ids=["empty", "short", "wrong-magic", "json", "unknown-fingerprint", "truncated-1",
         "truncated-body", "header-only", "trailing-1", "trailing-4"],
)
def test_poison_values_raise_decode_error(
    codec: Codec, person_bytes: bytes, mangle: Any, reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason):
        codec.decode(mangle(person_bytes))


def test_not_bytes_is_a_decode_error(codec: Codec) -> None:
    with pytest.raises(DecodeError, match="value is str, not bytes"):
        codec.decode("C301")  # type: ignore[arg-type]


def test_wrong_record_type_with_expect(codec: Codec, person_bytes: bytes) -> None:
    with pytest.raises(DecodeError, match="expected a RiskGrade record, got Person"):
        codec.decode(person_bytes, expect="RiskGrade")
    assert codec.decode(person_bytes, expect="Person").name == "Person"


# --- schema evolution -------------------------------------------------------------------

PREFERRED = {
    "name": "preferred_name",
    "type": ["null", "string"],
    "default": None,
    "doc": "Name the person prefers to be called by.",
}
ALERTS = {
    "name": "alert_count",
    "type": "int",
    "default": 0,
    "doc": "Number of open alerts.",
}


def _person_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(current v2 with released/v1, current v1 with released/v2): old and new side by side."""
    v1 = json.loads((SCHEMAS / "Person.avsc").read_text())
    v2 = copy.deepcopy(v1)
    v2["fields"] += [PREFERRED, ALERTS]
    new_dir, old_dir = tmp_path / "new", tmp_path / "old"
    for current, released, folder, base in ((v2, v1, "v1", new_dir), (v1, v2, "v2", old_dir)):
        (base / "released" / folder).mkdir(parents=True)
        (base / "Person.avsc").write_text(json.dumps(current))
        (base / "released" / folder / "Person.avsc").write_text(json.dumps(released))
    return new_dir, old_dir


def test_old_writer_new_reader_fills_defaults(tmp_path: Path) -> None:
    new_dir, old_dir = _person_dirs(tmp_path)
    old, new = Codec(SchemaRegistry(old_dir)), Codec(SchemaRegistry(new_dir))
    value = example_value(old, "Person")
    decoded = new.decode(old.encode("Person", value), expect="Person")
    assert decoded.writer.release == "v1"
    assert decoded.value == {**value, "preferred_name": None, "alert_count": 0}
    assert decoded.value["date_of_birth"] == date(1972, 9, 9)


def test_new_writer_old_reader_drops_the_extra_fields(tmp_path: Path) -> None:
    new_dir, old_dir = _person_dirs(tmp_path)
    old, new = Codec(SchemaRegistry(old_dir)), Codec(SchemaRegistry(new_dir))
    value = example_value(old, "Person")
    data = new.encode("Person", {**value, "preferred_name": "Jo", "alert_count": 2})
    assert data[2:10] != old.registry.current("Person").fingerprint
    decoded = old.decode(data, expect="Person")
    assert decoded.writer.release == "v2"
    assert decoded.value == value


def test_registry_keeps_released_versions_oldest_first(tmp_path: Path) -> None:
    new_dir, _ = _person_dirs(tmp_path)
    registry = SchemaRegistry(new_dir)
    assert [v.release for v in registry.released("Person")] == ["v1"]
    assert registry.names() == ["Person"]
    with pytest.raises(KeyError, match="unknown record 'Nobody'"):
        registry.current("Nobody")
