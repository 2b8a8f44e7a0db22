"""Turn what a practitioner submitted (an HTML form or JSON) into records. Pure: no I/O.

Three inputs reach the referrals service from people rather than from agency systems: the
standard IOM referral form, the MACC panel's decision form and the supervisor's review of a
management report. Each arrives either form-encoded (every value a string, an unticked
checkbox simply absent) or as JSON (real booleans). These functions accept both, trim text,
and check every field before refusing, so the practitioner sees all their mistakes at once
instead of one per submission.

Only shape and type are checked here. The rules of an outcome (an acceptance needs a lead
officer, a rejection a rationale) belong to :func:`services.referrals.case.panel.decide`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from services.referrals.case.panel import COHORTS, OUTCOMES, PATHWAYS

#: The fields of the referral form, in the order the form shows them.
REFERRAL_FIELDS: Final[tuple[str, ...]] = (
    "person_id",
    "referring_agency",
    "referrer",
    "proposed_cohort",
    "reason",
    "urgent",
    "index_offence",
)
DECISION_FIELDS: Final[tuple[str, ...]] = (
    "referral_id",
    "outcome",
    "cohort",
    "pathway",
    "lead_officer",
    "rationale",
    "panel_date",
)
REVIEW_FIELDS: Final[tuple[str, ...]] = ("supervisor", "finding", "reviewed_on")

#: Longest text accepted in any field: a referral reason is a paragraph, not a case file.
MAX_TEXT: Final = 4000
#: Shortest reason: the guide asks the referrer to explain why IOM would help, not to tick a box.
MIN_REASON: Final = 20
#: What a ticked checkbox may send. Browsers send "on" unless the form sets a value.
TRUE_WORDS: Final[frozenset[str]] = frozenset({"on", "true", "1", "yes"})
#: Explicit "no" from a script or a hidden input; an unticked checkbox sends nothing at all.
FALSE_WORDS: Final[frozenset[str]] = frozenset({"", "off", "false", "0", "no"})
#: Fields of the Referral record the service sets itself; a submitter may not choose them.
SERVICE_SET: Final[frozenset[str]] = frozenset({"referral_id", "submitted_at"})

# Exactly YYYY-MM-DD: date.fromisoformat alone also takes "20260301" and "2026-W09-1".
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FieldErrors(ValueError):
    """Every problem found in one submission: ``errors`` maps field name -> message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))


class _Invalid(Exception):
    """One field's problem, raised by a field parser and collected by :func:`_collect`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_Parser = Callable[[Any], Any]
_MISSING: Final = object()


def _shown(value: str) -> str:
    # Quote what was sent so the message is unambiguous, but never echo a whole essay back.
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _optional_text(value: Any) -> str | None:
    if value is _MISSING or value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise _Invalid(f"too long: at most {MAX_TEXT} characters, got {len(text)}")
    return text or None


def _text(value: Any) -> str:
    text = _optional_text(value)
    if text is None:
        raise _Invalid("required")
    return text


def _reason(value: Any) -> str:
    text = _text(value)
    if len(text) < MIN_REASON:
        raise _Invalid(
            f"too short: explain in at least {MIN_REASON} characters why IOM would help "
            f"(got {len(text)})"
        )
    return text


def _choice(choices: tuple[str, ...], what: str) -> _Parser:
    def parse(value: Any) -> str | None:
        text = _optional_text(value)
        if text is not None and text not in choices:
            raise _Invalid(f"{_shown(text)} is not {what}: expected one of {', '.join(choices)}")
        return text

    return parse


def _required(parse: _Parser) -> _Parser:
    def parse_required(value: Any) -> Any:
        result = parse(value)
        if result is None:
            raise _Invalid("required")
        return result

    return parse_required


def _flag(value: Any) -> bool:
    # An unticked checkbox is absent from the form, so absence means "no".
    if value is _MISSING or isinstance(value, bool):
        return value is True
    if not isinstance(value, str):
        raise _Invalid(f"must be true or false, got {type(value).__name__}")
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _Invalid(f"{_shown(value)} is not true or false: tick the box or leave it empty")


def _names(value: Any) -> list[str]:
    """A list of names: a JSON list, or a form's text with one per line or comma."""
    if value is _MISSING or value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[,\n]", value)
    if not isinstance(value, list):
        raise _Invalid(f"expected a list of names, got {type(value).__name__}")
    names = [_optional_text(item) for item in value]
    return [name for name in names if name]


