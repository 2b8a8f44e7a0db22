"""The processing log of personal data (DPA 2018 s.62): one AuditRecord per disclosure."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any


def audit_record(
    *, service: str, actor: str, action: str, purpose: str, at: datetime,
    person_id: str | None = None, recipient: str | None = None,
    details: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Who (actor) did what (action) about whom (person_id), why (purpose), for whom
    (recipient) and when (at)."""
    return {
        "audit_id": uuid.uuid4().hex,
        "person_id": person_id,
        "actor": actor,
        "action": action,
        "purpose": purpose,
        "recipient": recipient,
        "service": service,
        "details": details or {},
        "at": at,
    }


def combination_record(*, service: str, person_id: str, what: str, source_id: str,
                       at: datetime, details: dict[str, str]) -> dict[str, Any]:
    """A service's own combination of datasets into a new fact about a person (s.62's
    "combination"; e.g. a crime report joined with a person's fixes into a hit). The id is
    the combination's own (``what``, ``source_id``), so a record written again after a
    restart is the same record (the audit store keeps it once)."""
    digest = hashlib.sha256(f"COMBINE|{service}|{what}|{source_id}".encode()).hexdigest()
    return {**audit_record(service=service, actor=service, action="COMBINE", purpose=what,
                           at=at, person_id=person_id, details=details),
            "audit_id": digest[:32]}
