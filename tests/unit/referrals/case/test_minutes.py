"""MAP meeting minutes: what a valid meeting is, actions carried until closed, overdue from
the day after they are due, the meeting put back together from the people's parts."""

from __future__ import annotations

from datetime import date

import pytest

from services.referrals.care.checks import CareError
from services.referrals.case import minutes

TODAY = date(2028, 2, 29)  # a leap day


def submitted(**changes: object) -> dict:
    data = {"force": "Hampshire", "meeting_date": "2028-02-29", "chair": "DI Cole",
            "attendees": "DI Cole (Police)\nPO Patel (Probation), DI Cole (Police)",
            "discussed": [{"person_id": "P-1", "summary": "stable"}, "P-2"],
            "actions": [{"person_id": "P-1", "description": "housing referral",
                         "owner_agency": "Southampton Housing", "due": "2028-03-07"},
                        {"person_id": "P-2", "description": "drug test",
                         "owner_agency": "DAS", "due": "2028-02-29"}]}
    data.update(changes)
    return data


def refused(today: date = TODAY, **changes: object) -> str:
    with pytest.raises(CareError) as error:
        minutes.check_minutes(submitted(**changes), today)
    return error.value.field


def test_a_meeting_is_checked_and_split_by_person():
    taken = minutes.check_minutes(submitted(), TODAY)
    assert taken["attendees"] == ["DI Cole (Police)", "PO Patel (Probation)"]
    assert taken["meeting_id"] == minutes.meeting_id(" hampshire ", TODAY)
    parts = minutes.commands(taken, "2028-02-29T12:00:00+00:00")
    assert [(c["person_id"], len(c["actions"])) for c in parts] == [("P-1", 1), ("P-2", 1)]
    assert parts[1]["summary"] == ""


def test_a_meeting_today_is_allowed_tomorrow_is_refused():
    assert minutes.check_minutes(submitted(), TODAY)["meeting_date"] == "2028-02-29"
    assert refused(today=date(2028, 2, 28)) == "meeting_date"


def test_an_action_due_before_the_meeting_or_about_someone_not_discussed_is_refused():
    action = {"person_id": "P-1", "description": "x", "owner_agency": "DAS"}
    assert refused(actions=[{**action, "due": "2028-02-28"}]) == "actions[0].due"
    assert refused(actions=[{**action, "due": "2028-03-01", "person_id": "P-9"}]) == (
        "actions[0].person_id")
    assert refused(actions=[{**action, "due": "2028-03-01", "owner_agency": ""}]) == (
        "actions[0].owner_agency")


def test_a_meeting_needs_attendees_and_people_each_once():
    assert refused(attendees=" ") == "attendees"
    assert refused(discussed=[]) == "discussed"
    assert refused(discussed=["P-1", "P-1"], actions=[]) == "discussed[1].person_id"


def held_with_actions() -> dict:
    taken = minutes.check_minutes(submitted(), TODAY)
    held: dict = {}
    for cmd in minutes.commands(taken, "x"):
        held = minutes.apply(held, cmd)  # one person's records take only their part here
    return held


def test_open_actions_are_carried_and_overdue_from_the_day_after_they_are_due():
    taken = minutes.check_minutes(submitted(), TODAY)
    people = [(c["person_id"], minutes.apply({}, c)) for c in minutes.commands(taken, "x")]
    on_due = minutes.open_actions(people, TODAY)
    assert [(a["person_id"], a["overdue"]) for a in on_due] == [("P-2", False),
                                                                ("P-1", False)]
    day_after = minutes.open_actions(people, date(2028, 3, 1))
    assert [(a["person_id"], a["overdue"]) for a in day_after] == [("P-2", True),
                                                                   ("P-1", False)]


def test_a_closed_action_leaves_the_pack_and_closing_again_changes_nothing():
    taken = minutes.check_minutes(submitted(), TODAY)
    cmd = minutes.commands(taken, "x")[0]
    held = minutes.apply({}, cmd)
    action = cmd["actions"][0]["action_id"]
    with pytest.raises(CareError):
        minutes.close(held, action, date(2028, 2, 28), "done", TODAY)  # before the meeting
    with pytest.raises(CareError):
        minutes.close(held, action, date(2028, 3, 1), "done", TODAY)  # in the future
    held, changed = minutes.close(held, action, TODAY, "referral made", TODAY)
    assert changed and minutes.open_actions([("P-1", held)], TODAY) == []
    held, changed = minutes.close(held, action, TODAY, "again", TODAY)
    assert not changed and held["actions"][action]["outcome"] == "referral made"
    with pytest.raises(CareError):
        minutes.close(held, "nope", TODAY, "x", TODAY)


def test_the_meeting_is_put_back_together_from_each_persons_part():
    taken = minutes.check_minutes(submitted(), TODAY)
    people = [(c["person_id"], minutes.apply({}, c)) for c in minutes.commands(taken, "x")]
    doc = minutes.meeting_of(people, "hampshire", TODAY)
    assert doc["chair"] == "DI Cole" and len(doc["attendees"]) == 2
    assert [p["person_id"] for p in doc["discussed"]] == ["P-1", "P-2"]
    assert len(doc["actions"]) == 2
    assert minutes.meeting_of(people, "Hampshire", None)["meeting_date"] == "2028-02-29"
    assert minutes.meeting_of(people, "Kent", None)["discussed"] == []


def test_closed_actions_are_bounded_and_open_ones_kept():
    held: dict = {"meetings": [], "actions": {}}
    for n in range(minutes.KEPT_CLOSED + 5):
        held["actions"][f"a{n}"] = {"action_id": f"a{n}", "closed_on": "2028-01-01",
                                    "outcome": "done", "due": "2028-01-01"}
    held["actions"]["open"] = {"action_id": "open", "closed_on": None, "outcome": None,
                               "due": "2028-01-01"}
    cmd = minutes.commands(minutes.check_minutes(submitted(actions=[]), TODAY), "x")[0]
    kept = minutes.apply(held, cmd)["actions"]
    assert len(kept) == minutes.KEPT_CLOSED + 1 and "open" in kept
