"""The demo's synthetic IOM history (deploy/demo_history.py): deterministic, encodable,
inside its window, referentially whole, and telling the story insights is meant to show,
casework (iom.case.records) included."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from deploy.demo_history import AGENCIES, TOPICS, change_id, history, record_id, window_start
from iomkit import topics
from iomkit.codec import Codec, SchemaRegistry
from services.insights.outcomes import add_months
from services.referrals.case import dossier, lifecycle

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 6, 30, 17, 30, tzinfo=UTC)
TIME_FIELD = {"iom.referrals": "submitted_at", "iom.panel.decisions": "decided_at",
              "iom.cohort.changes": "effective_at", "iom.offender.events": "occurred_at",
              "iom.risk.grades": "graded_at", "iom.case.records": "recorded_at"}


@pytest.fixture(scope="module")
def demo() -> dict[str, list[dict]]:
    return history(11, END)


def test_same_seed_same_history_other_seed_other_history(demo) -> None:
    assert history(11, END) == demo
    other = history(12, END)
    assert other != demo and other["iom.case.records"] != demo["iom.case.records"]
    assert set(demo) == set(TOPICS)
    assert TOPICS.index("iom.case.records") == TOPICS.index("iom.cohort.changes") + 1
    assert all(demo[topic] for topic in TOPICS)


def test_every_record_encodes_with_the_contract_codec(demo) -> None:
    codec = Codec(SchemaRegistry(ROOT / "schemas"))
    assert topics.BY_NAME["iom.case.records"].record == "CaseRecord"
    assert demo["iom.case.records"]
    for topic, records in demo.items():
        record_name = topics.BY_NAME[topic].record
        for record in records:
            assert codec.decode(codec.encode(record_name, record)).value == record


LEAP_END = datetime(2028, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize(("end", "months", "start"), [
    (END, 24, datetime(2024, 6, 30, 17, 30, tzinfo=UTC)),
    (LEAP_END, 12, datetime(2027, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)),
    (LEAP_END, 48, datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC))])
def test_everything_happens_in_the_window_and_in_time_order(end, months, start) -> None:
    assert window_start(end, months) == start
    records = history(3, end, people=200, months=months)
    for topic, field in TIME_FIELD.items():
        times = [r[field] for r in records[topic]]
        assert times == sorted(times), topic
        assert all(start <= t <= end for t in times), topic
    for decision in records["iom.panel.decisions"]:
        assert decision["panel_date"] == decision["decided_at"].date()


def test_references_hold(demo) -> None:
    people = {p["person_id"] for p in demo["iom.people"]}
    referrals = {r["referral_id"]: r for r in demo["iom.referrals"]}
    accepted = {(d["person_id"], d["decided_at"]): d for d in demo["iom.panel.decisions"]
                if d["outcome"] == "ACCEPTED"}
    for decision in demo["iom.panel.decisions"]:
        referral = referrals[decision["referral_id"]]
        assert referral["person_id"] == decision["person_id"]
        assert timedelta(days=2) < decision["decided_at"] - referral["submitted_at"]
        assert decision["cohort"] == referral["proposed_cohort"]
    for change in demo["iom.cohort.changes"]:
        if change["change"] == "REGISTERED":
            decision = accepted[change["person_id"], change["effective_at"]]
            assert (change["cohort"], change["pathway"], change["lead_officer"]) == (
                decision["cohort"], decision["pathway"], decision["lead_officer"])
    event_ids = [e["event_id"] for e in demo["iom.offender.events"]]
    assert len(event_ids) == len(set(event_ids))
    for topic in TOPICS:
        assert all(r["person_id"] in people for r in demo[topic]), topic
    for grade in demo["iom.risk.grades"]:
        assert grade["cause_event_id"] is None or grade["cause_event_id"] in event_ids


def test_each_persons_changes_and_grades_make_sense(demo) -> None:
    state: dict[str, str] = {}
    for change in demo["iom.cohort.changes"]:
        pid, kind = change["person_id"], change["change"]
        assert (kind == "REGISTERED") == (state.get(pid, "DEREGISTERED") == "DEREGISTERED")
        state[pid] = kind
    kinds = {c["change"] for c in demo["iom.cohort.changes"]}
    assert kinds == {"REGISTERED", "PATHWAY_CHANGED", "LEAD_OFFICER_CHANGED", "DEREGISTERED"}
    last: dict[str, dict] = {}
    for grade in demo["iom.risk.grades"]:
        before = last.get(grade["person_id"])
        assert grade["revision"] == (before["revision"] + 1 if before else 1)
        assert grade["previous_rag"] == (before["rag"] if before else None)
        assert grade["changed"] == (grade["rag"] != grade["previous_rag"])
        last[grade["person_id"]] = grade
    assert {g["changed"] for g in demo["iom.risk.grades"]} == {True, False}
    assert {g["rag"] for g in demo["iom.risk.grades"]} == {"RED", "AMBER", "GREEN"}


def test_ids_and_free_text_say_synthetic(demo) -> None:
    ids = {"iom.people": ["person_id"], "iom.referrals": ["referral_id", "person_id"],
           "iom.panel.decisions": ["decision_id", "referral_id", "person_id"],
           "iom.offender.events": ["event_id", "person_id"],
           "iom.cohort.changes": ["person_id"], "iom.risk.grades": ["person_id"],
           "iom.case.records": ["person_id"]}
    for topic, fields in ids.items():
        assert all(r[f].startswith("SYN-") for r in demo[topic] for f in fields), topic
    texts = {"iom.referrals": ["referring_agency", "referrer", "reason", "index_offence"],
             "iom.panel.decisions": ["rationale"], "iom.cohort.changes": ["reason"],
             "iom.offender.events": ["source_agency"]}
    for topic, fields in texts.items():
        assert all("synthetic" in r[f].lower() for r in demo[topic] for f in fields), topic
    assert all(any("synthetic" in reason for reason in g["reasons"])
               for g in demo["iom.risk.grades"])
    assert all(e["details"]["synthetic"] == "true" for e in demo["iom.offender.events"])
    actions = [r for r in demo["iom.case.records"] if r["kind"] != "SUPERVISOR_REVIEW"]
    assert all(r["subject"].startswith("SYN-A-") for r in actions)
    assert {r["agency"] for r in actions} == set(AGENCIES)
    assert all(a.startswith("Synthetic ") for a in AGENCIES)


def test_change_id_is_the_referrals_services(demo) -> None:
    changes = demo["iom.cohort.changes"]
    assert len({c["change_id"] for c in changes}) == len(changes)
    for change in changes[:20]:
        assert change["change_id"] == lifecycle.change_id(change)
    at = datetime(2026, 3, 1, 9, 15, 30, 123000, tzinfo=UTC)
    assert change_id("SYN-0001", "REGISTERED", at) == lifecycle.change_id(
        {"person_id": "SYN-0001", "change": "REGISTERED", "effective_at": at})


def _registrations(demo) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """Person -> their registrations: (REGISTERED, DEREGISTERED or None while on IOM)."""
    spans: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for change in demo["iom.cohort.changes"]:
        mine = spans.setdefault(change["person_id"], [])
        if change["change"] == "REGISTERED":
            mine.append((change["effective_at"], None))
        elif change["change"] == "DEREGISTERED":
            mine[-1] = (mine[-1][0], change["effective_at"])
    return spans


def test_case_records_only_while_registered_and_never_after_end(demo) -> None:
    records, spans = demo["iom.case.records"], _registrations(demo)
    for record in records:
        assert record["force"] == "Hampshire"
        assert record["recorded_at"] <= END and (record["done_on"] or date.min) <= END.date()
        assert any(since < record["recorded_at"] and (until is None or
                                                      record["recorded_at"] < until)
                   for since, until in spans.get(record["person_id"], [])), record
    agreed: dict[str, int] = {}
    for record in records:
        if record["kind"] == "PLAN_ACTION_AGREED":
            agreed[record["person_id"]] = agreed.get(record["person_id"], 0) + 1
    for pid, mine in spans.items():
        assert agreed.get(pid, 0) <= 4 * len(mine), pid
        if mine[0][0] < END - timedelta(days=2):
            assert agreed.get(pid, 0) >= 1, pid  # every registration agrees 1-4 actions
    assert set(agreed) <= set(spans)


def test_record_ids_are_unique_and_the_referrals_services(demo) -> None:
    records = demo["iom.case.records"]
    assert len({r["record_id"] for r in records}) == len(records)
    for record in records[:50]:
        assert record["record_id"] == dossier.alert_id(
            record["person_id"], record["kind"], record["subject"])
    assert record_id("SYN-0001", "SUPERVISOR_REVIEW", "2026-03-01") == dossier.alert_id(
        "SYN-0001", "SUPERVISOR_REVIEW", "2026-03-01")


def test_reviews_follow_their_cadence_some_late(demo) -> None:
    reviews = [r for r in demo["iom.case.records"] if r["kind"] == "SUPERVISOR_REVIEW"]
    steps = [(c["effective_at"], c["person_id"], c["effective_at"].date(), None)
             for c in demo["iom.cohort.changes"] if c["change"] == "REGISTERED"]
    steps += [(r["recorded_at"], r["person_id"], r["done_on"], r) for r in reviews]
    last: dict[str, date] = {}
    intervals = set()
    for _, pid, day, review in sorted(steps, key=lambda s: s[:2]):
        if review is not None:
            assert review["subject"] == day.isoformat() and review["agency"] is None
            assert review["recorded_at"] == datetime.combine(day, time(10), UTC)
            intervals.add((review["due_on"] - last[pid]).days)
            assert -5 <= (day - review["due_on"]).days <= 20
        last[pid] = day
    assert intervals == {14, 28}  # 14 days while RED
    late = sum(r["done_on"] > r["due_on"] for r in reviews) / len(reviews)
    assert 0.1 < late < 0.3, late


def test_a_closed_action_follows_its_agreement(demo) -> None:
    agreed: dict[str, dict] = {}
    closed: dict[str, dict] = {}
    for record in demo["iom.case.records"]:
        if record["kind"] == "PLAN_ACTION_AGREED":
            assert record["subject"] not in agreed and record["done_on"] is None
            assert 14 <= (record["due_on"] - record["recorded_at"].date()).days <= 60
            assert record["recorded_at"].time() == time(11)
            agreed[record["subject"]] = record
        elif record["kind"] == "PLAN_ACTION_CLOSED":
            first = agreed[record["subject"]]  # agreed before, in publishing order
            assert record["subject"] not in closed
            assert [record[f] for f in ("person_id", "agency", "due_on")] == [
                first[f] for f in ("person_id", "agency", "due_on")]
            assert first["recorded_at"] < record["recorded_at"] == datetime.combine(
                record["done_on"], time(12), UTC)
            closed[record["subject"]] = record
    assert 0.5 < len(closed) / len(agreed) < 0.8
    assert any(c["done_on"] > c["due_on"] for c in closed.values())
    assert any(c["done_on"] <= c["due_on"] for c in closed.values())
    still_open = [a for s, a in agreed.items() if s not in closed]
    assert any(a["due_on"] < END.date() for a in still_open)  # overdue at the end


def test_people_are_plausible(demo) -> None:
    people = demo["iom.people"]
    assert any((p["date_of_birth"].month, p["date_of_birth"].day) == (2, 29) for p in people)
    referred = {r["person_id"]: r["submitted_at"].date() for r in demo["iom.referrals"]}
    for person in people:
        day = referred[person["person_id"]]
        born = person["date_of_birth"]
        assert 18 <= day.year - born.year - ((day.month, day.day) < (born.month, born.day)) <= 60
        if person["previous_sanctions"] is not None:
            assert 0 <= person["previous_sanctions"] <= 40
            assert person["first_sanction_date"] <= person["current_conviction_date"] < day
    assert any(p["current_offence"] is None for p in people)  # facts not yet known


def _reoffended(offences: list[tuple[date, date]], start: date) -> bool:
    """The MoJ proven reoffending measure as insights counts it."""
    follow_up = add_months(start, 12)
    return any(start <= done < follow_up and convicted < add_months(follow_up, 6)
               for done, convicted in offences)


def test_registered_do_better_than_predicted_and_rejected_as_predicted() -> None:
    end = datetime(2026, 6, 30, tzinfo=UTC)
    records = history(2024, end, people=3000, months=36)
    p = {g["person_id"]: g["p_one_year"] for g in records["iom.risk.grades"]
         if g["revision"] == 1 and g["p_one_year"] is not None}
    offences: dict[str, list[tuple[date, date]]] = {}
    for event in records["iom.offender.events"]:
        if event["type"] == "CONVICTED":
            convicted = event["occurred_at"].date()
            done = event["details"].get("offence_date", convicted.isoformat())
            offences.setdefault(event["person_id"], []).append(
                (date.fromisoformat(str(done)), convicted))
    complete = add_months(end.date(), -18)
    first_start: dict[str, tuple[str, date]] = {}
    for change in records["iom.cohort.changes"]:
        if change["change"] == "REGISTERED":
            first_start.setdefault(change["person_id"], ("registered",
                                                         change["effective_at"].date()))
    for decision in records["iom.panel.decisions"]:
        if decision["outcome"] == "REJECTED":
            first_start.setdefault(decision["person_id"], ("rejected",
                                                           decision["decided_at"].date()))
    for group, below, near in (("registered", True, False), ("rejected", False, True)):
        starts = [(pid, day) for pid, (g, day) in first_start.items()
                  if g == group and day <= complete and pid in p]
        assert len(starts) > 250, group
        rate = statistics.mean(_reoffended(offences.get(pid, []), day) for pid, day in starts)
        predicted = statistics.mean(p[pid] for pid, _ in starts)
        if below:
            assert rate < predicted - 0.03, (group, rate, predicted)
        if near:
            assert abs(rate - predicted) < 0.1, (group, rate, predicted)


def test_an_end_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        history(1, datetime(2026, 6, 30))
