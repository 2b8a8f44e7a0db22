"""Schemas stay compatible with their released versions, and the checker itself is sound."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import fastavro
import pytest

from iomkit import topics
from iomkit.compat import compatible_both_ways, incompatibilities
from iomkit.jsonconv import from_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
CONTRACT = ROOT.parent / "shared" / "contract.md"
# The records of the contract's topic table (contract.md, "Topics").
CONTRACT_RECORDS = {
    "Person", "OffenderEvent", "Referral", "PanelDecision", "CohortChange", "RiskGrade",
    "TagEnrolment", "TagPing", "CrimeReported", "ExclusionZone", "CrimeHit", "ZoneBreach",
    "Notification", "AuditRecord",
}
# Records this implementation adds to the contract, compatibly, on topics of their own.
EXTENSION_RECORDS = {"TagAlert", "CaseAlert", "CaseRecord"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


CURRENT = {path.stem: load(path) for path in sorted(SCHEMAS.glob("*.avsc"))}


def latest_released(name: str) -> tuple[str, dict[str, Any]] | None:
    """(folder, schema) of the highest schemas/released/vN holding the record, if any."""
    folders = [p for p in (SCHEMAS / "released").glob("v*") if p.name[1:].isdigit()]
    for folder in sorted(folders, key=lambda p: int(p.name[1:]), reverse=True):
        if (folder / f"{name}.avsc").is_file():
            return folder.name, load(folder / f"{name}.avsc")
    return None


def example(name: str) -> dict[str, Any]:
    return load(SCHEMAS / "examples" / f"{name}.json")


# --- the real schemas -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_current_schema_is_compatible_both_ways_with_latest_release(name: str) -> None:
    released = latest_released(name)
    if released is None:
        pytest.fail(f"{name} has no released version: release it (copy it to schemas/released/vN)")
    folder, old = released
    problems = compatible_both_ways(old, CURRENT[name])
    assert not problems, f"{name} vs released/{folder}:\n" + "\n".join(problems)


def _expected(value: dict[str, Any], writer: dict[str, Any], reader: dict[str, Any]) -> dict:
    written = {f["name"] for f in writer["fields"]}
    out = {}
    for field in reader["fields"]:
        source = next((n for n in [field["name"], *field.get("aliases", [])] if n in written), None)
        out[field["name"]] = value[source] if source else field["default"]
    return out


def _roundtrip(value: dict[str, Any], writer: dict[str, Any], reader: dict[str, Any]) -> dict:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(writer, named_schemas={}), value)
    buf.seek(0)
    return fastavro.schemaless_reader(  # type: ignore[return-value]
        buf,
        fastavro.parse_schema(writer, named_schemas={}),
        fastavro.parse_schema(reader, named_schemas={}),
    )


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_example_survives_released_and_current_schemas(name: str) -> None:
    released = latest_released(name)
    assert released is not None, f"{name} has no released version: release it"
    old, new = released[1], CURRENT[name]
    value = from_json(new, example(name))
    old_value = _expected(value, new, old)  # the example as the released schema has it
    assert _roundtrip(old_value, old, new) == _expected(old_value, old, new)  # new reads old
    assert _roundtrip(value, new, old) == _expected(value, new, old)  # old reads new


def test_every_contract_record_has_a_schema_and_an_example() -> None:
    if CONTRACT.is_file():  # the shared contract sits next to the checkout
        table = re.findall(r"^\| `[^`]+` \| [^|]+ \| `(\w+)` \|", CONTRACT.read_text(), re.M)
        assert set(table) == CONTRACT_RECORDS
    assert {t.record for t in topics.ALL if t.record} == CONTRACT_RECORDS | EXTENSION_RECORDS
    for name in sorted(CONTRACT_RECORDS | EXTENSION_RECORDS):
        assert (SCHEMAS / f"{name}.avsc").is_file(), f"{name}: no schemas/{name}.avsc"
        assert CURRENT[name]["name"] == name, f"schemas/{name}.avsc names another record"
        assert (SCHEMAS / "examples" / f"{name}.json").is_file(), f"{name}: no example"
        from_json(CURRENT[name], example(name))  # the example is valid


def _named_types(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, list):
        return [t for branch in schema for t in _named_types(branch)]
    if not isinstance(schema, dict):
        return []
    found = [schema] if schema.get("type") in ("record", "enum", "fixed") else []
    for field in schema.get("fields", []):
        found += _named_types(field["type"])
    for key in ("items", "values", "type"):
        if isinstance(schema.get(key), dict | list):
            found += _named_types(schema[key])
    return found


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_schema_conventions(name: str) -> None:
    schema = CURRENT[name]
    assert schema["namespace"] == "iom.v1", f"{name}: namespace must be iom.v1"
    for named in _named_types(schema):
        label = f"{name}/{named['name']}"
        assert named.get("namespace", "iom.v1") == "iom.v1", f"{label}: namespace must be iom.v1"
        assert "." not in named["name"] or named["name"].startswith("iom.v1."), label
        if named["type"] == "enum":
            assert named.get("default") in named["symbols"], f"{label}: enum needs a default"
        for field in named.get("fields", []):
            assert field.get("doc", "").strip(), f"{label}.{field['name']}: field has no doc"


# --- the checker ----------------------------------------------------------------------


def person() -> dict[str, Any]:
    return copy.deepcopy(CURRENT["Person"])


def field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def with_field(schema: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    schema["fields"].append({"doc": "added", **new})
    return schema


def test_added_field_without_default_is_caught() -> None:
    new = with_field(person(), {"name": "alias", "type": "string"})
    assert compatible_both_ways(person(), new) == [
        "new reading old: Person.alias: reader field missing from writer and has no default"
    ]


def test_added_enum_symbol_is_caught_when_the_old_reader_has_no_default() -> None:
    old = person()
    del field(old, "sex")["type"]["default"]
    new = copy.deepcopy(old)
    field(new, "sex")["type"]["symbols"].append("UNSTATED")
    assert compatible_both_ways(old, new) == [
        "old reading new: Person.sex: writer symbol UNSTATED not in reader and reader has no "
        "default"
    ]
    field(old, "sex")["type"]["default"] = "UNKNOWN"  # with a default the old reader copes
    assert compatible_both_ways(old, new) == []


def test_added_enum_symbol_inside_a_union_names_the_path() -> None:
    old = copy.deepcopy(CURRENT["RiskGrade"])
    del field(old, "static_band")["type"][1]["default"]
    new = copy.deepcopy(old)
    field(new, "static_band")["type"][1]["symbols"].append("EXTREME")
    assert incompatibilities(old, new) == [
        "RiskGrade.static_band: writer symbol EXTREME not in reader and reader has no default"
    ]


def test_type_change_string_to_int_is_caught() -> None:
    new = person()
    field(new, "force")["type"] = "int"
    problems = compatible_both_ways(person(), new)
    assert problems == [
        "new reading old: Person.force: writer type string cannot be read as int",
        "old reading new: Person.force: writer type int cannot be read as string",
    ]


@pytest.mark.parametrize(
    ("record", "name", "new_type"),
    [
        ("Person", "date_of_birth", {"type": "int"}),
        ("RiskGrade", "graded_at", {"type": "long", "logicalType": "timestamp-micros"}),
        ("RiskGrade", "graded_at", {"type": "long", "logicalType": "local-timestamp-millis"}),
    ],
)
def test_logical_type_change_is_caught(record: str, name: str, new_type: dict) -> None:
    old = copy.deepcopy(CURRENT[record])
    new = copy.deepcopy(old)
    field(new, name)["type"] = new_type
    problems = compatible_both_ways(old, new)
    assert len(problems) == 2 and all(f"{record}.{name}: logicalType" in p for p in problems)


def test_logical_type_change_inside_a_union_is_caught() -> None:
    new = person()
    field(new, "licence_end_date")["type"] = ["null", {"type": "long", "logicalType": "date"}]
    assert compatible_both_ways(person(), new)


def test_renamed_field_needs_an_alias() -> None:
    new = person()
    field(new, "force")["name"] = "police_force"
    assert compatible_both_ways(person(), new) == [
        "new reading old: Person.police_force: reader field missing from writer and has no "
        "default",
        "old reading new: Person.force: reader field missing from writer and has no default",
    ]
    field(new, "police_force")["aliases"] = ["force"]
    assert incompatibilities(new, person()) == []  # the alias lets the new reader read old data


def test_renamed_nested_record_is_caught() -> None:
    new = copy.deepcopy(CURRENT["CrimeHit"])
    field(new, "fixes")["type"]["items"]["name"] = "EvidenceFix"
    assert incompatibilities(new, CURRENT["CrimeHit"]) == [
        "CrimeHit.fixes[]: writer record HitFix is not reader EvidenceFix (renamed)"
    ]
    field(new, "fixes")["type"]["items"]["aliases"] = ["HitFix"]
    assert incompatibilities(new, CURRENT["CrimeHit"]) == []


def test_nested_field_type_change_names_the_path() -> None:
    new = copy.deepcopy(CURRENT["CrimeHit"])
    field(field(new, "fixes")["type"]["items"], "lat")["type"] = "string"
    assert incompatibilities(new, CURRENT["CrimeHit"]) == [
        "CrimeHit.fixes[].lat: writer type double cannot be read as string"
    ]


def test_added_field_with_default_is_compatible() -> None:
    new = with_field(person(), {"name": "aka_count", "type": "int", "default": 0})
    assert compatible_both_ways(person(), new) == []


def test_added_nullable_field_is_compatible() -> None:
    new = with_field(person(), {"name": "alias", "type": ["null", "string"], "default": None})
    assert compatible_both_ways(person(), new) == []


def test_removed_field_with_default_is_compatible() -> None:
    new = person()
    new["fields"] = [f for f in new["fields"] if f["name"] != "licence_end_date"]
    assert compatible_both_ways(person(), new) == []


@pytest.mark.parametrize(
    ("writer", "reader"),
    [("int", "long"), ("int", "double"), ("long", "float"), ("float", "double"),
     ("string", "bytes"), ("bytes", "string"), (["null", "int"], ["null", "long"])],
)
def test_promotions(writer: Any, reader: Any) -> None:
    old, new = person(), person()
    field(old, "previous_sanctions")["type"] = writer
    field(new, "previous_sanctions")["type"] = reader
    assert incompatibilities(new, old) == []


def test_no_demotion_long_to_int() -> None:
    old, new = person(), person()
    field(old, "force")["type"] = "long"
    field(new, "force")["type"] = "int"
    assert incompatibilities(new, old) == ["Person.force: writer type long cannot be read as int"]


def test_unions_against_non_unions() -> None:
    nullable, plain = person(), person()
    field(nullable, "force")["type"] = ["null", "string"]
    # writer non-union, reader union: resolves to a branch
    assert incompatibilities(nullable, plain) == []
    # writer union, reader non-union: every writer branch must resolve (null cannot)
    assert incompatibilities(plain, nullable) == [
        "Person.force: writer type null cannot be read as string"
    ]
    # writer union, reader union: every writer branch needs a reader branch
    wider = person()
    field(wider, "force")["type"] = ["null", "string", "int"]
    assert incompatibilities(nullable, wider) == [
        "Person.force: writer type int matches no branch of the reader union"
    ]
    assert incompatibilities(wider, nullable) == []


def test_named_references_are_resolved() -> None:
    grade = CURRENT["RiskGrade"]  # previous_rag refers to Rag by name
    narrowed = copy.deepcopy(grade)
    rag = field(narrowed, "rag")["type"]
    del rag["default"]
    rag["symbols"] = ["RED", "AMBER", "GREEN"]
    assert incompatibilities(narrowed, grade) == [
        "RiskGrade.rag: writer symbol UNKNOWN not in reader and reader has no default",
        "RiskGrade.previous_rag: writer symbol UNKNOWN not in reader and reader has no default",
    ]


def test_record_name_change_is_caught() -> None:
    new = person()
    new["name"] = "Individual"
    assert incompatibilities(new, person()) == [
        "Individual: writer record Person is not reader Individual (renamed)"
    ]


def test_recursive_types_terminate() -> None:
    def chain(value_type: str) -> dict[str, Any]:
        return {"type": "record", "name": "Link", "namespace": "iom.v1", "fields": [
            {"name": "value", "type": value_type},
            {"name": "next", "type": ["null", "Link"], "default": None},
        ]}

    assert compatible_both_ways(chain("int"), chain("int")) == []
    assert incompatibilities(chain("long"), chain("int")) == []
    assert incompatibilities(chain("int"), chain("long")) == [
        "Link.value: writer type long cannot be read as int"
    ]
