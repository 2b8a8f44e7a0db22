"""What the needs, plans and through-the-gate modules share: the refusal and a few checks.

Pure module: no I/O, no logging, standard library only.

Every state those modules keep is a JSON-able dict with dates as ISO text (``"2025-06-30"``),
so it can live in a Faust table next to the dossier; these helpers convert at the edges.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

#: RAG grades, highest risk first (the order a "rise" is measured on).
RAGS: Final = ("RED", "AMBER", "GREEN")

#: The three IOM pathways (seed 004: "IOM considers 3 pathways to categorise offenders.
#: These form the basis of the intervention plan"), as the contract's ``Pathway`` symbols.
PATHWAYS: Final = ("CATCH_AND_CONTROL", "REHABILITATE_AND_RESETTLE", "PREVENT_AND_DETER")


class CareError(ValueError):
    """Bad input, refused: ``field`` names what was wrong and ``reason`` says why.

    The message is ``"field: reason"`` so a form or a dead letter can show it as it is.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_date(field: str, value: object) -> date:
    """``value`` if it is a plain date; a datetime is refused, since its ISO text carries a
    time and would sort and compare differently from the dates stored beside it."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise CareError(field, f"expected a date, got {type(value).__name__}")
    return value


def check_text(field: str, value: object) -> str:
    """``value`` stripped, refused when missing or blank."""
    if not isinstance(value, str) or not value.strip():
        raise CareError(field, "is required")
    return value.strip()


def check_choice(field: str, value: object, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise CareError(field, f"{value!r} is not {what}; expected one of {', '.join(choices)}")
    return str(value)


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value[:10])


def same_person(a: str | None, b: str | None) -> bool:
    """Whether two names or staff identifiers are the same officer, ignoring case and
    spacing (typed by hand on forms: "PC 1234  smith" is "PC 1234 Smith")."""
    if a is None or b is None:
        return False
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_day(field: str, value: object) -> date:
    """A date given as a date or as YYYY-MM-DD text (a form, a JSON body)."""
    if type(value) is date:  # a datetime would compare with dates only by raising
        return value
    text = check_text(field, value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CareError(field, f"{text!r} is not a date (YYYY-MM-DD)") from None


def check_text_within(field: str, value: object, limit: int) -> str:
    """``check_text``, refused when longer than ``limit`` characters."""
    text = check_text(field, value)
    if len(text) > limit:
        raise CareError(field, f"too long: at most {limit} characters, got {len(text)}")
    return text
