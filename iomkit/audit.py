"""The processing log of personal data (DPA 2018 s.62): one AuditRecord per disclosure."""

from __future__ import annotations

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
