"""Referral intake rules. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IntakeOutcome:
    accepted: bool
    summary: str
    kept: dict[str, Any] = field(default_factory=dict)


def check_referral(
    referral: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> IntakeOutcome:
    """A person has at most one open referral; the same referral again changes nothing."""
    if existing is not None:
        if existing["referral_id"] == referral["referral_id"]:
            return IntakeOutcome(False, "repeat")
        return IntakeOutcome(False, f"duplicate of open referral {existing['referral_id']}")
    kept = {
        "referral_id": referral["referral_id"],
        "proposed_cohort": referral["proposed_cohort"],
        "urgent": referral["urgent"],
        "submitted_at": referral["submitted_at"].isoformat(),
    }
    return IntakeOutcome(True, "opened", kept)
