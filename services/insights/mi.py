"""Management information: what the cohort is and what the teams did, for one force or all,
over a date range [start, end). Pure: functions of a ``History`` and the range.

Definitions (the page says them too):
- In the cohort at time t: the person's latest REGISTERED or DEREGISTERED change effective
  before t is REGISTERED. Their cohort type, pathway and lead officer are those of their
  latest change of any kind before t; their RAG their latest grade graded before t.
- Referrals received in the range (submitted_at); each referral's outcome is its latest
  panel decision (DEFERRED or none: undecided); days to decision from submission to the
  first ACCEPTED or REJECTED decision.
- Reviews done in the range (CaseRecord SUPERVISOR_REVIEW by done_on), on time when done on
  or before the day they were due; reviews overdue: REVIEW_OVERDUE case alerts raised.
- Plan actions per partner agency (CaseRecord PLAN_ACTION_AGREED and _CLOSED): agreed and
  closed in the range (closed late: after their due day), open and overdue (due before the
  range's last day) at its end.
- Hits found: first detected in the range; withdrawn: latest revision WITHDRAWN; ruled in
  or out: the latest HIT_CONFIRMED or HIT_RULED_OUT event naming the hit (an officer may
  change their mind); hours from the crime's report to that ruling.
- Tag health: the share of fitted time in the range not inside an alert (NO_FIXES or
  FIXES_UNUSABLE, from its ``since`` to the RECOVERED fix or the tag's removal).
- Notifications created in the range by their latest state; seconds to delivery of those
  DELIVERED (created_at to updated_at).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.insights.model import Change, History

RAGS = ("RED", "AMBER", "GREEN")
COHORTS = ("FIXED", "FLEX", "FREE")


@dataclass(frozen=True)
class Member:
    person_id: str
    cohort: str
    pathway: str | None
    lead_officer: str | None
    rag: str | None


def _by_person(changes: list[Change]) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: c.effective_at):
        out[change.person_id].append(change)
    return out


def cohort_at(history: History, t: datetime) -> list[Member]:
    grades: dict[str, tuple[datetime, int, str]] = {}
    for g in history.grades:
        if g.graded_at < t and (g.person_id not in grades
                                or (g.graded_at, g.revision) > grades[g.person_id][:2]):
            grades[g.person_id] = (g.graded_at, g.revision, g.rag)
    members = []
    for person_id, changes in _by_person(history.changes).items():
        before = [c for c in changes if c.effective_at < t]
        status = [c for c in before if c.change in ("REGISTERED", "DEREGISTERED")]
        if not status or status[-1].change != "REGISTERED":
            continue
        latest = before[-1]
        rag = grades.get(person_id, (None, None, None))[2]
        members.append(Member(person_id, latest.cohort, latest.pathway, latest.lead_officer,
                              rag))
    return members


def _tally(values: list[str | None]) -> dict[str, int]:
    return dict(sorted(Counter(v or "none" for v in values).items()))


def cohort_summary(history: History, start: datetime, end: datetime) -> dict[str, Any]:
    now = cohort_at(history, end)
    before = {m.person_id for m in cohort_at(history, start)}
    after = {m.person_id for m in now}
    changes = [c for c in history.changes if start <= c.effective_at < end]
    return {
        "size": len(now), "size_at_start": len(before),
        "joined": len(after - before), "left": len(before - after),
        "registrations": sum(c.change == "REGISTERED" for c in changes),
        "deregistrations": sum(c.change == "DEREGISTERED" for c in changes),
        "by_cohort": _tally([m.cohort for m in now]),
        "by_pathway": _tally([m.pathway for m in now]),
        "by_rag": _tally([m.rag for m in now]),
    }


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """The first instant of every month from start's month to the one containing end."""
    t = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    out = []
    while t < end:
        out.append(t)
        t = (t + timedelta(days=32)).replace(day=1)
    return out


