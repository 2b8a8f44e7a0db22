"""What may be said about a record, and to whom. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def grade_summary(grade: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a RiskGrade that identify nobody: safe for logs above debug."""
    return {
        "rag": grade["rag"],
        "previous_rag": grade.get("previous_rag"),
        "changed": grade["changed"],
        "revision": grade.get("revision"),
        "force": grade.get("force"),
    }
