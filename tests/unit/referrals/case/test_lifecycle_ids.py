"""CohortChange ids: the same change always has the same id, different changes differ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from services.referrals.case.lifecycle import change_id

AT = datetime(2028, 2, 29, 0, 0, tzinfo=UTC)


def change(**fields: object) -> dict[str, object]:
    return {"person_id": "P-1", "change": "REGISTERED", "effective_at": AT, "cohort": "FIXED",
            **fields}


def test_the_same_change_has_the_same_id_whatever_else_it_says() -> None:
    assert change_id(change()) == change_id(change(cohort="FLEX", reason="again"))
    same_instant = AT.astimezone(timezone(timedelta(hours=1)))
    assert change_id(change()) == change_id(change(effective_at=same_instant))
    assert len(change_id(change())) == 32


def test_a_different_person_kind_or_time_is_a_different_change() -> None:
    ids = {change_id(change()), change_id(change(person_id="P-2")),
           change_id(change(change="DEREGISTERED")),
           change_id(change(effective_at=AT + timedelta(milliseconds=1)))}
    assert len(ids) == 4
