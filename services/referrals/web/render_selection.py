"""Selection signals and victim safety on the pages (issue 18 parts 2 and 6): the MAPPA flag
the panel decides with, PPO, RoSH beside the RAG grade (never part of it), priority flags,
prolific, a short sentence, victim-safety zones. Pure HTML, escaped; self-contained (render.py
imports it), no script, nothing loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

NOT_ASSESSED = "not assessed"


def _e(value: object) -> str:
    return "" if value is None else escape(str(value), quote=True)


def _words(symbol: object) -> str:
    # LEVEL_2 -> "level 2", VERY_HIGH -> "very high"
    return str(symbol).replace("_", " ").lower()


def rosh(level: object, element_id: str | None = None) -> str:
    """The OASys risk of serious harm, shown beside the RAG badge, labelled as its own
    measure so no one reads it as part of the grade."""
    id_attr = f' id="{_e(element_id)}"' if element_id else ""
    shown = _words(level) if level else NOT_ASSESSED
    css = f"rosh rosh-{_e(str(level).lower())}" if level else "rosh rosh-none"
    return (f'<span{id_attr} class="{css}" title="risk of serious harm (OASys), '
            f'separate from the RAG grade">RoSH: {_e(shown)}</span>')


def mappa_banner(flags: Mapping[str, Any] | None, element_id: str | None = None) -> str:
    """A MAPPA-managed person is flagged to the panel, which decides (no refusal here)."""
    level = (flags or {}).get("mappa_level")
    if not level:
        return ""
    id_attr = f' id="{_e(element_id)}"' if element_id else ""
    return (f'<p{id_attr} class="mappa-flag" data-mappa-level="{_e(level)}"><strong>'
            f"MAPPA-managed: {_e(_words(level))}</strong>. IOM is distinct from MAPPA (which "
            "minimises the risk of serious harm): the panel decides whether management "
            "continues with MAPPA or IOM.</p>")


def _prolific(prolific: Mapping[str, Any] | None) -> str:
    if not prolific:
        return '<span class="none">not known</span>'
    return _e(prolific.get("reason"))


def _sentence(sentence: Mapping[str, Any] | None) -> str:
    if not sentence:
        return '<span class="none">no sentence length recorded</span>'
    kind = "custody" if sentence.get("type") == "SENTENCED_CUSTODY" else "community"
    short = " (short sentence: under 12 months)" if sentence.get("short") else ""
    return (f'<span class="{"short-sentence" if sentence.get("short") else "sentence"}">'
            f"{_e(sentence.get('length'))} {kind}, {_e(sentence.get('on'))}{_e(short)}</span>")


def flag_rows(flags: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, HTML) rows for a facts list: MAPPA, PPO, RoSH, priority flags, prolific,
    sentence."""
    flags = flags or {}
    level = flags.get("mappa_level")
    priorities = flags.get("priority_flags") or ()
    return [
        ("MAPPA", _e(f"managed, {_words(level)}" if level else "not MAPPA-managed")),
        ("PPO", "yes (prolific and priority offender)" if flags.get("ppo") else "no"),
        ("Risk of serious harm", rosh(flags.get("rosh_level"))),
        ("Force priority flags", _e(", ".join(_words(p) for p in priorities) or "none")),
        ("Prolific (offence history)", _prolific(flags.get("prolific"))),
        ("Latest sentence", _sentence(flags.get("sentence"))),
    ]


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{_e(label)}</dt><dd>{html}</dd>" for label, html in rows)
    return f'<dl class="facts">{items}</dl>'


def _zones(zones: Sequence[Mapping[str, Any]]) -> str:
    if not zones:
        return '<p class="none">No victim-safety zones.</p>'
    rows = "".join(
        f'<tr class="victim-zone" data-zone-id="{_e(z.get("zone_id"))}">'
        f"<td>{_e(z.get('zone_id'))}</td><td>{_e(_words(z.get('kind') or 'zone'))}</td>"
        f"<td>{'applies now' if z.get('active_now') else 'not in force now'}</td>"
        f"<td>{_e(z.get('active_from') or 'not known')}</td>"
        f"<td>{_e(z.get('active_to') or 'open-ended')}</td><td>{_e(z.get('breaches'))}</td></tr>"
        for z in zones)
    return ("<table><thead><tr><th>Zone</th><th>Kind</th><th>Now</th><th>From</th><th>To</th>"
            f"<th>Breaches</th></tr></thead><tbody>{rows}</tbody></table>")


def report_sections(selection: Mapping[str, Any] | None) -> str:
    """The report's selection signals and victim safety sections."""
    if selection is None:
        return ""
    return (f'<section id="selection"><h2>Selection signals</h2>'
            f"{mappa_banner(selection, 'mappa-flag')}{_facts(flag_rows(selection))}</section>"
            '<section id="victim-safety"><h2>Victim safety</h2>'
            "<p>Exclusion zones set to protect a victim; a breach of one is a victim-safety "
            f"concern.</p>{_zones(selection.get('victim_safety_zones') or ())}</section>")