def _optional_date(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = _optional_text(value)
    if text is None:
        return None
    if _DATE.fullmatch(text) is None:
        raise _Invalid(f"{_shown(text)} is not a date: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Invalid(f"{_shown(text)} is not a date in the calendar") from None


def _collect(
    data: Mapping[str, Any], parsers: Mapping[str, _Parser], record: str
) -> dict[str, Any]:
    """Run every field's parser and raise one :class:`FieldErrors` naming all problems."""
    result: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, parse in parsers.items():
        try:
            result[name] = parse(data.get(name, _MISSING))
        except _Invalid as problem:
            errors[name] = problem.message
    for name in data:
        if name not in parsers:
            errors[str(name)] = _unknown(str(name), record)
    if errors:
        raise FieldErrors(errors)
    return result


def _unknown(name: str, record: str) -> str:
    if record == "referral" and name in SERVICE_SET:
        return "set by the service when the referral is received, not by the referrer"
    return f"not a field of a {record}"


_REFERRAL_PARSERS: Final[dict[str, _Parser]] = {
    "person_id": _text,
    "referring_agency": _text,
    "referrer": _text,
    "proposed_cohort": _required(_choice(COHORTS, "a cohort")),
    "reason": _reason,
    "urgent": _flag,
    "index_offence": _text,
}
_DECISION_PARSERS: Final[dict[str, _Parser]] = {
    "referral_id": _text,
    "outcome": _required(_choice(OUTCOMES, "a panel outcome")),
    "cohort": _choice(COHORTS, "a cohort"),
    "pathway": _choice(PATHWAYS, "a pathway"),
    "lead_officer": _optional_text,
    "rationale": _optional_text,
    "panel_date": _required(_optional_date),
    "chair": _optional_text,
    "agencies_present": _names,
}
_REVIEW_PARSERS: Final[dict[str, _Parser]] = {
    "supervisor": _text,
    "finding": _text,
    "reviewed_on": _optional_date,
}


def _utc(submitted_at: datetime) -> datetime:
    # A naive time could be UK local or UTC; guessing would shift the panel a referral goes to.
    if not isinstance(submitted_at, datetime) or submitted_at.tzinfo is None:
        raise ValueError("submitted_at: needs an aware datetime (times are UTC)")
    return submitted_at.astimezone(UTC)


def referral_id_for(person_id: str, submitted_at: datetime, referrer: str) -> str:
    """Deterministic referral id, so a resubmitted request (a retry) is recognised as a repeat.

    The first 32 hex digits of SHA-256 of ``"person_id|submitted_at ISO (UTC)|referrer"``.
    """
    text = f"{person_id}|{_utc(submitted_at).isoformat()}|{referrer}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def referral_from_input(
    data: Mapping[str, Any], *, referral_id: str, submitted_at: datetime
) -> dict[str, Any]:
    """The ``Referral`` record for a submitted referral form, or :class:`FieldErrors`."""
    submitted_at = _utc(submitted_at)
    fields = _collect(data, _REFERRAL_PARSERS, "referral")
    return {"referral_id": referral_id, **fields, "submitted_at": submitted_at}


def decision_from_input(data: Mapping[str, Any]) -> dict[str, Any]:
    """A panel decision form as typed values: blanks are ``None``, ``panel_date`` a date.

    The keys other than ``referral_id`` are the keyword arguments of ``panel.decide``.
    """
    return _collect(data, _DECISION_PARSERS, "panel decision")


def review_from_input(data: Mapping[str, Any]) -> dict[str, Any]:
    """A supervisor's review of a management report: supervisor, finding, reviewed_on."""
    return _collect(data, _REVIEW_PARSERS, "supervisor review")


def _rows(data: Mapping[str, Any], names: tuple[str, ...], count: int) -> list[dict[str, Any]]:
    """A form's numbered rows (``from_0``, ``action_0``, ...) with the blank ones left out."""
    rows = []
    for n in range(count):
        row = {k: data.get(f"{k}_{n}") for k in names}
        if any(isinstance(v, str) and v.strip() for v in row.values()):
            rows.append(row)
    return rows


def plan_steps_from_input(data: Mapping[str, Any], rows: int) -> Any:
    """A transition plan's steps: a JSON body's ``steps``, or the form's numbered rows
    (checked by case.transition_plan)."""
    if "steps" in data:
        return data["steps"]
    return _rows(data, ("from", "action", "who", "contact"), rows)


def minutes_from_input(data: Mapping[str, Any], rows: int) -> dict[str, Any]:
    """MAP minutes as case.minutes checks them: a JSON body as it is; from the pack's form,
    the people discussed one a line (or comma) and the numbered action rows."""
    found = dict(data)
    if isinstance(found.get("discussed"), str):
        found["discussed"] = [p.strip() for p in found["discussed"].replace("\n", ",").split(",")
                              if p.strip()]
    if "actions" not in found:
        found["actions"] = _rows(data, ("person_id", "description", "owner_agency", "due"),
                                 rows)
        for n in range(rows):
            for k in ("person_id", "description", "owner_agency", "due"):
                found.pop(f"{k}_{n}", None)
    return found
