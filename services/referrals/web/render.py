"""The referrals service's HTML pages. Pure: each function returns a whole document string.

The pages are read by IOM officers, supervisors and panel members on force networks that may
not reach the internet, so a page loads nothing: the stylesheet is inline, there is no script,
font or image, and a Content-Security-Policy in the page itself forbids loading anything else
(so a value that somehow escaped escaping still could not run or fetch).

Every value that comes from a record or a request goes through :func:`_e` (text and
attributes) or :func:`_url` (path segments). Dates and times arrive as ISO strings and are
shown as sent, in ``<time>`` elements.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from html import escape
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import quote

from services.referrals.case.panel import COHORTS, OUTCOMES, PATHWAYS
from services.referrals.web import render_selection
from services.referrals.web.forms import REFERRAL_FIELDS, TRUE_WORDS

UNALLOCATED: Final = "not yet allocated"
NOT_GRADED: Final = "not graded"

_STYLE: Final = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:0;color:#0b0c0c}
main{max-width:60rem;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.8rem;margin:.5rem 0 1rem}h2{font-size:1.35rem;margin-top:2rem}
a{color:#1d70b8}a:focus,input:focus,select:focus,textarea:focus,button:focus{outline:3px solid #fd0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #b1b4b6;vertical-align:top}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}
dd{margin:0}.field{margin:1.25rem 0}label{display:block;font-weight:600}.hint{color:#505a5f}
input[type=text],input[type=date],select,textarea{font:inherit;padding:.3rem;width:100%;
max-width:36rem;box-sizing:border-box;border:2px solid #0b0c0c}textarea{min-height:8rem}
input[type=checkbox]{width:1.3rem;height:1.3rem;vertical-align:middle}
button{font:inherit;background:#00703c;color:#fff;border:0;padding:.5rem 1.2rem;cursor:pointer}
.field.invalid{border-left:5px solid #d4351c;padding-left:1rem}
.error{color:#d4351c;font-weight:600;margin:.25rem 0}
#errors{border:5px solid #d4351c;padding:.5rem 1rem;margin-bottom:1.5rem}
.rag{display:inline-block;padding:.1rem .6rem;font-weight:700;border-radius:.2rem}
.rag-red{background:#b10e1e;color:#fff}.rag-amber{background:#f0b400;color:#0b0c0c}
.rag-green{background:#00703c;color:#fff}.rag-none{background:#dee0e2;color:#0b0c0c}
.overdue{color:#d4351c;font-weight:700}.unallocated{color:#d4351c;font-style:italic}
.urgent-flag{background:#d4351c;color:#fff;padding:.1rem .5rem;font-weight:700}
section.item,section.force{border-top:4px solid #1d70b8;margin-top:2rem}
.guidance{background:#f3f2f1;padding:.5rem 1rem}.none{color:#505a5f;font-style:italic}
.prose{white-space:pre-wrap}
.rosh{display:inline-block;margin-left:.6rem;padding:.1rem .5rem;border:2px solid #0b0c0c}
.mappa-flag{border-left:6px solid #4c2c92;background:#f3f2f1;padding:.5rem 1rem}
.short-sentence{font-weight:700}
"""
# The policy allows exactly this stylesheet (by hash) and nothing else: no script, no fetch.
_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode()
_CSP: Final = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src data:; "
    "form-action 'self'; base-uri 'none'"
)

