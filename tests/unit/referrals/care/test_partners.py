"""Partners told of the plan actions their agency owes: once when agreed, once when overdue
(the due day itself is on time), never health information in the alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.referrals.care import casework
from services.referrals.case.dossier import Outputs
from tests.unit.referrals.care.test_casework import kinds
from tests.unit.referrals.case.test_dossier import NOW, RS, registered


def add(d: dict, action_id: str = "a1", need: str = "EMPLOYMENT", due: str = "2026-12-20",
        agency: str = "Southampton Works", at: datetime = NOW) -> Outputs:
    out = Outputs()
    casework.command(d, {"command": "add_action", "action_id": action_id, "need": need,
                         "pathway": "REHABILITATE_AND_RESETTLE", "partner_agency": agency,
                         "description": "work coach appointments", "due": due,
                         "agreed_by": "OM Jones"}, at, out, RS)
    return out


def tick(d: dict, at: datetime) -> Outputs:
    out = Outputs()
    casework.on_tick(d, at, out, RS)
    return out


def test_an_agreed_action_tells_its_agency_once():
    d = registered()
    out = add(d)
    [alert] = [a for a in out.alerts if a["kind"] == "ACTION_ASSIGNED"]
    assert alert["details"] == {"action_id": "a1", "partner_agency": "Southampton Works",
                                "pathway": "REHABILITATE_AND_RESETTLE", "due": "2026-12-20",
                                "need": "EMPLOYMENT",
                                "description": "work coach appointments"}
    assert "Southampton Works" in alert["summary"] and "2026-12-20" in alert["summary"]
    assert alert["force"] == "Hampshire" and alert["lead_officer"] == "OM Jones"
    assert "ACTION_ASSIGNED" not in kinds(add(d))  # the same action again: nothing new
    other = [a for a in add(d, "a2").alerts if a["kind"] == "ACTION_ASSIGNED"]
    assert len(other) == 1 and other[0]["alert_id"] != alert["alert_id"]


def test_overdue_the_day_after_it_was_due_in_uk_time_and_only_once():
    d = registered()
    add(d, due="2026-12-20")
    # 20 December, the last minute of the UK day (GMT): on time
    assert "ACTION_OVERDUE" not in kinds(tick(d, datetime(2026, 12, 20, 23, 59, tzinfo=UTC)))
    late = tick(d, datetime(2026, 12, 21, 0, 0, tzinfo=UTC))
    [alert] = [a for a in late.alerts if a["kind"] == "ACTION_OVERDUE"]
    assert alert["details"]["due"] == "2026-12-20"
    assert "overdue" in alert["summary"]
    assert "ACTION_OVERDUE" not in kinds(tick(d, datetime(2026, 12, 22, tzinfo=UTC)))


def test_overdue_counts_uk_days_in_summer_time():
    d = registered()
    summer = datetime(2027, 6, 1, 10, tzinfo=UTC)
    add(d, due="2027-06-30", at=summer)
    # 23:30 UTC on 30 June is 00:30 on 1 July in London: overdue
    assert "ACTION_OVERDUE" not in kinds(tick(d, datetime(2027, 6, 30, 22, 59, tzinfo=UTC)))
    assert "ACTION_OVERDUE" in kinds(tick(d, datetime(2027, 6, 30, 23, 30, tzinfo=UTC)))


def test_an_action_with_an_outcome_is_never_overdue():
    d = registered()
    add(d, due="2026-11-30")
    casework.command(d, {"command": "record_outcome", "action_id": "a1", "outcome": "done",
                         "on": "2026-11-28"}, NOW + timedelta(days=3), Outputs(), RS)
    assert "ACTION_OVERDUE" not in kinds(tick(d, NOW + timedelta(days=30)))


def test_29_february_due_date():
    d = registered()
    add(d, due="2028-02-29")
    assert "ACTION_OVERDUE" not in kinds(tick(d, datetime(2028, 2, 29, 12, tzinfo=UTC)))
    assert "ACTION_OVERDUE" in kinds(tick(d, datetime(2028, 3, 1, 0, 1, tzinfo=UTC)))


def test_an_action_for_a_health_need_says_neither_the_need_nor_what_it_is():
    d = registered()
    out = add(d, need="ALCOHOL_DRUGS", agency="Inclusion Hampshire")
    [alert] = [a for a in out.alerts if a["kind"] == "ACTION_ASSIGNED"]
    assert set(alert["details"]) == {"action_id", "partner_agency", "pathway", "due"}
    assert "work coach" not in alert["summary"] and "ALCOHOL" not in alert["summary"]
    [late] = [a for a in tick(d, datetime(2026, 12, 21, 9, tzinfo=UTC)).alerts
              if a["kind"] == "ACTION_OVERDUE"]
    assert "need" not in late["details"] and "work coach" not in late["summary"]
