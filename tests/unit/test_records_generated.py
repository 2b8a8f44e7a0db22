"""iomkit/records.py is generated from the schemas and must not go stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iomkit import records_gen
from iomkit.records import RECORD_TYPES

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
SCHEMA_FIELDS = {
    (raw := json.loads(path.read_text()))["name"]: [f["name"] for f in raw["fields"]]
    for path in sorted(SCHEMAS.glob("*.avsc"))
}


def test_generated_records_are_up_to_date() -> None:
    generated = (ROOT / "iomkit" / "records.py").read_text()
    assert generated == records_gen.render(SCHEMAS), (
        "iomkit/records.py is stale: run python -m iomkit.records_gen"
    )


def test_every_schema_has_a_record_type() -> None:
    assert sorted(RECORD_TYPES) == sorted(SCHEMA_FIELDS)


@pytest.mark.parametrize("name", sorted(SCHEMA_FIELDS))
def test_record_type_has_the_schema_fields_in_order(name: str) -> None:
    cls = RECORD_TYPES[name]
    assert cls.__name__ == name
    assert list(cls.__annotations__) == SCHEMA_FIELDS[name]
    assert [cls._options.fieldpos[i] for i in range(len(SCHEMA_FIELDS[name]))] == SCHEMA_FIELDS[
        name
    ]