COHORT_GUIDANCE: Final[Mapping[str, str]] = {
    "FIXED": (
        "Neighbourhood crime cohort, which every IOM scheme must have: under statutory "
        "supervision, prolific in neighbourhood crime (burglary, robbery, vehicle crime, or "
        "theft but not shoplifting) and at high risk of reoffending."
    ),
    "FLEX": (
        "Under statutory supervision but not a neighbourhood crime offender, who would benefit "
        "from the same IOM approach (risk of reoffending elevated)."
    ),
    "FREE": (
        "Offenders whose crimes are not neighbourhood crime but are a force priority, for "
        "example domestic abuse perpetrators."
    ),
}
_SELECTION_CRITERIA: Final[tuple[str, ...]] = (
    "The primary criterion: subject to statutory probation supervision following sentencing "
    "(required for FIXED and FLEX; only FREE can apply without it).",
    "A persistent offender, where joint management can reduce reoffending.",
    "Criminogenic needs that priority access to services can address (the 7 pathway needs).",
    "IOM is not MAPPA: a person referred for the risk of serious harm belongs with MAPPA.",
    "Adults; a young person moving from the Youth Offending Team at 18 is referred after the "
    "Youth to Adult Transfer Panel.",
)
_PATHWAY_NEEDS: Final[tuple[str, ...]] = (
    "accommodation",
    "employment",
    "training and education",
    "alcohol and/or drug misuse",
    "thinking skills",
    "childcare",
    "finances and health",
)
_LABELS: Final[Mapping[str, str]] = {
    "person_id": "Person ID",
    "referring_agency": "Referring agency",
    "referrer": "Your name or staff number",
    "proposed_cohort": "Proposed cohort",
    "reason": "Reason for referral",
    "urgent": "Urgent",
    "index_offence": "Index offence",
}
_HINTS: Final[Mapping[str, str]] = {
    "person_id": "The person's identifier in the shared IOM record.",
    "referring_agency": "For example Probation Service or Hampshire Constabulary.",
    "proposed_cohort": "The panel makes the final decision; see the guidance above.",
    "reason": (
        "Why would IOM help this person? Describe the offending pattern, the criminogenic needs ("
        + ", ".join(_PATHWAY_NEEDS)
        + ") and what joint management by police, probation and partners would add. "
        "At least 20 characters."
    ),
    "urgent": (
        "Tick if the referral cannot wait for the monthly panel: urgent referrals can be "
        "considered outside it."
    ),
    "index_offence": "The offence that prompted the referral, as on the charge sheet.",
}
_CHANGE_TITLES: Final[tuple[tuple[str, str], ...]] = (
    ("new_reds", "Newly graded RED"),
    ("hits", "GPS crime hits"),
    ("breaches", "Zone breaches"),
    ("new_registrations", "New registrations"),
    ("licences_ending", "Licences ending"),
    ("overdue_reviews", "Overdue supervisor reviews"),
    ("referrals_waiting", "Referrals waiting for a panel decision"),
)


# --- Building blocks --------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escaped text for element content or a double-quoted attribute; ``None`` is empty."""
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        value = value.isoformat()
    return escape(str(value), quote=True)


def _url(*segments: object) -> str:
    # Each id is one path segment: "/" or ".." in an id must not reach another resource.
    return _e("/" + "/".join(quote(str(s), safe="") for s in segments))


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{_e(title)} — Throughcare IOM</title>\n<style>{_STYLE}</style>\n"
        f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _time(value: object) -> str:
    if value is None or value == "":
        return '<span class="none">none</span>'
    return f'<time datetime="{_e(value)}">{_e(value)}</time>'


def _person_link(person_id: object) -> str:
    return f'<a href="{_url("people", person_id, "report")}">{_e(person_id)}</a>'


def _rag_badge(rag: object, element_id: str | None = None) -> str:
    known = rag in ("RED", "AMBER", "GREEN")
    css = f"rag rag-{str(rag).lower()}" if known else "rag rag-none"
    id_attr = f' id="{element_id}"' if element_id else ""
    return f'<span{id_attr} class="{css}">{_e(rag) if known else NOT_GRADED}</span>'


def _officer(name: object, element_id: str | None = None) -> str:
    id_attr = f' id="{element_id}"' if element_id else ""
    if name is None or (isinstance(name, str) and not name.strip()):
        return f'<span{id_attr} class="unallocated">{UNALLOCATED}</span>'
    return f"<span{id_attr}>{_e(name)}</span>"


