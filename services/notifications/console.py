"""The live hit console: what each user may see, as cards, and the server-sent events that
carry them. Pure (the app feeds the board from the followed topics and serves it).

A card is a hit or a zone breach, minimised by the user's role exactly as a webhook would
be (iomkit.identity.isa.minimise), shown only to users of the person's force, and a hit also
to the police of the force that reported the crime (contract 1.1), with what the agreement
gives an investigating force.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from iomkit import evidential
from iomkit.identity.isa import (
    CENTRAL,
    EVIDENCE_ROLES,
    GRADE_CHANGE,
    HIT,
    LOCATION_FIELDS,
    POLICE,
    PROBATION,
    ZONE_BREACH,
    allows,
    minimise,
)
from iomkit.identity.principal import Principal as User
from services.notifications import present
from services.notifications.routing import Directory, Subject

QUALIFICATIONS = ("CONFIRMED", "RULED_OUT")
HIT_QUALIFIERS = frozenset({POLICE, CENTRAL})  # roles that may rule a person in or out
CONSOLE_ROLES = frozenset({POLICE, CENTRAL, PROBATION})  # roles that receive hits or breaches


@dataclass
class Item:
    kind: str  # HIT or ZONE_BREACH
    id: str
    record: dict[str, Any]
    qualification: dict[str, Any] | None = None


@dataclass
class Board:
    directory: Directory
    items: dict[str, Item] = field(default_factory=dict)
    _listeners: set[asyncio.Queue[str]] = field(default_factory=set)
    max_items: int = 2000  # the console shows recent events; the topics keep the rest
    max_queued: int = 256  # cards waiting for one slow console before the oldest go
    dropped: int = 0  # cards dropped that way (a gauge for the ops dashboard)
    # A hit's evidence fixes are shown for the evidential period only (iomkit.evidential):
    # dropped as a hit comes, as it is read and at the hourly purge (expire).
    clock: Callable[[], datetime] = field(kw_only=True)  # the service's (tests: fixed)
    evidence_days: float = 30.0

    def _cutoff(self) -> datetime:
        return evidential.cutoff(self.clock(), self.evidence_days)

    def hit(self, hit: Mapping[str, Any]) -> bool:
        """The latest revision of a hit; False for an older one (replays), or one whose
        evidence is all past the evidential period."""
        known = self.items.get(hit["hit_id"])
        if known is not None and known.record["revision"] >= hit["revision"]:
            return False
        current = evidential.current(hit, self._cutoff())
        if current is None:
            self.items.pop(hit["hit_id"], None)
            return False
        hit = current
        qualification = known.qualification if known else None
        self._put(Item(HIT, hit["hit_id"], dict(hit), qualification))
        return True

    def breach(self, breach: Mapping[str, Any]) -> bool:
        if breach["breach_id"] in self.items:
            return False
        self._put(Item(ZONE_BREACH, breach["breach_id"], dict(breach)))
        return True

    def get(self, item_id: str) -> Item | None:
        """The item as it may be shown now: a hit without the fixes past the evidential
        period (None when none is left), whatever the purge has done yet."""
        item = self.items.get(item_id)
        if item is None or item.kind != HIT:
            return item
        current = evidential.current(item.record, self._cutoff())
        if current is None:
            return None
        if len(current["fixes"]) == len(item.record["fixes"]):
            return item
        return Item(item.kind, item.id, current, item.qualification)

    def expire(self) -> int:
        """The hourly purge: evidence fixes past the evidential period leave the board, a
        hit with none left goes. Returns how many hits went."""
        gone = 0
        for item_id, item in list(self.items.items()):
            if item.kind != HIT:
                continue
            current = self.get(item_id)
            if current is None:
                del self.items[item_id]
                gone += 1
            elif current is not item:
                item.record = current.record
        return gone

    def qualify(self, hit_id: str, qualification: dict[str, Any]) -> Item | None:
        item = self.items.get(hit_id)
        if item is None:
            return None
        item.qualification = qualification
        self._tell(item.id)
        return item

    def _put(self, item: Item) -> None:
        self.items.pop(item.id, None)  # newest last
        self.items[item.id] = item
        while len(self.items) > self.max_items:
            del self.items[next(iter(self.items))]
        self._tell(item.id)

    def _tell(self, item_id: str) -> None:
        # A console that does not keep up loses its oldest cards, never the worker's memory:
        # a reload shows the board as it stands.
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(item_id)

    def listen(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=self.max_queued)
        self._listeners.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[str]) -> None:
        self._listeners.discard(queue)

    def force_of(self, item: Item) -> str | None:
        return self.directory.force_of(item.record["person_id"])

    def investigating(self, user: User, item: Item) -> bool:
        """Whether ``user`` sees a hit only as police of the crime's force (not of the
        person's): then with the investigating force's fields."""
        return item.kind == HIT and user.investigates(
            item.kind, self.force_of(item), item.record.get("crime_force"))

    def subject_of(self, item: Item) -> Subject | None:
        """What routing knows of the item's person: lead officer, RoSH level."""
        return self.directory.get(item.record["person_id"])

    def may_see(self, user: User, item: Item) -> bool:
        if not allows(user.role, item.kind):
            return False
        return user.sees(self.force_of(item)) or self.investigating(user, item)

    def card(self, item: Item, user: User, has_crime: bool, has_zone: bool = False
             ) -> dict[str, Any]:
        return card(item, user, self.force_of(item), has_crime, self.subject_of(item),
                    has_zone, investigating=self.investigating(user, item))

    def visible(self, user: User) -> Iterator[Item]:
        shown = (self.get(item_id) for item_id in list(self.items))
        return (item for item in shown if item is not None and self.may_see(user, item))


