"""The questions a data protection officer asks of the audit store, as pure functions over
it (no Kafka, no clock): who saw a person since a day, what a user did, by s.62 kind. Used by
``iom audit`` and by the DPO's page in insights; unit-tested on a constructed history.

Days are UTC days: ``since`` from its first moment, ``until`` to its last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from iomkit.audittrail import kinds as k
from iomkit.audittrail.store import Store

COLUMNS = ("a.audit_id, a.happened_at, a.actor, a.role, a.kind, a.action, a.purpose, a.service, "
           "a.person_id, a.recipient, a.refused, a.people, a.path")


@dataclass(frozen=True)
class Entry:
    audit_id: str
    at: datetime
    actor: str
    role: str | None
    kind: str
    action: str
    purpose: str | None
    service: str | None
    person_id: str | None  # the record's person (None for a list: see ``people``)
    recipient: str | None
    refused: bool
    people: int  # how many people the record concerns
    path: str | None

    def document(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


def _entry(row: tuple[Any, ...]) -> Entry:
    values = list(row)
    values[1] = values[1].replace(tzinfo=UTC)
    return Entry(*values)


def _window(since: date | None, until: date | None) -> tuple[str, list[Any]]:
    where, params = [], []
    if since is not None:
        where.append("a.happened_at >= ?")
        params.append(datetime.combine(since, time()))
    if until is not None:
        where.append("a.happened_at < ?")
        params.append(datetime.combine(until + timedelta(days=1), time()))
    return " AND ".join(where), params


def _and(*parts: str) -> str:
    return " AND ".join(p for p in parts if p) or "TRUE"


def _kinds(wanted: Iterable[str] | None) -> tuple[str, list[Any]]:
    if wanted is None:
        return "", []
    wanted = list(wanted)
    return f"a.kind IN ({', '.join('?' for _ in wanted)})", wanted


def who_saw(store: Store, person: str, since: date | None, until: date | None = None,
            kinds: Iterable[str] | None = k.SEEING, refused: bool = False) -> list[Entry]:
    """Every record concerning ``person`` (theirs, or a list naming them) of the given
    kinds (consultations and disclosures by default: who saw them), oldest first. Refusals
    are left out unless ``refused``: nobody saw anything."""
    window, params = _window(since, until)
    kind_sql, kind_params = _kinds(kinds)
    rows = store.query(
        f"SELECT {COLUMNS} FROM concerns c JOIN audit a ON a.audit_id = c.audit_id "
        f"WHERE c.person_id = ? AND {_and(window, kind_sql, '' if refused else 'NOT a.refused')}"
        " ORDER BY a.happened_at, a.audit_id", [person, *params, *kind_params])
    return [_entry(r) for r in rows]


def what_did(store: Store, user: str, since: date | None = None, until: date | None = None,
             kinds: Iterable[str] | None = None) -> list[Entry]:
    """Every record whose actor is ``user`` (a user, or a service for what it did itself),
    refusals included (an attempt is part of what they did), oldest first."""
    window, params = _window(since, until)
    kind_sql, kind_params = _kinds(kinds)
    rows = store.query(f"SELECT {COLUMNS} FROM audit a WHERE a.actor = ? AND "
                       f"{_and(window, kind_sql)} ORDER BY a.happened_at, a.audit_id",
                       [user, *params, *kind_params])
    return [_entry(r) for r in rows]


def people_by_kind(store: Store, since: date | None = None, until: date | None = None
                   ) -> dict[str, dict[str, int]]:
    """For each person, how many records of each kind concern them (a list counts for each
    person it named); refusals left out."""
    window, params = _window(since, until)
    rows = store.query(
        f"SELECT c.person_id, a.kind, count(*) FROM concerns c JOIN audit a "
        f"ON a.audit_id = c.audit_id WHERE {_and(window, 'NOT a.refused')} "
        "GROUP BY c.person_id, a.kind ORDER BY c.person_id, a.kind", params)
    answer: dict[str, dict[str, int]] = {}
    for person, kind, n in rows:
        answer.setdefault(person, {})[kind] = int(n)
    return answer


def by_kind(entries: Iterable[Entry]) -> dict[str, int]:
    """How many of ``entries`` are of each s.62 kind, in s.62's order, every kind named."""
    counted = Counter(e.kind for e in entries)
    answer = {kind: counted.get(kind, 0) for kind in k.KINDS}
    if counted.get(k.UNCLASSIFIED):
        answer[k.UNCLASSIFIED] = counted[k.UNCLASSIFIED]
    return answer


# -- answers: a readable table, or JSON -----------------------------------------------------

HEADINGS = ("when (UTC)", "who", "role", "kind", "person", "what", "to", "service", "outcome")


def cells(entry: Entry) -> tuple[str, ...]:
    person = entry.person_id or (f"{entry.people} people" if entry.people else "-")
    return (entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.actor, entry.role or "-",
            entry.kind, person, entry.purpose or "-", entry.recipient or "-",
            entry.service or "-", "refused" if entry.refused else "done")


def table(entries: list[Entry]) -> str:
    """A plain text table, columns as wide as their widest cell (a long purpose cut)."""
    rows = [HEADINGS, *[tuple(c[:60] for c in cells(e)) for e in entries]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADINGS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def as_json(question: dict[str, Any], entries: list[Entry]) -> bytes:
    return orjson.dumps({**question, "by_kind": by_kind(entries),
                         "entries": [e.document() for e in entries]},
                        option=orjson.OPT_INDENT_2)
