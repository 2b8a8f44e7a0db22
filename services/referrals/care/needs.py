"""Needs assessment against the 7 pathway needs (seed 003), a continual process.

Pure module: no I/O, no logging, standard library only. The state is a JSON-able dict:

.. code-block:: python

    {
        "current": {NEED: {"level", "assessed_by", "assessed_on", "evidence", "source"}},
        "history": [  # every input that was taken, in the order it was taken
            {"kind": "ASSESSMENT" | "EVENT", "on": "2025-06-30", "by": str | None,
             "source": "ASSESSMENT" | event type, "needs": {NEED: {"level", "evidence"}}},
            # an EVENT's finding also has "bound": "AT_LEAST" | "AT_MOST" (its level is a
            # bound on the level held, see EVENT_RULES)
        ],
    }

Seed 003: offenders "are offered support relative to their individual needs and can include
any of the recognised '7 Pathway Needs'"; seed 004: the assessment "is a continual process".
So an assessment never overwrites the record: it is appended to ``history`` and supersedes,
need by need, what ``current`` held.

Rules chosen here:

* **Partial assessments are allowed.** An officer reassessing accommodation after a move
  assesses that need only; the other needs keep their last finding. Every need assessed must
  carry a level and evidence (an assessment "records evidence"; a level without it cannot be
  checked at the supervisor's review).
* **Later wins, by date.** ``current`` is the history replayed in date order, so a finding
  supersedes those dated before it; on the same day, the input taken later wins (an officer
  who reads the ``ACCOMMODATION_LOST`` event and reassesses that day must be able to). A late
  input (a delayed event, a back-dated form) lands where its date puts it: it cannot undo a
  later finding.
* **Events move needs** (:data:`EVENT_RULES`): ``ACCOMMODATION_LOST`` makes accommodation
  SEVERE until reassessed; ``ACCOMMODATION_SECURED`` and ``EMPLOYMENT_STARTED`` lower their need
  to at most SOME (a new tenancy or job is fragile: the need is met, not gone, until an officer
  says NONE); ``EMPLOYMENT_ENDED`` and ``DRUG_TEST_POSITIVE`` raise theirs to at least SOME (one
  fact is a concern, not proof of a severe need). ``DRUG_TEST_NEGATIVE`` moves nothing: one
  clean test does not show a need has gone. Other event types are ignored here.
* A redelivered input (the same entry again) changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from services.referrals.care.checks import CareError, check_choice, check_date, check_text, iso

ACCOMMODATION: Final = "ACCOMMODATION"
EMPLOYMENT: Final = "EMPLOYMENT"
EDUCATION_TRAINING: Final = "EDUCATION_TRAINING"
ALCOHOL_DRUGS: Final = "ALCOHOL_DRUGS"
THINKING_SKILLS: Final = "THINKING_SKILLS"
CHILDCARE: Final = "CHILDCARE"
FINANCE_HEALTH: Final = "FINANCE_HEALTH"

#: The 7 pathway needs in seed 003's order, as stable symbols.
NEEDS: Final = (
    ACCOMMODATION,
    EMPLOYMENT,
    EDUCATION_TRAINING,
    ALCOHOL_DRUGS,
    THINKING_SKILLS,
    CHILDCARE,
    FINANCE_HEALTH,
)

#: Seed 003's exact wording for each need, for pages and reports.
NEED_LABELS: Final = {
    ACCOMMODATION: "Accommodation",
    EMPLOYMENT: "Employment",
    EDUCATION_TRAINING: "Training and Education",
    ALCOHOL_DRUGS: "Alcohol and/or Drug Misuse",
    THINKING_SKILLS: "Thinking Skills",
    CHILDCARE: "Childcare",
    FINANCE_HEALTH: "Finances and Health",
}

#: Needs whose findings are health information (substance misuse, health): they follow the
#: same sharing rule as SASH flags (``gate.may_share_health``).
HEALTH_NEEDS: Final = frozenset({ALCOHOL_DRUGS, FINANCE_HEALTH})

NONE: Final = "NONE"
SOME: Final = "SOME"
SEVERE: Final = "SEVERE"
#: Levels of a need, lowest first.
LEVELS: Final = (NONE, SOME, SEVERE)
_RANK: Final = {level: rank for rank, level in enumerate(LEVELS)}

AT_LEAST: Final = "AT_LEAST"
AT_MOST: Final = "AT_MOST"

#: ``OffenderEvent.type`` -> (need, direction, level, why). See the module docstring.
EVENT_RULES: Final = {
    "ACCOMMODATION_LOST": (ACCOMMODATION, AT_LEAST, SEVERE, "severe until reassessed"),
    "ACCOMMODATION_SECURED": (ACCOMMODATION, AT_MOST, SOME, "support until reassessed"),
    "EMPLOYMENT_ENDED": (EMPLOYMENT, AT_LEAST, SOME, "a need until reassessed"),
    "EMPLOYMENT_STARTED": (EMPLOYMENT, AT_MOST, SOME, "support until reassessed"),
    "DRUG_TEST_POSITIVE": (ALCOHOL_DRUGS, AT_LEAST, SOME, "a need until reassessed"),
}

ASSESSMENT: Final = "ASSESSMENT"
EVENT: Final = "EVENT"


def new() -> dict[str, Any]:
    """The state of a person never assessed."""
    return {"current": {}, "history": []}


def assess(
    state: Mapping[str, Any],
    *,
    needs: Mapping[str, Mapping[str, Any]],
    assessed_by: str,
    assessed_on: date,
    today: date,
) -> dict[str, Any]:
    """A new assessment: ``needs`` maps a need to ``{"level", "evidence"}``.

    Refused (:class:`CareError`): no needs; a need outside the seven (field ``needs.X``); a
    level outside :data:`LEVELS` (``needs.X.level``); blank evidence (``needs.X.evidence``);
    no assessor; ``assessed_on`` after ``today`` (an assessment records what was found, so it
    cannot be dated in the future).
    """
    check_date("assessed_on", assessed_on)
    check_date("today", today)
    by = check_text("assessed_by", assessed_by)
    if assessed_on > today:
        raise CareError(
            "assessed_on",
            f"{assessed_on.isoformat()} is after today {today.isoformat()}; "
            "an assessment cannot be dated in the future",
        )
    if not needs:
        raise CareError("needs", "no need assessed; assess at least one of the 7 pathway needs")
    findings = {name: _finding(name, value) for name, value in needs.items()}
    ordered = {name: findings[name] for name in NEEDS if name in findings}
    entry = {"kind": ASSESSMENT, "on": iso(assessed_on), "by": by, "source": ASSESSMENT,
             "needs": ordered}
    return _take(state, entry)


def _finding(name: object, value: object) -> dict[str, str]:
    if name not in NEEDS:
        raise CareError(
            f"needs.{name}",
            f"not one of the 7 pathway needs; expected one of {', '.join(NEEDS)}",
        )
    if not isinstance(value, Mapping):
        raise CareError(f"needs.{name}", "expected {level, evidence}")
    level = check_choice(f"needs.{name}.level", value.get("level"), LEVELS, "a need level")
    evidence = check_text(f"needs.{name}.evidence", value.get("evidence"))
    return {"level": level, "evidence": evidence}


def on_event(state: Mapping[str, Any], event_type: str, occurred_on: date) -> dict[str, Any]:
    """An ``OffenderEvent`` that moves a need (:data:`EVENT_RULES`); others change nothing."""
    check_date("occurred_on", occurred_on)
    rule = EVENT_RULES.get(event_type)
    if rule is None:
        return copy.deepcopy(dict(state))
    need, direction, bound, why = rule
    evidence = f"{event_type} on {occurred_on.isoformat()}: {why}"
    entry = {"kind": EVENT, "on": iso(occurred_on), "by": None, "source": event_type,
             "needs": {need: {"level": bound, "bound": direction, "evidence": evidence}}}
    return _take(state, entry)


def _bounded(held: str | None, direction: str, bound: str) -> str:
    if held is None:
        # Never assessed: the event is the only thing known, so it sets the bound itself.
        return bound
    if direction == AT_LEAST:
        return held if _RANK[held] >= _RANK[bound] else bound
    return held if _RANK[held] <= _RANK[bound] else bound


def _take(state: Mapping[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(state))
    if not _seen(out["history"], entry):
        out["history"].append(entry)
        out["current"] = _fold(out["history"])
    return out


def _seen(history: list[dict[str, Any]], entry: Mapping[str, Any]) -> bool:
    if entry["kind"] == ASSESSMENT:
        return entry in history
    return any(h["kind"] == EVENT and h["source"] == entry["source"] and h["on"] == entry["on"]
               for h in history)


def _fold(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The current findings: the history replayed in date order (arrival order on a day).

    Replaying, rather than patching ``current`` as inputs come, makes a late input land where
    its date puts it: a form back-dated to before an ``ACCOMMODATION_LOST`` does not undo the
    loss, and a late event dated before the last assessment is superseded by it.
    """
    current: dict[str, dict[str, Any]] = {}
    for entry in sorted(history, key=lambda h: h["on"]):  # stable: arrival order on a day
        for need, finding in entry["needs"].items():
            held = current.get(need)
            level = finding["level"]
            if entry["kind"] == EVENT:
                level = _bounded(held["level"] if held else None, finding["bound"], level)
                if held is not None and held["level"] == level:
                    continue  # the event confirms the finding; it keeps its own evidence
            current[need] = {"level": level, "assessed_by": entry["by"],
                             "assessed_on": entry["on"], "evidence": finding["evidence"],
                             "source": entry["source"]}
    return current


def current(state: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Every one of the 7 needs, in order: its current finding, or ``None`` if never assessed.

    A finding is ``{"level", "assessed_by", "assessed_on", "evidence", "source"}``;
    ``source`` is ``"ASSESSMENT"`` or the event type that set it (``assessed_by`` is then
    ``None``: no one has assessed it since).
    """
    held = state["current"]
    return {need: (dict(held[need]) if need in held else None) for need in NEEDS}


def history_of(state: Mapping[str, Any], need: str) -> list[dict[str, Any]]:
    """Every finding ever recorded for ``need``, newest first (by date, then by arrival)."""
    check_choice("need", need, NEEDS, "one of the 7 pathway needs")
    found = [
        {"on": h["on"], "by": h["by"], "source": h["source"], **h["needs"][need]}
        for h in state["history"]
        if need in h["needs"]
    ]
    # sorted() is stable, so reversing arrival order first keeps "later arrival first" on ties.
    return sorted(reversed(found), key=lambda f: f["on"], reverse=True)
