"""Needs, plans and through-the-gate on a dossier: what each input publishes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.referrals.care import casework
from services.referrals.care.checks import CareError
from services.referrals.case.dossier import Outputs
from tests.unit.referrals.case.test_dossier import NOW, RS, event, registered


def run_event(d: dict, kind: str, at: datetime = NOW, **details: str) -> Outputs:
    out = Outputs()
    casework.on_event(d, event(kind, at, **details), at, out, RS)
    return out


def kinds(out: Outputs) -> list[str]:
    return [a["kind"] for a in out.alerts]


def test_a_release_without_a_reception_is_not_a_prison_release():
    d = registered()
    assert kinds(run_event(d, "RELEASED_ON_LICENCE")) == []
    assert d["care"]["gate"]["released_on"] is None


def test_release_hands_over_to_the_lead_officer_once_and_names_unready_items():
    d = registered()
    run_event(d, "PRISON_RECEPTION", NOW - timedelta(days=100))
    out = run_event(d, "RELEASE_DATE_SET", release_date=(NOW + timedelta(days=10)).date()
                    .isoformat())
    assert kinds(out) == ["CHECKLIST_OPENED"]
    out = run_event(d, "RELEASED_ON_LICENCE", NOW + timedelta(days=10))
    assert kinds(out) == ["RELEASE_HANDOVER", "RELEASE_ITEMS_UNREADY"]
    assert out.alerts[0]["lead_officer"] == "OM Jones"
    assert kinds(run_event(d, "RELEASED_ON_LICENCE", NOW + timedelta(days=10))) == []


def test_the_checklist_opens_on_the_tick_twelve_weeks_before_release_not_a_day_earlier():
    d = registered()
    run_event(d, "PRISON_RECEPTION", NOW - timedelta(days=10))
    release = (NOW + timedelta(weeks=20)).date()
    assert kinds(run_event(d, "RELEASE_DATE_SET", release_date=release.isoformat())) == []
    opens = datetime.combine(release - timedelta(weeks=12), NOW.timetz())
    before, out = Outputs(), Outputs()
    casework.on_tick(d, opens - timedelta(days=1), before, RS)
    casework.on_tick(d, opens, out, RS)
    assert (kinds(before), kinds(out)) == ([], ["CHECKLIST_OPENED"])


def test_sash_opened_alerts_and_closed_does_not():
    d = registered()
    assert kinds(run_event(d, "SASH_OPENED")) == ["SASH"]
    assert kinds(run_event(d, "SASH_CLOSED", NOW + timedelta(days=1))) == []
    assert casework.view(d, NOW)["sash"] is None


def test_a_rise_in_grade_makes_the_plan_review_due_at_once_and_a_fall_does_not():
    d = registered()
    out = Outputs()
    casework.command(d, {"command": "add_action", "action_id": "a1", "need": "EMPLOYMENT",
                         "pathway": "REHABILITATE_AND_RESETTLE", "partner_agency": "DWP",
                         "description": "work coach", "due": "2026-12-20",
                         "agreed_by": "OM Jones"}, NOW, out, RS)
    fall, rise = Outputs(), Outputs()
    casework.on_grade(d, "GREEN", "AMBER", NOW, fall, RS)
    casework.on_grade(d, "RED", "GREEN", NOW, rise, RS)
    assert (kinds(fall), kinds(rise)) == ([], ["PLAN_REVIEW_DUE"])


def test_an_action_without_the_offender_managers_agreement_is_refused():
    d = registered()
    with pytest.raises(CareError) as refused:
        casework.command(d, {"command": "add_action", "action_id": "a1", "need": "EMPLOYMENT",
                             "pathway": "REHABILITATE_AND_RESETTLE", "partner_agency": "DWP",
                             "description": "work coach", "due": "2026-12-20",
                             "agreed_by": "PO Someone Else"}, NOW, Outputs(), RS)
    assert refused.value.field == "agreed_by"


def test_a_pathway_change_is_published_with_the_reason():
    d = registered()
    out = Outputs()
    casework.command(d, {"command": "change_pathway", "pathway": "REHABILITATE_AND_RESETTLE",
                         "reason": "engaging well"}, NOW + timedelta(days=1), out, RS)
    assert [(c["change"], c["pathway"]) for c in out.cohort_changes] == [
        ("PATHWAY_CHANGED", "REHABILITATE_AND_RESETTLE")]
    assert d["case"]["pathway"] == "REHABILITATE_AND_RESETTLE"
    assert out.cohort_changes[0]["effective_at"] == datetime(2026, 11, 26, tzinfo=UTC)


def test_plan_actions_are_published_as_case_records_with_their_agency_and_dates():
    d = registered()
    agreed, closed = Outputs(), Outputs()
    action = {"command": "add_action", "action_id": "a1", "need": "EMPLOYMENT",
              "pathway": "REHABILITATE_AND_RESETTLE", "partner_agency": "DWP",
              "description": "work coach", "due": "2026-12-20", "agreed_by": "OM Jones"}
    casework.command(d, action, NOW, agreed, RS)
    casework.command(d, {"command": "record_outcome", "action_id": "a1",
                         "outcome": "started with the work coach (free text, not published)",
                         "on": "2026-12-22"}, NOW + timedelta(days=30), closed, RS)
    [a] = agreed.records
    [c] = closed.records
    assert (a["kind"], a["subject"], a["agency"], a["due_on"], a["done_on"]) == (
        "PLAN_ACTION_AGREED", "a1", "DWP", date(2026, 12, 20), None)
    assert (c["kind"], c["agency"], c["due_on"], c["done_on"]) == (
        "PLAN_ACTION_CLOSED", "DWP", date(2026, 12, 20), date(2026, 12, 22))
    assert a["record_id"] != c["record_id"] and "work coach" not in str(c)
    again = Outputs()
    casework.command(d, action, NOW, again, RS)  # the same action sent again: the same id
    assert again.records[0]["record_id"] == a["record_id"]
