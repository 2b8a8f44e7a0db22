"""Records for the notifications unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notifications.subscriptions import Recipient

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests-only-0123456789"


def recipient(name: str, role: str, kinds: tuple[str, ...], forces: tuple[str, ...] =
              ("Hampshire",)) -> Recipient:
    return Recipient(name=name, role=role, kinds=frozenset(kinds), forces=frozenset(forces),
                     url=f"http://127.0.0.1:1/{name}", secret=SECRET)


def hit(revision: int = 1, status: str = "ACTIVE", hit_id: str = "h1",
        person_id: str = "P-1", crime_force: str | None = "Hampshire") -> dict[str, Any]:
    fixes = [{"recorded_at": T0 + timedelta(minutes=m), "lat": 50.9097 + 0.0002 * m,
              "lon": -1.4044, "accuracy_m": 10.0, "distance_m": 22.0 * m + 5} for m in (0, 3, 20)]
    return {"hit_id": hit_id, "revision": revision, "status": status, "crime_ref": "44/X/26",
            "crime_version": 1, "offence": "BURGLARY_DWELLING", "person_id": person_id,
            "device_id": "TAG-1", "distance_m": 5.0, "nearest_fix_at": T0, "fixes": fixes,
            "detected_at": T0 + timedelta(hours=1), "rule_version": 1,
            "crime_force": crime_force}


def breach() -> dict[str, Any]:
    return {"breach_id": "b1", "zone_id": "Z-1", "person_id": "P-1", "device_id": "TAG-1",
            "kind": "ENTERED_EXCLUSION", "first_fix_at": T0, "detected_at": T0}


def tag_alert() -> dict[str, Any]:
    return {"alert_id": "a1", "device_id": "TAG-1", "person_id": "P-1", "kind": "NO_FIXES",
            "since": T0, "detected_at": T0, "details": {"last_fix_at": T0.isoformat()}}


def grade(rag: str = "RED", previous: str | None = "AMBER", changed: bool = True
          ) -> dict[str, Any]:
    return {"person_id": "P-1", "rag": rag, "previous_rag": previous, "changed": changed,
            "static_score": 0.8, "reasons": ["confirmed GPS crime hit on 2026-03-02"],
            "model_version": "ogrs3-1", "graded_at": T0, "cause_event_id": None,
            "p_one_year": 0.6, "static_band": "HIGH", "force": "Hampshire", "revision": 3}


def case_alert(kind: str = "REVIEW_OVERDUE") -> dict[str, Any]:
    return {"alert_id": "c1", "person_id": "P-1", "kind": kind, "force": "Hampshire",
            "lead_officer": "PC Smith", "summary": "supervisor review due 2026-03-01 is overdue",
            "raised_at": T0, "details": {"due": "2026-03-01"}}
