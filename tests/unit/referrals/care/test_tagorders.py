"""Tag orders: fitted within the hours after release, monitoring within the licence and the
12-month maximum. Every clock is injected; the edges: exactly 24 h, exactly 12 months, 29
February, month ends, UK summer time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.referrals.care import casework, tagorders
from services.referrals.care.tagorders import (
    BEYOND_LICENCE,
    BEYOND_MAXIMUM,
    NOT_FITTED,
    check,
    maximum_last_day,
    needs_tick,
    on_enrolment,
    on_release,
    requires_tag,
    runs_past,
)
from services.referrals.case import dossier
from services.referrals.case.dossier import Outputs
from tests.unit.referrals.case.test_dossier import RS, event, person

RELEASED = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def fitted(at: datetime, ends: datetime | None = None, eid: str = "E1",
           device: str = "TAG-1", status: str = "FITTED") -> dict:
    return {"enrolment_id": eid, "device_id": device, "person_id": "P-1", "status": status,
            "effective_at": at, "monitoring_ends_at": ends}


def released(requires: bool = True, at: datetime = RELEASED) -> dict:
    return on_release(tagorders.new(), at, requires, None)


def kinds(found: list) -> list[str]:
    return [f.kind for f in found]


# -- rule 1: fitted within the hours after release -------------------------------------------


def test_no_tag_exactly_24_hours_after_release_is_not_yet_late_a_moment_later_is():
    state = released()
    assert kinds(check(state, None, RELEASED + 24 * HOUR)) == []
    late = check(state, None, RELEASED + 24 * HOUR + timedelta(milliseconds=1))
    assert kinds(late) == [NOT_FITTED]
    assert late[0].subject == RELEASED.isoformat()
    assert late[0].details["deadline"] == (RELEASED + 24 * HOUR).isoformat()


@pytest.mark.parametrize(("fitted_after", "in_time"), [
    (timedelta(0), True), (24 * HOUR, True), (24 * HOUR + timedelta(seconds=1), False),
    (-2 * HOUR, True),  # fitted at the gate before the recorded release time
    (-24 * HOUR - timedelta(seconds=1), False),  # a fitting of another spell
])
def test_a_fitting_within_24_hours_either_side_counts(fitted_after, in_time):
    state = on_enrolment(released(), fitted(RELEASED + fitted_after))
    found = kinds(check(state, None, RELEASED + 30 * HOUR))
    assert (NOT_FITTED not in found) == in_time


def test_the_hours_are_a_setting():
    state = released()
    assert kinds(check(state, None, RELEASED + 7 * HOUR, hours=6)) == [NOT_FITTED]
    assert kinds(check(state, None, RELEASED + 7 * HOUR)) == []


def test_a_licence_that_does_not_require_a_tag_raises_nothing():
    assert check(released(requires=False), None, RELEASED + 48 * HOUR) == []


def test_a_removed_enrolment_is_not_a_fitting():
    state = on_enrolment(released(), fitted(RELEASED + HOUR, status="REMOVED"))
    assert kinds(check(state, None, RELEASED + 25 * HOUR)) == [NOT_FITTED]


@pytest.mark.parametrize(("details", "gate_flag", "offence", "expected"), [
    ({"neighbourhood_licence": "true"}, False, False, True),  # the release event says
    ({"neighbourhood_licence": "no"}, True, True, False),
    ({}, True, False, True),  # the flag sent with RELEASE_DATE_SET
    ({}, False, True, False),  # RELEASE_DATE_SET said no: not the offence
    ({}, None, True, True),  # no release date ever set: the offence
    ({}, None, False, False),
])
def test_whether_the_licence_requires_a_tag(details, gate_flag, offence, expected):
    assert requires_tag(details, gate_flag, offence) is expected


# -- rules 2 and 3: the licence end and the maximum ------------------------------------------


def test_exactly_12_months_is_allowed_a_day_more_is_not():
    start = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert maximum_last_day(start) == date(2027, 3, 10)
    on_time = on_enrolment(released(), fitted(start, datetime(2027, 3, 10, 23, 59, tzinfo=UTC)))
    assert kinds(check(on_time, None, start)) == []
    over = on_enrolment(released(), fitted(start, datetime(2027, 3, 11, 0, 0, tzinfo=UTC)))
    [found] = check(over, None, start)
    assert found.kind == BEYOND_MAXIMUM and found.details["maximum_last_day"] == "2027-03-10"


@pytest.mark.parametrize(("first", "last"), [
    (date(2028, 2, 29), date(2029, 2, 28)),  # 29 February: the month's end next year
    (date(2027, 1, 31), date(2028, 1, 31)),
    (date(2027, 2, 28), date(2028, 2, 28)),  # not 29 February in the leap year
    (date(2026, 12, 31), date(2027, 12, 31)),
])
def test_the_maximum_at_month_ends(first, last):
    assert maximum_last_day(datetime(first.year, first.month, first.day, 12, tzinfo=UTC)) == last


def test_the_maximum_counts_uk_days_in_summer_time():
    # 23:30 UTC on 30 June is 1 July in London: the maximum runs to 1 July next year
    assert maximum_last_day(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == date(2027, 7, 1)
    ends = datetime(2027, 7, 1, 22, 59, tzinfo=UTC)  # 23:59 London, 1 July: allowed
    assert not runs_past(ends, date(2027, 7, 1), ends)
    assert runs_past(ends + timedelta(minutes=1), date(2027, 7, 1), ends)


@pytest.mark.parametrize(("licence_end", "ends", "past"), [
    (date(2027, 2, 28), datetime(2027, 2, 28, 23, 59, tzinfo=UTC), False),  # the last day
    (date(2027, 2, 28), datetime(2027, 3, 1, 0, 0, tzinfo=UTC), True),
    (date(2028, 2, 29), datetime(2028, 2, 29, 18, tzinfo=UTC), False),  # 29 February
    (date(2028, 2, 29), datetime(2028, 3, 1, 8, tzinfo=UTC), True),
    (date(2026, 4, 30), datetime(2026, 4, 30, 22, 59, tzinfo=UTC), False),  # 23:59 BST
    (date(2026, 4, 30), datetime(2026, 4, 30, 23, 0, tzinfo=UTC), True),  # 00:00 BST, 1 May
])
def test_monitoring_past_the_licence_end(licence_end, ends, past):
    start = datetime(2026, 3, 10, 12, tzinfo=UTC)
    state = on_enrolment(released(), fitted(start, ends))
    assert (BEYOND_LICENCE in kinds(check(state, licence_end, start))) is past


def test_no_end_set_runs_past_only_once_the_day_has_passed_and_only_while_fitted():
    start = datetime(2026, 3, 10, 12, tzinfo=UTC)
    state = on_enrolment(released(), fitted(start))
    end = date(2026, 9, 30)
    assert kinds(check(state, end, datetime(2026, 9, 30, 22, 59, tzinfo=UTC))) == []
    assert kinds(check(state, end, datetime(2026, 9, 30, 23, 0, tzinfo=UTC))) == [
        BEYOND_LICENCE]
    assert needs_tick(state)
    removed = on_enrolment(state, fitted(datetime(2026, 9, 1, tzinfo=UTC), eid="E2",
                                         status="REMOVED"))
    assert check(removed, end, datetime(2026, 10, 5, tzinfo=UTC)) == []
    assert not needs_tick(removed)


def test_a_device_swap_does_not_restart_the_maximum():
    start = datetime(2026, 3, 10, 12, tzinfo=UTC)
    state = on_enrolment(released(), fitted(start))
    state = on_enrolment(state, fitted(datetime(2026, 8, 1, tzinfo=UTC), eid="E2",
                                       status="REMOVED"))
    state = on_enrolment(state, fitted(datetime(2026, 8, 1, 1, tzinfo=UTC),
                                       datetime(2027, 7, 31, tzinfo=UTC), eid="E3",
                                       device="TAG-2"))
    [found] = check(state, None, datetime(2026, 8, 1, 2, tzinfo=UTC))
    assert found.kind == BEYOND_MAXIMUM and found.details["enrolment_id"] == "E3"
    assert found.details["maximum_last_day"] == "2027-03-10"


def test_a_new_release_forgets_enrolments_of_earlier_spells_and_memory_is_bounded():
    old = on_enrolment(tagorders.new(), fitted(datetime(2024, 1, 1, tzinfo=UTC),
                                               datetime(2024, 6, 1, tzinfo=UTC)))
    old = on_enrolment(old, fitted(datetime(2024, 6, 1, tzinfo=UTC), eid="E0",
                                   status="REMOVED"))
    state = on_release(old, RELEASED, True, None)
    assert state["enrolments"] == {}
    for n in range(tagorders.KEEP + 15):
        state = on_enrolment(state, fitted(RELEASED + n * HOUR, eid=f"E{n:03d}",
                                           device=f"TAG-{n}", status="REMOVED"))
    state = on_enrolment(state, fitted(RELEASED, eid="LIVE", device="TAG-LIVE"))
    assert len(state["enrolments"]) == tagorders.KEEP
    assert "LIVE" in state["enrolments"]  # the current fitting is kept


# -- on the dossier: once each, with the person's force --------------------------------------


def test_on_the_dossier_each_alert_is_raised_once_with_the_force_and_licence_end():
    d = dossier.new("P-1")
    dossier.on_person(d, person(licence_end=date(2026, 9, 30)), RELEASED)
    out = Outputs()
    casework.on_event(d, event("RELEASED_ON_LICENCE", RELEASED, neighbourhood_licence="true"),
                      RELEASED, out, RS)
    assert out.alerts == []
    tick = Outputs()
    tagorders.apply(d, RELEASED + 25 * HOUR, tick, RS)
    [late] = tick.alerts
    assert (late["kind"], late["force"]) == ("TAG_NOT_FITTED", "Hampshire")
    assert not needs_tick(d["tags"])  # raised: no more ticks for this release
    again = Outputs()
    tagorders.apply(d, RELEASED + 26 * HOUR, again, RS)
    assert again.alerts == []
    out = Outputs()
    tagorders.enrolment(d, fitted(RELEASED + 26 * HOUR, datetime(2027, 4, 1, tzinfo=UTC)),
                        RELEASED + 26 * HOUR, out, RS)
    assert sorted(a["kind"] for a in out.alerts) == ["TAG_BEYOND_LICENCE",
                                                     "TAG_BEYOND_MAXIMUM"]
    assert {a["details"]["enrolment_id"] for a in out.alerts} == {"E1"}


def test_nothing_is_raised_before_the_persons_record_names_their_force():
    d = dossier.new("P-1")
    out = Outputs()
    tagorders.enrolment(d, fitted(RELEASED, datetime(2028, 1, 1, tzinfo=UTC)), RELEASED,
                        out, RS)
    assert out.alerts == []
    dossier.on_person(d, person(licence_end=date(2026, 9, 30)), RELEASED)
    tagorders.apply(d, RELEASED, out, RS)
    assert {a["kind"] for a in out.alerts} == {"TAG_BEYOND_LICENCE", "TAG_BEYOND_MAXIMUM"}