def _yes_no(value: object) -> str:
    return "yes" if value is True else "no"


def _bullets(items: Iterable[object], empty: str = "none") -> str:
    rows = "".join(f"<li>{_e(item)}</li>" for item in items)
    return f"<ul>{rows}</ul>" if rows else f'<p class="none">{_e(empty)}</p>'


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    """A definition list of (label, already-built HTML) pairs."""
    items = "".join(f"<dt>{_e(label)}</dt><dd>{html}</dd>" for label, html in rows)
    return f'<dl class="facts">{items}</dl>'


def _options(choices: Iterable[str], selected: object, blank: str | None) -> str:
    html = f'<option value="">{_e(blank)}</option>' if blank is not None else ""
    for choice in choices:
        mark = " selected" if choice == selected else ""
        html += f'<option value="{_e(choice)}"{mark}>{_e(_words(choice))}</option>'
    return html


def _words(symbol: str) -> str:
    # CATCH_AND_CONTROL -> "Catch and control"; cohort names are shown as written.
    return symbol if symbol in COHORTS else symbol.replace("_", " ").capitalize()


# --- Referral form ------------------------------------------------------------------------------


def _guidance() -> str:
    cohorts = "".join(
        f"<dt>{name}</dt><dd>{_e(text)}</dd>" for name, text in COHORT_GUIDANCE.items()
    )
    criteria = "".join(f"<li>{_e(text)}</li>" for text in _SELECTION_CRITERIA)
    return (
        '<section class="guidance" id="guidance"><h2>Before you refer</h2>'
        "<p>IOM is the joint management of adult offenders by police, probation and partner "
        "agencies, to reduce reoffending. Referrals are considered by the monthly Multi-Agency "
        "Case Conference (MACC) selection panel.</p>"
        f'<h3>Cohorts</h3><dl class="facts" id="cohorts">{cohorts}</dl>'
        f'<h3>Selection criteria</h3><ul id="criteria">{criteria}</ul></section>'
    )


def _summary_line(name: str, message: str) -> str:
    # A field of the form links to its control; anything else (an unknown field) cannot.
    if name in _LABELS:
        return f'<li><a href="#{name}">{_e(_LABELS[name])}: {_e(message)}</a></li>'
    return f"<li>{_e(name)}: {_e(message)}</li>"


def _error_summary(errors: Mapping[str, str]) -> str:
    if not errors:
        return ""
    items = "".join(_summary_line(name, message) for name, message in errors.items())
    return (
        '<div id="errors" role="alert" tabindex="-1"><h2>There is a problem with the referral'
        f"</h2><ul>{items}</ul></div>"
    )


def _control(name: str, value: str) -> str:
    """The input for one referral field, re-filled with what was sent."""
    described = f'aria-describedby="hint-{name} error-{name}"'
    if name == "proposed_cohort":
        return (
            f'<select id="{name}" name="{name}" {described} required>'
            f"{_options(COHORTS, value, 'Choose a cohort')}</select>"
        )
    if name == "reason":
        return (
            f'<textarea id="{name}" name="{name}" rows="8" {described} required>'
            f"{_e(value)}</textarea>"
        )
    if name == "urgent":
        checked = " checked" if value.strip().lower() in TRUE_WORDS else ""
        return f'<input type="checkbox" id="{name}" name="{name}" value="on" {described}{checked}>'
    return f'<input type="text" id="{name}" name="{name}" value="{_e(value)}" {described} required>'


def _field(name: str, value: str, error: str | None) -> str:
    # The error sits between the label and the control, where a screen reader meets it first.
    message = f'<p class="error" id="error-{name}">{_e(error)}</p>' if error else ""
    css = "field invalid" if error else "field"
    return (
        f'<div class="{css}" id="field-{name}"><label for="{name}">{_e(_LABELS[name])}</label>'
        f'<p class="hint" id="hint-{name}">{_e(_HINTS.get(name, ""))}</p>'
        f"{message}{_control(name, value)}</div>"
    )


