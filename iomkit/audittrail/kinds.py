"""The six kinds of processing the logs of DPA 2018 s.62(1) must record, and which kind
each AuditRecord is. Pure.

s.62(1): "collection, alteration, consultation, disclosure (including transfers),
combination, erasure". The writers' actions (grep ``audit(`` across services/):

- ``COLLECT``: a referral made (referrals), a crime file uploaded (gps_stream);
- ``ALTER``: a panel decision, a supervisor review, case records and plans (referrals), a hit
  qualified on the console (notifications);
- ``VIEW``: a page or API answer about a person or a list of people (every service), and
  every refusal (the guard, the sign-in page: ``details.outcome`` REFUSED);
- ``CONSULT``: hit evidence and trails with a stated purpose (gps_stream), the cohort's
  figures (insights), the audit trail itself (the DPO's page, ``iom audit``);
- ``DISCLOSE``: a notification delivered to a recipient outside (notifications), a subject
  access export (``iom subject-access``);
- ``COMBINE``: datasets joined into a new fact about a person: a crime report with a
  person's fixes into a hit, each revision (gps_stream; ``audit.combination_record``);
- ``ERASE``: a person's data destroyed (erasure, issue 15 part 3).

A VIEW is a consultation in s.62's words: the officer consulted the record. ``UNKNOWN`` is
what an older reader of the schema sees for an action added after it: shown as such, never
guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

COLLECTION = "COLLECTION"
ALTERATION = "ALTERATION"
CONSULTATION = "CONSULTATION"
DISCLOSURE = "DISCLOSURE"
COMBINATION = "COMBINATION"
ERASURE = "ERASURE"
KINDS = (COLLECTION, ALTERATION, CONSULTATION, DISCLOSURE, COMBINATION, ERASURE)
UNCLASSIFIED = "UNCLASSIFIED"  # an action this code does not know (UNKNOWN)

ACTION_KINDS: Mapping[str, str] = {
    "COLLECT": COLLECTION,
    "ALTER": ALTERATION,
    "VIEW": CONSULTATION,
    "CONSULT": CONSULTATION,
    "DISCLOSE": DISCLOSURE,
    "COMBINE": COMBINATION,
    "ERASE": ERASURE,
}
# Who saw a person: those who consulted their data or to whom it was disclosed.
SEEING = (CONSULTATION, DISCLOSURE)
REFUSED = "REFUSED"


def kind_of(action: str) -> str:
    """The s.62 kind of an AuditRecord's action."""
    return ACTION_KINDS.get(action, UNCLASSIFIED)


def refused(details: Mapping[str, str]) -> bool:
    """A refusal (401/403) is logged as the processing that was attempted: it is in the
    trail, but nobody saw anything."""
    return details.get("outcome") == REFUSED


def parse_kinds(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Kinds named by a user (any case; ``all`` for every one), or ValueError naming the
    known ones."""
    wanted: list[str] = []
    for name in names:
        upper = name.strip().upper()
        if upper == "ALL":
            wanted += [*KINDS, UNCLASSIFIED]
        elif upper in (*KINDS, UNCLASSIFIED):
            wanted.append(upper)
        else:
            raise ValueError(f"unknown kind {name!r}: one of {', '.join(KINDS)}, "
                             f"{UNCLASSIFIED} or all")
    return tuple(dict.fromkeys(wanted))


def people_of(person_id: str | None, details: Mapping[str, str]) -> list[str]:
    """Everyone a record concerns: its person and, for a list shown at once
    (``Service.audit(people=...)``), each person it named."""
    named = [p.strip() for p in (details.get("people") or "").split(",") if p.strip()]
    return list(dict.fromkeys([*([person_id] if person_id else []), *named]))
