"""RoSH (OASys risk of serious harm, contract 1.1) is shown beside the RAG grade and never
folded into it: the grade is the same whatever the level."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.risk import rules as rules_module
from services.risk.dynamic import Event
from services.risk.grading import grade_person
from services.risk.maplist import map_list
from services.risk.person import PersonState
from services.risk.rescoring import rescore

RULES = rules_module.load()
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
LEVELS = (None, "LOW", "MEDIUM", "HIGH", "VERY_HIGH", "UNKNOWN")


def person(rosh: str | None, **facts: Any) -> dict[str, Any]:
    return {"person_id": "P-1", "date_of_birth": date(1995, 2, 28), "sex": "MALE",
            "force": "Hampshire", "under_statutory_supervision": True,
            "licence_end_date": None, "first_sanction_date": date(2011, 3, 1),
            "previous_sanctions": 6, "current_offence": "BURGLARY_DOMESTIC",
            "current_conviction_date": date(2026, 3, 1), "mappa_level": None, "ppo": False,
            "rosh_level": rosh, "priority_flags": [], **facts}


HISTORIES = {
    "none": [],
    "arrested": [Event("E-1", "ARRESTED", NOW - timedelta(days=3), "ROBBERY")],
    "quiet": [Event("E-2", "APPOINTMENT_MISSED", NOW - timedelta(days=60), None)],
}
PEOPLE = {
    "burglar": {},
    "no facts": {"previous_sanctions": None, "current_offence": None},
    "older violent": {"date_of_birth": date(1960, 6, 1), "current_offence": "VIOLENCE"},
}


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("who", PEOPLE)
def test_the_grade_is_identical_whatever_the_rosh_level(who: str, history: str) -> None:
    def facts(rosh: str | None) -> dict[str, Any]:
        graded = person(rosh, **PEOPLE[who])
        return {k: v for k, v in graded.items() if k != "person_id"}

    grades = {rosh: grade_person(facts(rosh), HISTORIES[history], NOW, RULES)
              for rosh in LEVELS}
    assert len(set(grades.values())) == 1, grades
    assert not any("harm" in reason.lower() for reason in grades[None].reasons)


def test_a_new_rosh_level_refreshes_the_view_beside_an_unchanged_grade() -> None:
    state = PersonState()
    first = rescore(state, "Person", person("LOW"), NOW, RULES, complete=False)
    assert first is not None and first.grade is not None and first.view is not None
    assert first.view["rosh_level"] == "LOW"
    again = rescore(state, "Person", person("VERY_HIGH"), NOW + timedelta(hours=1), RULES,
                    complete=False)
    assert again is not None and again.grade is None  # nothing to publish: the same grade
    assert again.view is not None and again.view["rosh_level"] == "VERY_HIGH"
    assert again.view["current"] == first.view["current"]
    row = map_list([again.view], lambda force: True, None, None)[0]
    assert (row["rag"], row["rosh_level"]) == (first.grade["rag"], "VERY_HIGH")
    # A view written before RoSH was shown still lists, with none.
    old = {k: v for k, v in again.view.items() if k != "rosh_level"}
    assert map_list([old], lambda force: True, None, None)[0]["rosh_level"] is None