def referral_form(
    values: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None
) -> str:
    """The standard IOM referral form, re-filled with ``values`` and showing ``errors``."""
    values, errors = values or {}, errors or {}
    fields = "".join(
        _field(name, "" if values.get(name) is None else str(values[name]), errors.get(name))
        for name in REFERRAL_FIELDS
    )
    # novalidate: the service checks every field and shows all problems in one place, in one
    # style; browser bubbles would show one at a time and differently in every browser.
    body = (
        "<h1>Refer a person to Integrated Offender Management</h1>"
        f"{_error_summary(errors)}{_guidance()}"
        '<form method="post" action="/referrals" novalidate><h2>Referral</h2>'
        f'{fields}<button type="submit" id="submit">Send referral</button></form>'
    )
    title = "Error: refer a person to IOM" if errors else "Refer a person to IOM"
    return _page(title, body)


# --- Referral outcomes --------------------------------------------------------------------------


def _assessment(assessment: Mapping[str, Any] | None, heading: str = "h2") -> str:
    # class, not id: the agenda shows one assessment per item on the same page.
    if assessment is None:
        return '<p class="assessment none">No advisory assessment yet.</p>'
    cohort = assessment.get("cohort")
    fits = f"fits {_e(cohort)}" if cohort else "fits no cohort"
    return (
        f'<section class="assessment"><{heading}>Advice for the panel: {fits}</{heading}>'
        f"{_bullets(assessment.get('reasons') or ())}</section>"
    )


def referral_received(referral: Mapping[str, Any], assessment: Mapping[str, Any] | None) -> str:
    """Confirmation that a referral was received, with its id and the advisory assessment."""
    person = referral.get("person_id")
    route = (
        "It is urgent: it will be considered outside the monthly panel."
        if referral.get("urgent") is True
        else "It will be considered at the next monthly MACC selection panel."
    )
    body = (
        "<h1>Referral received</h1>"
        f'<p>Referral <strong id="referral-id">{_e(referral.get("referral_id"))}</strong> '
        f"for {_e(person)} was received. {route}</p>"
        + _facts(
            [
                ("Proposed cohort", _e(referral.get("proposed_cohort"))),
                ("Referring agency", _e(referral.get("referring_agency"))),
                ("Submitted", _time(referral.get("submitted_at"))),
            ]
        )
        + _assessment(assessment)
        + f'<p><a id="report-link" href="{_url("people", person, "report")}">'
        f"Management report for {_e(person)}</a></p>"
    )
    return _page("Referral received", body)


def duplicate_referral(existing: Mapping[str, Any]) -> str:
    """A person has one open referral at a time: point to the one already open."""
    referral_id = existing.get("referral_id")
    body = (
        "<h1>A referral is already open</h1>"
        f"<p>{_e(existing.get('person_id') or 'This person')} already has an open referral, "
        "so this one was not recorded. Add what you know to the open referral's panel "
        "discussion instead.</p>"
        f'<p><a id="existing-referral" href="{_url("referrals", referral_id)}">'
        f"Open referral {_e(referral_id)}</a>"
        + (f", submitted {_time(existing['submitted_at'])}" if existing.get("submitted_at") else "")
        + "</p>"
    )
    return _page("Referral already open", body)


# --- Management report --------------------------------------------------------------------------


