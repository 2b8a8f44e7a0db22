"""The data protection officer's page: who saw a person, what a user did, by the six kinds
of s.62, from the audit store (``iomkit.audittrail``). Pure: the question from the query
string, the answer as HTML (every value escaped, no script).

Why insights serves it and how: the page reads the audit store *file* (read only), which
the operator's ``iom audit load`` fills from ``iom.audit``; insights has no READ on the
topic (nobody but the operator reads it: contract, "Access"), so the page widens who may
read the trail by nobody, and it shows only what was loaded (the page says when that was).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from iomkit.audittrail import kinds as k
from iomkit.audittrail import queries
from iomkit.audittrail.store import Store

MAX_SHOWN = 2000  # rows on the page; the JSON has them all


class BadQuestion(ValueError):
    pass


@dataclass(frozen=True)
class Question:
    person: str | None
    user: str | None
    since: date | None
    until: date | None
    kinds: tuple[str, ...] | None

    def describe(self) -> dict[str, Any]:
        return {"person": self.person, "user": self.user,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "kinds": list(self.kinds) if self.kinds else "all"}


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadQuestion(f"{name} must be a date, YYYY-MM-DD") from None


def question(query: dict[str, str]) -> Question | None:
    """None: the empty form. A person's question needs ``since`` (who saw them since when);
    ``kind`` is comma separated (default: who saw = consultations and disclosures; what a
    user did = every kind)."""
    person = (query.get("person") or "").strip()[:100] or None
    user = (query.get("user") or "").strip()[:100] or None
    if person and user:
        raise BadQuestion("ask about a person or a user, not both")
    if not person and not user:
        return None
    since, until = _day(query.get("since"), "since"), _day(query.get("until"), "until")
    if person and since is None:
        raise BadQuestion("since: who saw a person since which day?")
    try:
        named = [n for n in (query.get("kind") or "").split(",") if n.strip()]
        wanted = k.parse_kinds(named) if named else (k.SEEING if person else None)
    except ValueError as exc:
        raise BadQuestion(f"kind: {exc}") from None
    return Question(person, user, since, until, wanted)


def answer(store: Store, q: Question) -> list[queries.Entry]:
    if q.person:
        return queries.who_saw(store, q.person, q.since, q.until, q.kinds)
    assert q.user is not None
    return queries.what_did(store, q.user, q.since, q.until, q.kinds)


def document(q: Question, entries: list[queries.Entry], loaded: datetime | None
             ) -> dict[str, Any]:
    return {**q.describe(), "store_loaded_at": loaded.isoformat() if loaded else None,
            "by_kind": queries.by_kind(entries),
            "entries": [e.document() for e in entries]}


def _form(q: Question | None) -> str:
    def value(v: object) -> str:
        return escape(str(v)) if v else ""

    person, user = (q.person, q.user) if q else (None, None)
    since, until = (q.since, q.until) if q else (None, None)
    return (
        "<form method=get action=/audit><fieldset><legend>Who saw a person</legend>"
        f"<label>person <input name=person value=\"{value(person)}\"></label> "
        f"<label>since <input type=date name=since value=\"{value(since)}\"></label> "
        f"<label>until <input type=date name=until value=\"{value(until)}\"></label> "
        "<button type=submit>Ask</button></fieldset></form>"
        "<form method=get action=/audit><fieldset><legend>What a user did</legend>"
        f"<label>user <input name=user value=\"{value(user)}\"></label> "
        "<label>since <input type=date name=since></label> "
        "<button type=submit>Ask</button></fieldset></form>")


def page(q: Question | None, entries: list[queries.Entry], loaded: datetime | None,
         error: str = "") -> str:
    body = [f"<h1>Audit trail</h1><p id=loaded>{_loaded(loaded)}</p>", _form(q)]
    if error:
        body.append(f"<p id=error>{escape(error)}</p>")
    if q is not None and not error:
        title = (f"Who saw {q.person}" if q.person else f"What {q.user} did")
        counts = ", ".join(f"{kind.lower()} {n}" for kind, n in queries.by_kind(entries).items())
        rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in queries.cells(e))
                       + "</tr>" for e in entries[:MAX_SHOWN])
        heads = "".join(f"<th>{escape(h)}</th>" for h in queries.HEADINGS)
        more = (f"<p>{len(entries) - MAX_SHOWN} more: see /audit.json</p>"
                if len(entries) > MAX_SHOWN else "")
        body.append(f"<h2>{escape(title)}</h2><p id=counts>{len(entries)} records: "
                    f"{escape(counts)}</p><table id=entries><thead><tr>{heads}</tr></thead>"
                    f"<tbody>{rows}</tbody></table>{more}")
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Throughcare: "
            "audit trail</title></head><body><main>" + "".join(body) + "</main></body></html>")


def _loaded(loaded: datetime | None) -> str:
    if loaded is None:
        return ("No audit store yet: the operator loads it from iom.audit with "
                "<code>iom audit load</code>.")
    return (f"As loaded from iom.audit at {escape(loaded.strftime('%Y-%m-%d %H:%M UTC'))} "
            "(<code>iom audit load</code> brings it up to date).")
