"""The MAP meeting's grade list: the caller's forces only, filtered by grade and force,
RED first."""

from __future__ import annotations

from typing import Any

from services.risk.maplist import map_list


def view(person: str, force: str | None, rag: str, registered: bool = True
         ) -> dict[str, Any]:
    return {"person_id": person, "force": force, "registered": "PC Smith" if registered else None,
            "current": {"rag": rag, "revision": 3, "graded_at": "2026-03-02T14:00:00Z",
                        "reasons": [f"{rag} because", "and more"]}}


VIEWS = [view("P-3", "Kent", "GREEN"), view("P-2", "Hampshire", "AMBER", registered=False),
         view("P-1", "Hampshire", "RED"), None, view("P-4", "Kent", "RED"),
         view("P-5", None, "RED")]


def sees(*forces: str):
    return lambda force: force in forces


def test_red_first_then_force_and_person() -> None:
    rows = map_list(VIEWS, sees("Hampshire", "Kent"), None, None)
    assert [r["person_id"] for r in rows] == ["P-1", "P-4", "P-2", "P-3"]
    assert rows[0] == {"person_id": "P-1", "force": "Hampshire", "rag": "RED", "revision": 3,
                       "graded_at": "2026-03-02T14:00:00Z", "reason": "RED because",
                       "registered": True, "rosh_level": None}
    assert rows[2]["registered"] is False


def test_only_the_callers_forces_and_the_grade_and_force_asked_for() -> None:
    assert [r["person_id"] for r in map_list(VIEWS, sees("Hampshire"), None, None)] == [
        "P-1", "P-2"]
    assert [r["person_id"] for r in map_list(VIEWS, sees("Hampshire", "Kent"), "RED", None)] == [
        "P-1", "P-4"]
    assert [r["person_id"] for r in map_list(VIEWS, sees("Hampshire", "Kent"), None, "Kent")] == [
        "P-4", "P-3"]
    assert map_list([], sees("Kent"), None, None) == []