def _grade(grade: Mapping[str, Any] | None, rosh: object = None) -> str:
    # RoSH stands beside the RAG badge, labelled as its own measure: never folded into it.
    beside = render_selection.rosh(rosh, "rosh")
    if grade is None:
        return (f"<section><h2>Risk grade</h2><p>{_rag_badge(None, 'rag')}{beside}</p>"
                "</section>")
    score = grade.get("static_score")
    shown = (
        f"{score:.2f} (OGRS3 two-year probability of proven reoffending)"
        if isinstance(score, int | float) and not isinstance(score, bool)
        else "not known (OGRS3 facts missing)"
    )
    facts = _facts(
        [
            ("Previous grade", _e(grade.get("previous_rag") or "none")),
            ("Static score", _e(shown)),
            ("Graded", _time(grade.get("graded_at"))),
        ]
    )
    return (
        f"<section><h2>Risk grade</h2><p>{_rag_badge(grade.get('rag'), 'rag')}{beside}</p>"
        f"{facts}"
        f"<h3>Why</h3>{_bullets(grade.get('reasons') or ())}</section>"
    )


def _review_due(review: Mapping[str, Any] | None) -> str:
    if review is None:
        return '<p>Next supervisor review: <span id="review-due">not scheduled</span></p>'
    overdue = review.get("overdue") is True
    css = ' class="overdue"' if overdue else ""
    note = " (overdue)" if overdue else ""
    return (
        f'<p>Next supervisor review due <span id="review-due"{css}>'
        f"{_e(review.get('due'))}{note}</span>; reviewed every "
        f"{_e(review.get('interval_days'))} days.</p>"
    )


