"""The grade list for the MAP meeting: each person's current grade, of the forces the
caller sees (or the one force named), RED first. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

RAG_ORDER = {"RED": 0, "AMBER": 1, "GREEN": 2}


def map_list(views: Iterable[dict[str, Any] | None], sees: Callable[[str | None], bool],
             rag: str | None, force: str | None) -> list[dict[str, Any]]:
    """One row per person view the caller ``sees`` (by force), of grade ``rag`` and force
    ``force`` when given; RED, AMBER, GREEN, then by force and person."""
    rows = []
    for document in views:
        if document is None or not sees(document["force"]):
            continue
        current = document["current"]
        if (rag and current["rag"] != rag) or (force and document["force"] != force):
            continue
        rows.append({"person_id": document["person_id"], "force": document["force"],
                     "rag": current["rag"], "revision": current["revision"],
                     "graded_at": current["graded_at"], "reason": current["reasons"][0],
                     "registered": document["registered"] is not None,
                     # beside the grade, never part of it (older views have none)
                     "rosh_level": document.get("rosh_level")})
    rows.sort(key=lambda r: (RAG_ORDER.get(r["rag"], 3), r["force"] or "", r["person_id"]))
    return rows
