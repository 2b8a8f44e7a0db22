"""What may be said about a record, and to whom: from an input record to the Notification
records for every recipient the agreement allows. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from iomkit.identity.isa import HIT, HIT_WITHDRAWN, investigates, minimise
from services.notifications import once
from services.notifications.once import Action, HitState
from services.notifications.subscriptions import Recipient, route


def grade_summary(grade: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a RiskGrade that identify nobody: safe for logs above debug."""
    return {
        "rag": grade["rag"],
        "previous_rag": grade.get("previous_rag"),
        "changed": grade["changed"],
        "revision": grade.get("revision"),
        "force": grade.get("force"),
    }


def notification_id(source_id: str, recipient: str, kind: str) -> str:
    """Deterministic: a replay after a crash creates the same id, which recipients use as
    the idempotency key."""
    return hashlib.sha256(f"{source_id}|{recipient}|{kind}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Subject:
    """What routing knows of a person: their force (iom.people) and IOM registration and
    lead officer (iom.cohort.changes)."""

    force: str | None
    registered: bool = False
    lead_officer: str | None = None
    rosh_level: str | None = None  # OASys risk of serious harm (iom.people), beside the RAG

    def context(self) -> dict[str, Any]:
        return {"force": self.force, "lead_officer": self.lead_officer,
                "rosh_level": self.rosh_level}


class Directory:
    """Every person's force and registration, from the followed topics."""

    def __init__(self) -> None:
        self._force: dict[str, str] = {}
        self._registered: dict[str, str | None] = {}  # person -> lead officer
        self._rosh: dict[str, str] = {}  # person -> RoSH level, only for those assessed

    def person(self, person_id: str, force: str, rosh_level: str | None = None) -> None:
        self._force[person_id] = force
        if rosh_level is None:
            self._rosh.pop(person_id, None)
        else:
            self._rosh[person_id] = rosh_level

    def cohort(self, person_id: str, change: str, lead_officer: str | None) -> None:
        if change == "DEREGISTERED":
            self._registered.pop(person_id, None)
        elif change != "UNKNOWN":
            self._registered[person_id] = lead_officer

    def get(self, person_id: str | None, force: str | None = None) -> Subject | None:
        """None while the person is not known (and the record names no force itself)."""
        if person_id is None:
            return None if force is None else Subject(force)
        known = self._force.get(person_id, force)
        if known is None:
            return None
        return Subject(known, person_id in self._registered,
                       self._registered.get(person_id), self._rosh.get(person_id))

    def force_of(self, person_id: str) -> str | None:
        return self._force.get(person_id)


def case_alert_subject(alert: Mapping[str, Any], known: Subject | None) -> Subject:
    """Who a case alert is about, for routing: the alert names the force that manages the
    case, and that decides who is told (not the force on iom.people); registration and
    lead officer are the cohort's as followed, the alert's own lead officer first. A
    person not followed yet counts as registered."""
    return Subject(alert["force"], known.registered if known else True,
                   alert["lead_officer"] or (known.lead_officer if known else None),
                   known.rosh_level if known else None)


def grade_matters(grade: Mapping[str, Any], registered: bool) -> bool:
    """Notify a change to RED, and any change for a registered person."""
    return bool(grade["changed"]) and (grade["rag"] == "RED" or registered)


def payload_text(value: Mapping[str, Any]) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_SORT_KEYS).decode()


def notification(recipient: Recipient, kind: str, source_id: str, person_id: str | None,
                 record: Mapping[str, Any], subject: Subject, now: datetime,
                 investigating: bool = False) -> dict[str, Any]:
    """A PENDING Notification with exactly what the recipient's role may receive (as the
    person's force, or as the force investigating the crime)."""
    payload = minimise(recipient.role, kind, record, subject.context(),
                       investigating=investigating)
    return {
        "notification_id": notification_id(source_id, recipient.name, kind),
        "recipient": recipient.name, "kind": kind, "source_id": source_id,
        "person_id": person_id, "state": "PENDING", "attempts": 0,
        "payload": payload_text(payload), "created_at": now, "updated_at": now,
    }


@dataclass
class HitPlan:
    notifications: list[dict[str, Any]]
    states: dict[str, HitState | None]  # recipient -> new state
    actions: dict[str, Action]


def hit_recipients(recipients: Iterable[Recipient], kind: str, subject: Subject,
                   crime_force: str | None) -> list[tuple[Recipient, bool]]:
    """Who is told of a hit, each once: the person's force's recipients, then (contract
    1.1) the police of the force that reported the crime, as its investigators
    (``True``), when that is another force."""
    recipients = list(recipients)
    told = route(recipients, kind, subject.force)
    names = {r.name for r in told}
    investigators = [r for r in route(recipients, kind, crime_force)
                     if r.name not in names and investigates(r.role, kind)]
    return [(r, False) for r in told] + [(r, True) for r in investigators]


def plan_hit(hit: Mapping[str, Any], subject: Subject, recipients: Iterable[Recipient],
             states: Mapping[str, HitState | None], now: datetime) -> HitPlan:
    """Once per hit, for every recipient of the person's force and every police recipient
    of the crime's force: page, withdraw or nothing."""
    plan = HitPlan([], {}, {})
    kind = HIT_WITHDRAWN if hit["status"] == "WITHDRAWN" else HIT
    for recipient, investigating in hit_recipients(recipients, kind, subject,
                                                   hit.get("crime_force")):
        action, state = once.decide(states.get(recipient.name), hit["revision"],
                                    hit["status"])
        plan.actions[recipient.name] = action
        plan.states[recipient.name] = state
        if action in (Action.PAGE, Action.WITHDRAW):
            assert state is not None
            plan.notifications.append(notification(
                recipient, HIT if action is Action.PAGE else HIT_WITHDRAWN,
                once.source_of(hit["hit_id"], state.episode), hit["person_id"], hit, subject,
                now, investigating))
    return plan


def plan_once(kind: str, source_id: str, record: Mapping[str, Any], subject: Subject,
              recipients: Iterable[Recipient], already_sent: Iterable[str], now: datetime
              ) -> list[dict[str, Any]]:
    """Breaches, tag alerts, grades and case alerts: once per (source, recipient); a plan
    action (ACTION_ASSIGNED, ACTION_OVERDUE) to a partner only when it names its agency."""
    sent = set(already_sent)
    agency = (record.get("details") or {}).get("partner_agency")  # a plan action's agency
    return [notification(r, kind, source_id, record.get("person_id"), record, subject, now)
            for r in route(recipients, kind, subject.force, agency) if r.name not in sent]