def _reviews(reviews: Sequence[Mapping[str, Any]]) -> str:
    if not reviews:
        return '<p class="none">No supervisor reviews yet.</p>'
    rows = "".join(
        f'<tr class="review"><td>{_time(r.get("reviewed_on"))}</td><td>{_e(r.get("supervisor"))}'
        f'</td><td class="prose">{_e(r.get("finding"))}</td></tr>'
        for r in reviews
    )
    return (
        '<table id="reviews"><thead><tr><th>Reviewed on</th><th>Supervisor</th><th>Finding</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _review_form(person_id: object) -> str:
    return (
        f'<form method="post" action="{_url("people", person_id, "reviews")}" id="review-form" '
        "novalidate><h3>Record a supervisor review</h3>"
        '<div class="field"><label for="supervisor">Supervisor</label>'
        '<input type="text" id="supervisor" name="supervisor" required></div>'
        '<div class="field"><label for="finding">Finding</label><p class="hint">Is every '
        "intervention commensurate with the risk grading?</p>"
        '<textarea id="finding" name="finding" rows="5" required></textarea></div>'
        '<div class="field"><label for="reviewed_on">Reviewed on</label>'
        '<input type="date" id="reviewed_on" name="reviewed_on"></div>'
        '<button type="submit" id="record-review">Record review</button></form>'
    )


def _kind_class(kind: object) -> str:
    # The kind becomes a CSS class: keep it to safe characters whatever a record says.
    return "kind-" + re.sub(r"[^a-z0-9_-]", "-", str(kind).lower())


def _timeline(events: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f'<tr class="event {_kind_class(ev.get("kind"))}"><td>{_time(ev.get("at"))}</td>'
        f"<td>{_e(ev.get('kind'))}</td><td>{_e(ev.get('summary'))}</td>"
        f"<td>{_e(ev.get('ref'))}</td></tr>"
        for ev in events
    )
    if not rows:
        rows = '<tr><td colspan="4" class="none">No events yet.</td></tr>'
    return (
        '<table id="timeline"><caption>Interventions, decisions and events, newest first'
        "</caption><thead><tr><th>When</th><th>Kind</th><th>What</th><th>Reference</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _referrals(referrals: Sequence[Mapping[str, Any]]) -> str:
    if not referrals:
        return '<p class="none">No referrals.</p>'
    rows = "".join(
        f'<tr><td><a href="{_url("referrals", r.get("referral_id"))}">'
        f"{_e(r.get('referral_id'))}</a></td><td>{_e(r.get('status'))}</td>"
        f"<td>{_e(r.get('proposed_cohort'))}</td><td>{_time(r.get('submitted_at'))}</td>"
        f"<td>{_yes_no(r.get('urgent'))}</td></tr>"
        for r in referrals
    )
    return (
        '<table id="referrals"><thead><tr><th>Referral</th><th>Status</th><th>Proposed cohort'
        f"</th><th>Submitted</th><th>Urgent</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _summary(doc: Mapping[str, Any]) -> str:
    state = doc.get("state")
    pathway = doc.get("pathway")
    return _facts(
        [
            ("Person", _e(doc.get("person_id"))),
            ("Force", _e(doc.get("force"))),
            ("State", f'<span id="state">{_e(state or "not referred")}</span>'),
            ("Cohort", _e(doc.get("cohort") or "none")),
            ("Pathway", _e(_words(pathway) if isinstance(pathway, str) else "none")),
            ("Lead officer", _officer(doc.get("lead_officer"), "lead-officer")),
            ("Registered on", _time(doc.get("registered_on"))),
            ("Licence ends", _time(doc.get("licence_end"))),
            ("Transition plan opens", _time(doc.get("transition_opens"))),
        ]
    )


def report(doc: Mapping[str, Any], extra: str = "") -> str:
    """The bespoke management report of one person (seed 003), with the review form.

    ``extra`` is further sections (escaped HTML) placed after the supervisor reviews."""
    person = doc.get("person_id")
    rationale = doc.get("deregistration_rationale")
    deregistration = (
        '<section id="deregistration"><h2>De-registration</h2>'
        f'<p class="prose">{_e(rationale)}</p></section>'
        if rationale
        else ""
    )
    body = (
        f"<h1>Management report: {_e(person)}</h1>"
        f'<p><a id="report-json" href="{_url("people", person, "report.json")}">'
        "This report as JSON</a></p>"
        f"{_summary(doc)}{deregistration}"
        f"{_grade(doc.get('grade'), (doc.get('selection') or {}).get('rosh_level'))}"
        f"<section><h2>Supervisor reviews</h2>{_review_due(doc.get('review'))}"
        f"{_reviews(doc.get('reviews') or ())}{_review_form(person)}</section>{extra}"
        f"<section><h2>Referrals</h2>{_referrals(doc.get('referrals') or ())}</section>"
        f"<section><h2>Timeline</h2>{_timeline(doc.get('timeline') or ())}</section>"
    )
    return _page(f"Management report {person}", body)


# --- Weekly MAP meeting pack --------------------------------------------------------------------


def _cohort_table(members: Sequence[Mapping[str, Any]]) -> str:
    if not members:
        return '<p class="none">none</p>'
    rows = "".join(
        f'<tr class="member"><td>{_person_link(m.get("person_id"))}</td>'
        f"<td>{_rag_badge(m.get('rag'))}</td><td>{_e(m.get('state'))}</td>"
        f"<td>{_officer(m.get('lead_officer'))}</td><td>{_time(m.get('licence_end'))}</td>"
        f"<td>{_time(m.get('review_due'))}</td></tr>"
        for m in members
    )
    return (
        '<table class="cohort"><thead><tr><th>Person</th><th>Grade</th><th>State</th>'
        "<th>Lead officer</th><th>Licence ends</th><th>Review due</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _change_item(kind: str, item: Mapping[str, Any]) -> str:
    person = _person_link(item.get("person_id"))
    if kind == "new_reds":
        was = _e(item.get("previous_rag") or "not graded")
        return f"{person} graded RED (was {was}) on {_time(item.get('graded_on'))}"
    if kind in ("hits", "breaches"):
        return (
            f"{person}: {_e(item.get('incident_id'))} (ref {_e(item.get('ref'))}) detected on "
            f"{_time(item.get('detected_on'))}"
        )
    if kind == "new_registrations":
        return (
            f"{person} registered on {_time(item.get('registered_on'))}, lead officer "
            f"{_officer(item.get('lead_officer'))}"
        )
    if kind == "licences_ending":
        return f"{person} licence ends {_time(item.get('licence_end'))}"
    if kind == "referrals_waiting":
        when = item.get("sitting")
        sitting = "out of cycle (urgent)" if when == "OUT_OF_CYCLE" else (
            f"the sitting on {_time(when)}")
        return (
            f"{person} referred on {_time(item.get('submitted_on'))}, for {sitting}"
        )
    return f"{person} review was due {_time(item.get('review_due'))}"


def _changes(changes: Mapping[str, Any]) -> str:
    html = ""
    for kind, title in _CHANGE_TITLES:
        items = changes.get(kind) or ()
        rows = "".join(f"<li>{_change_item(kind, item)}</li>" for item in items)
        rows = rows or '<li class="none">none</li>'
        html += (
            f'<section class="change" data-change="{kind}"><h4>{_e(title)}</h4>'
            f"<ul>{rows}</ul></section>"
        )
    return html


def _force_section(force: Mapping[str, Any], more: str = "") -> str:
    name = force.get("force")
    return (
        f'<section class="force" data-force="{_e(name)}"><h2>{_e(name)}</h2>'
        f"<h3>Cohort, by grade</h3>{_cohort_table(force.get('cohort') or ())}"
        f"<h3>Changes since the last meeting</h3>{_changes(force.get('changes') or {})}"
        f"{more}</section>"
    )


def map_pack(pack: Mapping[str, Any],
             more: Callable[[Mapping[str, Any]], str] = lambda force: "") -> str:
    """The weekly Multi-Agency Practitioner (MAP) meeting pack, one section per force;
    ``more(force)`` is further HTML (escaped) at the end of each force's section."""
    forces = pack.get("forces") or ()
    sections = "".join(_force_section(force, more(force)) for force in forces)
    body = (
        "<h1>MAP meeting pack</h1>"
        f"<p>Changes from {_time(pack.get('since'))} to {_time(pack.get('until'))}.</p>"
        + (sections or '<p class="none">No forces in this pack.</p>')
    )
    return _page("MAP meeting pack", body)


# --- MACC panel agenda --------------------------------------------------------------------------


def _select(name: str, n: int, label: str, choices: Iterable[str], selected: object) -> str:
    return (
        f'<div class="field"><label for="{name}-{n}">{_e(label)}</label>'
        f'<select id="{name}-{n}" name="{name}">{_options(choices, selected, "—")}</select></div>'
    )


def _decision_form(n: int, referral: Mapping[str, Any], panel_date: object) -> str:
    # The cohort starts at the proposed one: panel.decide records it for a rejection too.
    return (
        f'<form method="post" action="/panel/decisions" class="decision" novalidate>'
        f'<input type="hidden" name="referral_id" value="{_e(referral.get("referral_id"))}">'
        f'<input type="hidden" name="panel_date" value="{_e(panel_date)}">'
        + _select("outcome", n, "Outcome", OUTCOMES, None)
        + _select("cohort", n, "Cohort", COHORTS, referral.get("proposed_cohort"))
        + _select("pathway", n, "Pathway (when accepted)", PATHWAYS, None)
        + f'<div class="field"><label for="lead_officer-{n}">Lead officer (when accepted)</label>'
        f'<input type="text" id="lead_officer-{n}" name="lead_officer"></div>'
        f'<div class="field"><label for="rationale-{n}">Rationale</label>'
        f'<textarea id="rationale-{n}" name="rationale" rows="4"></textarea></div>'
        f'<div class="field"><label for="chair-{n}">Chair</label>'
        f'<input type="text" id="chair-{n}" name="chair"></div>'
        f'<div class="field"><label for="agencies_present-{n}">Agencies present</label>'
        '<p class="hint">One a line.</p>'
        f'<textarea id="agencies_present-{n}" name="agencies_present" rows="3"></textarea></div>'
        f'<button type="submit" class="decide" id="decide-{n}">Record decision</button></form>'
    )


def _agenda_item(n: int, item: Mapping[str, Any], panel_date: object, decidable: bool) -> str:
    referral = item.get("referral") or {}
    urgent = referral.get("urgent") is True
    flag = '<strong class="urgent-flag">URGENT</strong> ' if urgent else ""
    deferred = item.get("deferred_on") or ()
    flags = item.get("flags") or {}
    facts = _facts(
        [
            ("Person", _person_link(referral.get("person_id"))),
            ("Referring agency", _e(referral.get("referring_agency"))),
            ("Proposed cohort", _e(referral.get("proposed_cohort"))),
            ("Index offence", _e(referral.get("index_offence"))),
            ("Submitted", _time(referral.get("submitted_at"))),
            ("Urgent", _yes_no(referral.get("urgent"))),
            ("Deferred at", ", ".join(_e(d) for d in deferred) or "not deferred before"),
            *render_selection.flag_rows(flags),
        ]
    )
    return (
        f'<section class="item{" urgent" if urgent else ""}" '
        f'data-referral-id="{_e(referral.get("referral_id"))}">'
        f"<h2>{flag}{n}. Referral {_e(referral.get('referral_id'))}</h2>"
        f"{render_selection.mappa_banner(flags, f'mappa-{n}')}{facts}"
        "<h3>Why IOM would help (referrer)</h3>"
        f'<p class="reason prose">{_e(referral.get("reason"))}</p>'
        f"{_assessment(item.get('assessment'), 'h3')}"
        f"<h3>Current grade {_rag_badge(item.get('rag'))}"
        f"{render_selection.rosh(flags.get('rosh_level'))}</h3>"
        f"{_bullets(item.get('grade_reasons') or (), 'no grade reasons')}"
        f"{_decision_form(n, referral, panel_date) if decidable else _not_yet(panel_date)}"
        "</section>"
    )


def agenda(doc: Mapping[str, Any]) -> str:
    """A MACC selection panel agenda: every pending referral, urgent first, with a decision form;
    on a panel day, beneath today's sitting, what is already waiting for the next one."""
    panel_date = doc.get("panel_date")
    body = f"<h1>MACC selection panel: {_e(doc.get('force'))}, {_time(panel_date)}</h1>"
    body += _sitting_items(doc.get("items") or (), panel_date, 1, True)
    following = doc.get("next_sitting")
    if following:
        next_date = following.get("panel_date")
        listed = following.get("items") or ()
        body += (
            '<section id="next-sitting"><h2 id="next-sitting-title">'
            f"Waiting for the next sitting, {_time(next_date)}</h2>"
            "<p>Made on the panel day: the next sitting considers these.</p>"
            f"{_sitting_items(listed, next_date, 1 + len(doc.get('items') or ()), False)}"
            "</section>"
        )
    return _page(f"MACC panel {doc.get('force')} {panel_date}", body)


def _sitting_items(
    items: Sequence[Mapping[str, Any]], panel_date: object, first: int, decidable: bool
) -> str:
    # Numbered on from the sitting above, so every element on the page has its own id.
    return "".join(
        _agenda_item(n, item, panel_date, decidable) for n, item in enumerate(items, first)
    ) or '<p class="none">No referrals are waiting for this panel.</p>'


def _not_yet(panel_date: object) -> str:
    return f'<p class="not-yet">Decided at the sitting on {_time(panel_date)}.</p>'


# --- Small pages --------------------------------------------------------------------------------


def not_found(what: str) -> str:
    """404: ``what`` names what was looked for, e.g. "referral 3f2a…"."""
    body = f'<h1>Not found</h1><p id="not-found">No {_e(what)} was found.</p>'
    return _page("Not found", body)


def refused(status: int, why: str) -> str:
    """A refused request (400, 403, 409, 422...) and why, in words the user can act on."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Refused"
    body = f'<h1>{_e(phrase)}</h1><p id="status">{_e(status)}</p><p id="why">{_e(why)}</p>'
    return _page(phrase, body)
