"""Management information on small constructed histories, each answer worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.insights import mi
from services.insights.model import (
    Breach,
    CaseAlert,
    CaseRecord,
    Change,
    Decision,
    Enrolment,
    Event,
    Grade,
    History,
    Hit,
    Notification,
    Person,
    Referral,
    TagAlert,
)


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def people(*ids: str) -> dict[str, Person]:
    return {i: Person(i, "Hampshire", date(1990, 1, 1)) for i in ids}


def test_cohort_membership_follows_registrations_and_leavers():
    # A: registered FIXED in Jan, left in March, back (FLEX) in May.
    # B: registered in February, pathway changed in April, lead officer changed in June.
    # C: registered exactly at the range's end: not yet in it (effective before t).
    history = History(people=people("A", "B", "C"), changes=[
        Change("A", "REGISTERED", "FIXED", at(2025, 1, 10), "CATCH_AND_CONTROL", "PC 1"),
        Change("A", "DEREGISTERED", "FIXED", at(2025, 3, 1)),
        Change("A", "REGISTERED", "FLEX", at(2025, 5, 2), None, "PC 2"),
        Change("B", "REGISTERED", "FREE", at(2025, 2, 1), "PREVENT_AND_DETER", "PC 1"),
        Change("B", "PATHWAY_CHANGED", "FREE", at(2025, 4, 1), "CATCH_AND_CONTROL", "PC 1"),
        Change("B", "LEAD_OFFICER_CHANGED", "FREE", at(2025, 6, 1), "CATCH_AND_CONTROL",
               "PC 3"),
        Change("C", "REGISTERED", "FIXED", at(2025, 7, 1)),
    ], grades=[Grade("A", 1, "GREEN", at(2025, 1, 1)), Grade("A", 2, "RED", at(2025, 6, 1)),
               Grade("B", 1, "AMBER", at(2025, 7, 1))])  # B's grade comes at t: not yet
    end = at(2025, 7, 1)
    summary = mi.cohort_summary(history, at(2025, 2, 15), end)
    # At 15 Feb: A (FIXED) and B. At 1 July: A (FLEX, back) and B; C not yet.
    assert summary["size"] == 2 and summary["size_at_start"] == 2
    assert summary["joined"] == 0 and summary["left"] == 0
    # In [15 Feb, 1 Jul): A's deregistration and re-registration; C's is at the end.
    assert summary["registrations"] == 1 and summary["deregistrations"] == 1
    assert summary["by_cohort"] == {"FLEX": 1, "FREE": 1}
    assert summary["by_pathway"] == {"CATCH_AND_CONTROL": 1, "none": 1}
    assert summary["by_rag"] == {"RED": 1, "none": 1}
    assert mi.caseload(history, end) == [{"lead_officer": "PC 2", "people": 1},
                                         {"lead_officer": "PC 3", "people": 1}]
    months = mi.cohort_by_month(history, at(2025, 1, 1), end)
    # End of Jan: A (GREEN). Feb: A, B. Mar (A left on 1 Mar): B. Apr: B. May: A (RED
    # only from 1 June: GREEN at May's end), B. Jun: A (RED), B.
    assert [(r["month"], r["size"], r["GREEN"], r["RED"], r["ungraded"]) for r in months] == [
        ("2025-01", 1, 1, 0, 0), ("2025-02", 2, 1, 0, 1), ("2025-03", 1, 0, 0, 1),
        ("2025-04", 1, 0, 0, 1), ("2025-05", 2, 1, 0, 1), ("2025-06", 2, 0, 1, 1)]


def test_month_starts_cross_years_and_leap_days():
    assert [m.date() for m in mi.month_starts(at(2023, 12, 31), at(2024, 3, 1))] == [
        date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)]
    assert len(mi.month_starts(at(2024, 2, 29), at(2024, 2, 29, 1))) == 1


def test_referrals_outcomes_and_days_to_decision():
    r = [Referral("R1", "A", "FIXED", at(2025, 1, 1), urgent=True),
         Referral("R2", "B", "FLEX", at(2025, 1, 5)),
         Referral("R3", "C", "FREE", at(2025, 1, 20)),
         Referral("R4", "D", "FIXED", at(2024, 12, 31))]  # before the range
    d = [Decision("D1", "R1", "A", "ACCEPTED", "FIXED", at(2025, 1, 11)),  # 10 days
         Decision("D2", "R2", "B", "DEFERRED", "FLEX", at(2025, 1, 15)),
         Decision("D3", "R2", "B", "REJECTED", "FLEX", at(2025, 2, 4)),  # 30 days
         Decision("D4", "R3", "C", "DEFERRED", "FREE", at(2025, 2, 1))]
    figures = mi.referrals(History(referrals=r, decisions=d), at(2025, 1, 1), at(2025, 2, 1))
    assert figures == {"received": 3, "accepted": 1, "declined": 1, "undecided": 1,
                       "urgent": 1, "median_days_to_decision": 20.0}


def test_hits_ruled_in_and_report_to_ruling():
    hits = [Hit("H1", "A", "ACTIVE", "C1", at(2025, 3, 2), at(2025, 3, 1), at(2025, 3, 1)),
            Hit("H2", "A", "WITHDRAWN", "C2", at(2025, 3, 5), at(2025, 3, 4)),
            Hit("H3", "B", "ACTIVE", "C3", at(2025, 3, 6), at(2025, 3, 6), at(2025, 3, 6)),
            Hit("H4", "B", "ACTIVE", "C4", at(2025, 4, 6), at(2025, 4, 6)),  # after range
            Hit("H5", "B", "ACTIVE", "C5", at(2025, 3, 7), at(2025, 3, 7))]
    events = [Event("E1", "A", "HIT_CONFIRMED", at(2025, 3, 1, 6), hit_id="H1"),
              Event("E2", "B", "HIT_CONFIRMED", at(2025, 3, 6, 18), hit_id="H3"),
              # H3 ruled out later the same day: the officer changed their mind
              Event("E3", "B", "HIT_RULED_OUT", at(2025, 3, 6, 22), hit_id="H3")]
    figures = mi.hits(History(hits=hits, events=events), at(2025, 3, 1), at(2025, 4, 1))
    # H1: ruled in 6 h after its report, H3: out 22 h after; median 14. H5 awaits.
    assert figures == {"found": 4, "withdrawn": 1, "ruled_in": 1, "ruled_out": 1,
                       "awaiting_ruling": 1, "median_hours_report_to_ruling": 14.0}


def test_tag_health_counts_outages_only_while_fitted():
    # Tag T1 fitted 1 Mar 00:00 to 11 Mar 00:00 (240 h); silent from 2 Mar 00:00 to
    # 3 Mar 00:00 (24 h, recovered), and again from 10 Mar 12:00 (open: to the removal,
    # 12 h). T2 fitted from 5 Mar 00:00, open at the range's end 11 Mar (144 h), never down.
    history = History(enrolments=[
        Enrolment("T1", "A", "FITTED", at(2025, 3, 1)),
        Enrolment("T1", "A", "REMOVED", at(2025, 3, 11)),
        Enrolment("T2", "B", "FITTED", at(2025, 3, 5))],
        tag_alerts=[TagAlert("T1", "NO_FIXES", at(2025, 3, 2), at(2025, 3, 2, 1)),
                    TagAlert("T1", "RECOVERED", at(2025, 3, 3), at(2025, 3, 3)),
                    TagAlert("T1", "FIXES_UNUSABLE", at(2025, 3, 10, 12), at(2025, 3, 10, 13))])
    figures = mi.tag_health(history, at(2025, 3, 1), at(2025, 3, 11))
    assert figures["tags"] == 2 and figures["fitted_hours"] == 384.0
    assert figures["share_usable"] == round(1 - 36 / 384, 4)


def test_notifications_reviews_and_breaches():
    t = at(2025, 5, 1)
    history = History(
        notifications=[Notification("N1", "HIT", "DELIVERED", t, t + timedelta(seconds=4)),
                       Notification("N2", "HIT", "DELIVERED", t, t + timedelta(seconds=10)),
                       Notification("N3", "HIT", "FAILED", t, t + timedelta(hours=1)),
                       Notification("N4", "HIT", "RETRYING", t, t)],
        case_alerts=[CaseAlert("A1", "A", "REVIEW_OVERDUE", t),
                     CaseAlert("A2", "B", "REVIEW_OVERDUE", t - timedelta(days=40)),
                     CaseAlert("A3", "B", "PLAN_REVIEW_DUE", t)],
        breaches=[Breach("B1", "A", "ENTERED_EXCLUSION", t),
                  Breach("B2", "A", "LEFT_INCLUSION", t),
                  Breach("B3", "A", "ENTERED_EXCLUSION", t)])
    start, end = at(2025, 4, 1), at(2025, 6, 1)
    assert mi.notifications(history, start, end) == {
        "sent": 4, "delivered": 2, "failed": 1, "in_progress": 1,
        "median_seconds_to_delivery": 7.0}
    assert mi.reviews(history, start, end) == {
        "reviews_done": 0, "reviews_on_time": 0, "reviews_late": 0, "reviews_overdue": 1,
        "plan_reviews_due": 1}
    assert mi.breaches(history, start, end) == {"ENTERED_EXCLUSION": 2, "LEFT_INCLUSION": 1}


def test_reviews_on_time_and_late_and_plan_actions_by_agency():
    t = at(2025, 6, 10)
    records = [
        # reviews: one on its due day, one two days late, one before the range
        CaseRecord("R1", "A", "SUPERVISOR_REVIEW", "2025-06-05", t, None, date(2025, 6, 5),
                   date(2025, 6, 5)),
        CaseRecord("R2", "B", "SUPERVISOR_REVIEW", "2025-06-12", t, None, date(2025, 6, 10),
                   date(2025, 6, 12)),
        CaseRecord("R3", "B", "SUPERVISOR_REVIEW", "2025-05-20", t, None, date(2025, 5, 20),
                   date(2025, 5, 20)),
        # DWP: a1 agreed in May, closed in June a day late; a2 agreed in June, open, due
        # 20 June: overdue at the range's end (30 June). Housing: h1 agreed in June, due in
        # July: open, not overdue; h2 agreed and closed on time in June.
        CaseRecord("X1", "A", "PLAN_ACTION_AGREED", "a1", at(2025, 5, 2), "DWP",
                   date(2025, 6, 1)),
        CaseRecord("X2", "A", "PLAN_ACTION_CLOSED", "a1", at(2025, 6, 2), "DWP",
                   date(2025, 6, 1), date(2025, 6, 2)),
        CaseRecord("X3", "B", "PLAN_ACTION_AGREED", "a2", at(2025, 6, 3), "DWP",
                   date(2025, 6, 20)),
        CaseRecord("X4", "B", "PLAN_ACTION_AGREED", "h1", at(2025, 6, 4), "Housing",
                   date(2025, 7, 20)),
        CaseRecord("X5", "B", "PLAN_ACTION_AGREED", "h2", at(2025, 6, 4), "Housing",
                   date(2025, 6, 25)),
        CaseRecord("X6", "B", "PLAN_ACTION_CLOSED", "h2", at(2025, 6, 24), "Housing",
                   date(2025, 6, 25), date(2025, 6, 24)),
    ]
    history = History(case_records=records)
    start, end = at(2025, 6, 1), at(2025, 7, 1)
    assert mi.reviews(history, start, end) == {
        "reviews_done": 2, "reviews_on_time": 1, "reviews_late": 1, "reviews_overdue": 0,
        "plan_reviews_due": 0}
    assert mi.plan_actions(history, start, end) == [
        {"agency": "DWP", "agreed": 1, "closed": 1, "closed_late": 1, "open": 1, "overdue": 1},
        {"agency": "Housing", "agreed": 2, "closed": 1, "closed_late": 0, "open": 1,
         "overdue": 0}]
    # At the end of May: a1 open and not yet due (1 June), nothing else agreed yet.
    assert mi.plan_actions(history, at(2025, 5, 1), start) == [
        {"agency": "DWP", "agreed": 1, "closed": 0, "closed_late": 0, "open": 1, "overdue": 0}]
