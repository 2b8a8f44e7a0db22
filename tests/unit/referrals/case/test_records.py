"""Case records on a dossier: manual de-registration, lead officer reassignment, notes,
contacts, the transition plan and MAP minutes; what each publishes, and replays."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from services.referrals.care.checks import CareError
from services.referrals.case import dossier, lifecycle, minutes, records
from services.referrals.case.dossier import Outputs
from tests.unit.referrals.case.test_dossier import NOW, RS, decision, referral, registered


def run(d: dict, name: str, at: datetime = NOW, **fields: object) -> Outputs:
    out = Outputs()
    cmd = {"command": name, "person_id": "P-1", "at": at.isoformat(),
           "id": records.command_id("P-1", name, at, repr(sorted(fields.items()))), **fields}
    records.command(d, cmd, out, RS)
    return out


def refused(d: dict, name: str, at: datetime = NOW, **fields: object) -> str:
    with pytest.raises(CareError) as error:
        run(d, name, at, **fields)
    return error.value.field


# -- de-registration -----------------------------------------------------------------------------


def test_a_manual_deregistration_publishes_the_rationale_and_closes_the_case_once():
    d = registered()
    out = run(d, "deregister", rationale="moved abroad; no longer offending", by="SPO Grant")
    [change] = out.cohort_changes
    assert change["change"] == "DEREGISTERED" and change["effective_at"] == NOW
    assert "moved abroad; no longer offending" in change["reason"] and "SPO Grant" in (
        change["reason"])
    assert change["change_id"] == lifecycle.change_id(change)
    assert change["lead_officer"] == "OM Jones"
    assert d["case"]["state"] == "DEREGISTERED"
    assert records.view(d, NOW)["deregistration"]["rationale"] == (
        "moved abroad; no longer offending")
    assert "moved abroad" in dossier.report(d, NOW, RS)["deregistration_rationale"]
    # the same command read again after a crash: nothing more
    again = run(d, "deregister", rationale="moved abroad; no longer offending", by="SPO Grant")
    assert again.cohort_changes == []
    # another de-registration of a closed case: refused
    assert refused(d, "deregister", NOW + timedelta(seconds=1),
                   rationale="a second rationale here", by="x") == "person_id"


def test_a_manual_deregistration_is_shown_only_while_it_is_what_closed_the_case():
    d = registered()
    run(d, "deregister", rationale="moved abroad for work", by="SPO")
    assert records.view(d, NOW)["deregistration"]["by"] == "SPO"
    again = NOW + timedelta(days=40)
    dossier.on_referral(d, {**referral(at=again), "referral_id": "R-2"}, again, RS)
    dossier.on_decision(d, {**decision(), "decision_id": "D-2", "referral_id": "R-2",
                            "decided_at": again, "panel_date": again.date()}, again, RS)
    assert records.view(d, again)["deregistration"] is None  # registered again
    ended = {"event_id": "E-end", "person_id": "P-1", "type": "LICENCE_ENDED",
             "occurred_at": again, "source_agency": "Probation", "offence": None,
             "details": {}}
    dossier.on_event(d, ended, again, RS)
    assert d["case"]["state"] == "DEREGISTERED"
    assert records.view(d, again)["deregistration"] is None  # the licence closed it


def test_a_replayed_deregistration_before_the_table_was_written_publishes_the_same_change():
    d = registered()
    first = run(copy.deepcopy(d), "deregister", rationale="moved abroad for work", by="SPO")
    second = run(d, "deregister", rationale="moved abroad for work", by="SPO")
    assert first.cohort_changes == second.cohort_changes


def test_a_deregistration_needs_a_rationale_and_an_open_case():
    d = registered()
    assert refused(d, "deregister", rationale="too short", by="SPO") == "rationale"
    assert refused(d, "deregister", rationale="  ", by="SPO") == "rationale"
    referred = dossier.new("P-1")
    assert refused(referred, "deregister", rationale="long enough rationale",
                   by="SPO") == "person_id"


# -- lead officer --------------------------------------------------------------------------------


def test_reassigning_the_lead_officer_publishes_the_change_with_the_reason():
    d = registered()
    out = run(d, "reassign_lead", lead_officer=" OM  Ben Ode ", reason="OM Jones on leave",
              by="SPO Grant")
    [change] = out.cohort_changes
    assert change["change"] == "LEAD_OFFICER_CHANGED" and change["lead_officer"] == "OM Ben Ode"
    assert "OM Jones on leave" in change["reason"] and "OM Jones" in change["reason"]
    assert d["case"]["lead_officer"] == "OM Ben Ode"
    assert dossier.report(d, NOW, RS)["lead_officer"] == "OM Ben Ode"
    [held] = records.view(d, NOW)["lead_officer_changes"]
    assert (held["from"], held["to"], held["reason"]) == ("OM Jones", "OM Ben Ode",
                                                          "OM Jones on leave")
    # two reassignments on one day are two changes with two ids
    later = run(d, "reassign_lead", NOW + timedelta(hours=1), lead_officer="OM Jones",
                reason="back from leave", by="SPO Grant")
    assert later.cohort_changes[0]["change_id"] != change["change_id"]


def test_reassigning_to_the_same_officer_or_without_a_reason_is_refused():
    d = registered()
    assert refused(d, "reassign_lead", lead_officer="om jones", reason="x",
                   by="SPO") == "lead_officer"
    assert refused(d, "reassign_lead", lead_officer="OM Ode", reason="",
                   by="SPO") == "reason"


# -- notes and contacts --------------------------------------------------------------------------


def test_notes_and_contacts_are_kept_newest_first_and_the_timeline_carries_no_text():
    d = registered()
    run(d, "add_note", text="Says he has a job interview on Friday.", author="PO Patel",
        agency="Probation")
    run(d, "log_contact", NOW + timedelta(minutes=5), contact_at="2026-11-25T09:30:00Z",
        agency="Southampton Housing", method="VISIT", by="H. Officer", summary="home visit")
    run(d, "log_contact", NOW + timedelta(minutes=6), contact_at="2026-11-24T15:00:00+00:00",
        agency="Hampshire Police", method="PHONE", by="PC Shaw")
    view = records.view(d, NOW)
    assert [c["method"] for c in view["contacts"]] == ["VISIT", "PHONE"]
    assert view["notes"][0]["text"] == "Says he has a job interview on Friday."
    timeline = " ".join(e["summary"] for e in d["timeline"])
    assert "job interview" not in timeline and "home visit" not in timeline
    assert "case note recorded by PO Patel" in timeline


def test_a_contact_is_logged_once_made_not_before_and_a_local_time_is_uk_time():
    d = registered()
    # made exactly when recorded: allowed; recorded a second before it was made: refused
    run(d, "log_contact", contact_at=NOW.isoformat(), agency="Probation", method="OFFICE",
        by="PO")
    assert refused(d, "log_contact", NOW - timedelta(seconds=1), contact_at=NOW.isoformat(),
                   agency="Probation", method="OFFICE", by="PO") == "contact_at"
    # a form's local time in British Summer Time is an hour ahead of UTC
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC)
    run(d, "log_contact", summer, contact_at="2026-07-01T10:00", agency="DAS",
        method="MEETING", by="Worker")
    assert records.view(d, summer)["contacts"][-1]["contact_at"] == "2026-07-01T09:00:00+00:00"
    assert refused(d, "log_contact", contact_at="2026-11-25T09:00Z", agency="DAS",
                   method="CARRIER_PIGEON", by="Worker") == "method"
    assert refused(d, "log_contact", contact_at="yesterday", agency="DAS",
                   method="PHONE", by="Worker") == "contact_at"


def test_notes_are_bounded_and_a_repeat_is_kept_once():
    d = registered()
    for n in range(records.KEPT_NOTES + 3):
        run(d, "add_note", NOW + timedelta(seconds=n), text=f"note {n}", author="PO")
    last = {"command": "add_note", "person_id": "P-1", "text": "note again", "author": "PO",
            "at": (NOW + timedelta(seconds=records.KEPT_NOTES + 2)).isoformat(),
            "id": d["records"]["notes"][-1]["id"]}
    records.command(d, last, Outputs(), RS)  # the last note's id again: a replay
    notes = records.view(d, NOW)["notes"]
    assert len(notes) == records.KEPT_NOTES
    assert notes[0]["text"] == f"note {records.KEPT_NOTES + 2}" and notes[-1]["text"] == "note 3"


def test_a_note_needs_a_known_person_and_text():
    assert refused(dossier.new("P-1"), "add_note", text="x", author="PO") == "person_id"
    assert refused(registered(), "add_note", text=" ", author="PO") == "text"


# -- transition plan -----------------------------------------------------------------------------


def plan_steps(first: str, last: str) -> list[dict[str, str]]:
    return [{"from": first, "action": "weekly appointments", "who": "OM Jones",
             "contact": "WEEKLY"},
            {"from": last, "action": "handover to community support", "who": "DAS",
             "contact": "MONTHLY"}]


def test_the_transition_plan_is_kept_with_the_step_in_force_today():
    d = registered(licence_end=date(2027, 2, 28))  # opens 8 weeks before: 3 January 2027
    run(d, "transition_plan", steps=plan_steps("2027-01-03", "2027-02-28"), by="OM Jones")
    plan = records.view(d, datetime(2027, 2, 27, 12, tzinfo=UTC))["transition_plan"]
    assert plan["current_step"]["contact"] == "WEEKLY"
    plan = records.view(d, datetime(2027, 2, 28, 12, tzinfo=UTC))["transition_plan"]
    assert plan["current_step"]["contact"] == "MONTHLY"
    assert records.view(d, NOW)["transition_plan"]["current_step"] is None


def test_a_plan_step_outside_the_transition_window_is_refused():
    d = registered(licence_end=date(2027, 2, 28))
    assert refused(d, "transition_plan", steps=plan_steps("2027-01-02", "2027-02-01"),
                   by="OM") == "steps[0].from"
    assert refused(d, "transition_plan", steps=plan_steps("2027-01-03", "2027-03-01"),
                   by="OM") == "steps[1].from"
    unknown = registered(licence_end=None)
    assert refused(unknown, "transition_plan", steps=plan_steps("2027-01-03", "2027-02-01"),
                   by="OM") == "licence_end"


# -- MAP minutes ---------------------------------------------------------------------------------


def minutes_cmd(meeting_date: str = "2026-11-24", due: str = "2026-12-01") -> dict:
    taken = minutes.check_minutes({
        "force": "Hampshire", "meeting_date": meeting_date, "chair": "DI Cole",
        "attendees": ["DI Cole (Police)", "PO Patel (Probation)"],
        "discussed": [{"person_id": "P-1", "summary": "stable; job interview"}],
        "actions": [{"person_id": "P-1", "description": "housing referral",
                     "owner_agency": "Southampton Housing", "due": due}]}, NOW.date())
    [cmd] = minutes.commands(taken, NOW.isoformat())
    return cmd


def test_minutes_reach_the_dossier_and_an_action_is_open_until_closed():
    d = registered()
    cmd = minutes_cmd()
    out = Outputs()
    records.command(d, cmd, out, RS)
    records.command(d, cmd, out, RS)  # the same minutes again: one meeting, one action
    view = records.view(d, NOW)
    assert len(view["map_meetings"]) == 1 and view["map_meetings"][0]["chair"] == "DI Cole"
    [action] = view["map_actions"]
    assert action["closed_on"] is None and not action["overdue"]
    run(d, "close_map_action", action_id=action["action_id"], outcome="referral made",
        closed_on="2026-11-25")
    assert records.view(d, NOW)["map_actions"][0]["closed_on"] == "2026-11-25"
    records.command(d, cmd, out, RS)  # minutes sent again keep the action closed
    assert records.view(d, NOW)["map_actions"][0]["closed_on"] == "2026-11-25"


def test_minutes_for_a_person_of_another_force_are_refused():
    d = registered()
    cmd = {**minutes_cmd(), "force": "Kent"}
    with pytest.raises(CareError) as error:
        records.command(d, cmd, Outputs(), RS)
    assert error.value.field == "force"


def test_contacts_and_map_actions_are_counted_on_case_records_without_their_text():
    from pathlib import Path

    from iomkit.codec import Codec, SchemaRegistry

    codec = Codec(SchemaRegistry(Path(__file__).resolve().parents[4] / "schemas"))
    d = registered()
    out = run(d, "log_contact", contact_at="2026-11-24T23:30:00Z", agency="DAS",
              method="PHONE", by="Worker", summary="relapsed at the weekend")
    [counted] = out.records
    assert (counted["kind"], counted["agency"], counted["done_on"]) == (
        "CONTACT_LOGGED", "DAS", date(2026, 11, 24))  # 23:30 UTC in November: still the 24th
    assert "relapsed" not in str(counted)
    cmd = minutes_cmd()
    agreed = Outputs()
    records.command(d, cmd, agreed, RS)
    again = Outputs()
    records.command(d, cmd, again, RS)  # the same minutes again: agreed once
    assert [r["kind"] for r in agreed.records] == ["MAP_ACTION_AGREED"] and again.records == []
    action = cmd["actions"][0]["action_id"]
    closed = run(d, "close_map_action", action_id=action, outcome="done")
    [done] = closed.records
    assert (done["kind"], done["subject"], done["done_on"]) == (
        "MAP_ACTION_CLOSED", action, date(2026, 11, 25))
    for record in (counted, *agreed.records, done):
        assert codec.decode(codec.encode("CaseRecord", record)).value == record