def card(item: Item, user: User, force: str | None, has_crime: bool,
         subject: Subject | None = None, has_zone: bool = False,
         investigating: bool = False) -> dict[str, Any]:
    """What ``user`` is shown of an item: the role's fields, and how to present them
    (``rows``: labels and values in words, UK local times, rounded distances). ``subject``
    is what routing knows of the person (lead officer, RoSH level), when it knows it.
    ``investigating``: the user is police of the crime's force, not the person's: the
    investigating force's fields, nothing of the case (lead officer, RoSH)."""
    if investigating:
        subject = None
    lead = subject.lead_officer if subject else None
    fields = minimise(user.role, item.kind, item.record,
                      {"force": force, "lead_officer": lead}, investigating=investigating)
    if user.role not in EVIDENCE_ROLES:
        # hit evidence (where a person was) only to police and probation, on any page
        fields = {k: v for k, v in fields.items() if k not in LOCATION_FIELDS}
    with_map = item.kind == HIT and "fixes" in fields
    if with_map:
        fields["fixes"] = len(fields["fixes"])  # the map shows them; the card counts them
    if item.kind == HIT:
        title = f"{item.record['offence'].replace('_', ' ').lower()} {item.record['crime_ref']}"
        status = item.record["status"]
        at = item.record["detected_at"]
    else:
        title = f"{present.words(item.record['kind'], 'kind')}: {item.record['zone_id']}"
        status = "BREACH"
        at = item.record["detected_at"]
    # RoSH beside the grade, for the roles that receive grades; never part of the RAG.
    rosh = subject.rosh_level if subject and allows(user.role, GRADE_CHANGE) else None
    # A breach of a victim's exclusion zone (ZoneBreach.victim_safety, optional: .get).
    victim = bool(item.record.get("victim_safety")) if item.kind == ZONE_BREACH else False
    flags = ([f"RoSH {present.words(rosh, 'rosh_level')}"] if rosh else []) + (
        ["victim safety"] if victim else [])
    shown = dict(fields)
    if item.kind == HIT and item.record.get("crime_force") and "crime_ref" in fields:
        shown["crime_force"] = item.record["crime_force"]
    if rosh is not None:
        shown["rosh_level"] = rosh
    if victim:
        shown["victim_safety"] = True
    return {
        "id": item.id, "type": item.kind, "title": title, "status": status,
        "status_text": present.words(status, "status"),
        "at": at, "at_local": present.when(at), "person_id": item.record["person_id"],
        "flags": flags,
        "fields": fields, "rows": present.rows(shown), "rosh_level": rosh,
        "victim_safety": victim,
        "lead_officer": None if investigating else present.lead_officer(lead),
        "map": with_map, "crime_known": has_crime,
        # a breach's zone on a map: for the roles that see where people are
        "zone_map": item.kind == ZONE_BREACH and has_zone and user.role in EVIDENCE_ROLES,
        "qualification": item.qualification,
        "qualification_text": present.qualification_text(item.qualification)
        if item.qualification else None,
        # one decision per hit, by either force: once made, both see it and nobody re-makes it
        "may_qualify": item.kind == HIT and user.role in HIT_QUALIFIERS
        and item.record["status"] == "ACTIVE" and item.qualification is None,
        "investigating": investigating,
    }


def sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One server-sent event (the data is one line of JSON)."""
    lines = [f"event: {event}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append("data: " + orjson.dumps(data, option=orjson.OPT_UTC_Z).decode())
    return ("\n".join(lines) + "\n\n").encode()


def qualification_problem(outcome: Any, reason: Any) -> str | None:
    if outcome not in QUALIFICATIONS:
        return f"outcome must be one of {', '.join(QUALIFICATIONS)}"
    if not isinstance(reason, str) or len(reason.strip()) < 5:
        return "give a reason (at least 5 characters)"
    if len(reason) > 2000:
        return "the reason is longer than 2000 characters"
    return None


RULING_EVENTS = {"CONFIRMED": ("HIT_CONFIRMED", "confirmed_by"),
                 "RULED_OUT": ("HIT_RULED_OUT", "ruled_out_by")}


def hit_ruling_event(hit: Mapping[str, Any], outcome: str, reason: str, user: User, now: Any
                     ) -> dict[str, Any]:
    """The OffenderEvent of a ruling: HIT_CONFIRMED (the risk service grades on it) or
    HIT_RULED_OUT (on the person's record and in the management information; no grade
    moves). Its id is deterministic, so a second ruling the same way (a double click,
    another officer) is the same event sent again."""
    kind, by = RULING_EVENTS[outcome]
    event_id = hashlib.sha256(f"{hit['hit_id']}|{kind}".encode()).hexdigest()[:32]
    return {
        "event_id": event_id, "person_id": hit["person_id"], "type": kind,
        "occurred_at": now, "source_agency": f"{user.force} IOM (Throughcare console)",
        "offence": None,
        "details": {"hit_id": hit["hit_id"], "crime_ref": hit["crime_ref"],
                    "revision": str(hit["revision"]), by: user.username,
                    "reason": reason},
    }
