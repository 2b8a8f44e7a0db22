"""The shared reference data matches the contract's schemas symbol for symbol."""

from __future__ import annotations

import json

from iomkit import offences
from iomkit.settings import ROOT


def symbols(record: str, field: str) -> tuple[str, ...]:
    schema = json.loads((ROOT / "schemas" / f"{record}.avsc").read_text())
    kind = next(f["type"] for f in schema["fields"] if f["name"] == field)
    enum = next(t for t in kind if isinstance(t, dict))
    return tuple(s for s in enum["symbols"] if s != "UNKNOWN")


def test_offence_categories_are_the_schemas() -> None:
    assert offences.OFFENCE_CATEGORIES == symbols("Person", "current_offence")


def test_static_bands_are_the_schemas() -> None:
    assert offences.STATIC_BANDS == symbols("RiskGrade", "static_band")