def cohort_by_month(history: History, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Cohort size by RAG at the end of each month in the range (the last month: at end)."""
    rows = []
    months = month_starts(start, end)
    for n, first in enumerate(months):
        t = min(months[n + 1] if n + 1 < len(months) else end, end)
        members = cohort_at(history, t)
        rags = Counter(m.rag or "ungraded" for m in members)
        rows.append({"month": first.strftime("%Y-%m"), "size": len(members),
                     **{rag: rags.get(rag, 0) for rag in (*RAGS, "ungraded")}})
    return rows


def caseload(history: History, end: datetime) -> list[dict[str, Any]]:
    counts = Counter(m.lead_officer or "unassigned" for m in cohort_at(history, end))
    return [{"lead_officer": officer, "people": n}
            for officer, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def referrals(history: History, start: datetime, end: datetime) -> dict[str, Any]:
    decisions: dict[str, list[Any]] = defaultdict(list)
    for d in sorted(history.decisions, key=lambda d: d.decided_at):
        decisions[d.referral_id].append(d)
    outcomes: Counter[str] = Counter()
    days: list[float] = []
    received = [r for r in history.referrals if start <= r.submitted_at < end]
    for r in received:
        made = decisions.get(r.referral_id, [])
        final = [d for d in made if d.outcome in ("ACCEPTED", "REJECTED")]
        outcomes[made[-1].outcome if made and made[-1].outcome != "DEFERRED"
                 else "UNDECIDED"] += 1
        if final:
            days.append((final[0].decided_at - r.submitted_at).total_seconds() / 86400)
    return {"received": len(received), "accepted": outcomes["ACCEPTED"],
            "declined": outcomes["REJECTED"], "undecided": outcomes["UNDECIDED"],
            "urgent": sum(r.urgent for r in received),
            "median_days_to_decision": _median(days)}


def reviews(history: History, start: datetime, end: datetime) -> dict[str, Any]:
    raised = Counter(a.kind for a in history.case_alerts if start <= a.raised_at < end)
    done = [r for r in history.case_records if r.kind == "SUPERVISOR_REVIEW"
            and r.done_on is not None and start.date() <= r.done_on < end.date()]
    return {"reviews_done": len(done),
            "reviews_on_time": sum(r.due_on is not None and r.done_on <= r.due_on
                                   for r in done),
            "reviews_late": sum(r.due_on is not None and r.done_on > r.due_on for r in done),
            "reviews_overdue": raised.get("REVIEW_OVERDUE", 0),
            "plan_reviews_due": raised.get("PLAN_REVIEW_DUE", 0)}


def plan_actions(history: History, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per partner agency: actions agreed and closed in the range, and open and overdue at
    its end (open: agreed before the end and not closed before it)."""
    agreed: dict[tuple[str, str], Any] = {}
    closed: dict[tuple[str, str], Any] = {}
    for r in history.case_records:
        key = (r.person_id, r.subject)
        if r.kind == "PLAN_ACTION_AGREED":
            agreed[key] = r
        elif r.kind == "PLAN_ACTION_CLOSED" and r.done_on is not None:
            closed[key] = r
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    last = (end - timedelta(microseconds=1)).date()
    for key, r in agreed.items():
        counts = rows[r.agency or "unknown"]
        counts["agreed"] += start <= r.recorded_at < end
        shut = closed.get(key)
        if shut is not None and start.date() <= shut.done_on <= last:
            counts["closed"] += 1
            counts["closed_late"] += r.due_on is not None and shut.done_on > r.due_on
        if r.recorded_at < end and (shut is None or shut.done_on > last):
            counts["open"] += 1
            counts["overdue"] += r.due_on is not None and r.due_on < last
    fields = ("agreed", "closed", "closed_late", "open", "overdue")
    return [{"agency": agency, **{f: counts[f] for f in fields}}
            for agency, counts in sorted(rows.items()) if any(counts.values())]


RULINGS = {"HIT_CONFIRMED": "ruled_in", "HIT_RULED_OUT": "ruled_out"}


def hits(history: History, start: datetime, end: datetime) -> dict[str, Any]:
    found = [h for h in history.hits if start <= h.first_detected_at < end]
    ruling: dict[str, tuple[datetime, str]] = {}  # hit -> its latest ruling (a change of mind)
    for e in history.events:
        if e.type in RULINGS and e.hit_id and (e.hit_id not in ruling
                                               or e.occurred_at >= ruling[e.hit_id][0]):
            ruling[e.hit_id] = (e.occurred_at, RULINGS[e.type])
    outcome = Counter(ruling[h.hit_id][1] for h in found if h.hit_id in ruling)
    hours = [(ruling[h.hit_id][0] - h.crime_reported_at).total_seconds() / 3600
             for h in found if h.hit_id in ruling and h.crime_reported_at is not None]
    return {"found": len(found),
            "withdrawn": sum(h.status == "WITHDRAWN" for h in found),
            "ruled_in": outcome["ruled_in"], "ruled_out": outcome["ruled_out"],
            "awaiting_ruling": sum(h.status == "ACTIVE" and h.hit_id not in ruling
                                   for h in found),
            "median_hours_report_to_ruling": _median(hours)}


def breaches(history: History, start: datetime, end: datetime) -> dict[str, int]:
    return _tally([b.kind for b in history.breaches if start <= b.detected_at < end])


def _clip(a: datetime, b: datetime, start: datetime, end: datetime) -> float:
    return max(0.0, (min(b, end) - max(a, start)).total_seconds())


def tag_health(history: History, start: datetime, end: datetime) -> dict[str, Any]:
    fitted: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    open_at: dict[str, datetime] = {}
    for e in sorted(history.enrolments, key=lambda e: e.effective_at):
        if e.status == "FITTED" and e.device_id not in open_at:
            open_at[e.device_id] = e.effective_at
        elif e.status == "REMOVED" and e.device_id in open_at:
            fitted[e.device_id].append((open_at.pop(e.device_id), e.effective_at))
    for device, since in open_at.items():
        fitted[device].append((since, end))
    outages: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    down: dict[str, datetime] = {}
    for a in sorted(history.tag_alerts, key=lambda a: (a.detected_at, a.since)):
        if a.kind == "RECOVERED":
            if a.device_id in down:
                outages[a.device_id].append((down.pop(a.device_id), a.since))
        elif a.device_id not in down:
            down[a.device_id] = a.since
    for device, since in down.items():
        outages[device].append((since, end))
    total = unusable = 0.0
    for device, spans in fitted.items():
        for a, b in spans:
            total += _clip(a, b, start, end)
            for oa, ob in outages.get(device, []):  # an outage counts only while fitted
                unusable += _clip(max(a, oa), min(b, ob), start, end) if oa < b else 0.0
    return {"tags": len(fitted), "fitted_hours": round(total / 3600, 1),
            "share_usable": round(1 - unusable / total, 4) if total else None}


def notifications(history: History, start: datetime, end: datetime) -> dict[str, Any]:
    made = [n for n in history.notifications if start <= n.created_at < end]
    seconds = [(n.updated_at - n.created_at).total_seconds() for n in made
               if n.state == "DELIVERED"]
    states = Counter(n.state for n in made)
    return {"sent": len(made), "delivered": states.get("DELIVERED", 0),
            "failed": states.get("FAILED", 0),
            "in_progress": states.get("PENDING", 0) + states.get("RETRYING", 0),
            "median_seconds_to_delivery": _median(seconds)}


def management_information(history: History, start: datetime, end: datetime
                           ) -> dict[str, Any]:
    return {"cohort": cohort_summary(history, start, end),
            "cohort_by_month": cohort_by_month(history, start, end),
            "caseload": caseload(history, end),
            "referrals": referrals(history, start, end),
            "reviews": reviews(history, start, end),
            "plan_actions": plan_actions(history, start, end),
            "hits": hits(history, start, end),
            "zone_breaches": breaches(history, start, end),
            "tag_health": tag_health(history, start, end),
            "notifications": notifications(history, start, end)}
