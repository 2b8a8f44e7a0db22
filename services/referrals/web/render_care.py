"""Needs, plan and checklist sections of the management report, and a partner's "my
actions" page. Pure HTML (escaped), in the style of render.py: no script, nothing loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.referrals.care.checks import PATHWAYS
from services.referrals.care.gate import CHECKLIST_ITEMS, ITEM_STATUSES
from services.referrals.care.needs import LEVELS, NEED_LABELS, NEEDS
from services.referrals.web.render import _e, _page, _url


def _options(choices: Sequence[str], blank: str | None = None) -> str:
    first = f'<option value="">{_e(blank)}</option>' if blank is not None else ""
    return first + "".join(f'<option value="{_e(c)}">{_e(c)}</option>' for c in choices)


def _needs(person: object, current: Mapping[str, Any]) -> str:
    rows = []
    for need in NEEDS:
        held = current.get(need)
        level = held["level"] if held else "not assessed"
        how = f"{held['assessed_by']}, {held['assessed_on']}: {held['evidence']}" if held else ""
        rows.append(f'<tr class="need" data-need="{_e(need)}"><td>{_e(NEED_LABELS[need])}</td>'
                    f'<td class="level level-{_e(level).lower().replace(" ", "-")}">'
                    f"{_e(level)}</td><td>{_e(how)}</td></tr>")
    fields = "".join(
        f'<tr><td><label for="level-{_e(n)}">{_e(NEED_LABELS[n])}</label></td>'
        f'<td><select id="level-{_e(n)}" name="level_{_e(n)}">{_options(LEVELS, "unchanged")}'
        f'</select></td><td><input name="evidence_{_e(n)}" aria-label="evidence"></td></tr>'
        for n in NEEDS)
    form = (f'<form id="needs-form" method="post" action="{_url("people", person, "needs")}">'
            '<h3>New assessment</h3><p><label>Assessed by <input name="assessed_by"></label> '
            '<label>on <input type="date" name="assessed_on"></label></p>'
            f"<table>{fields}</table><button type=\"submit\" id=\"assess\">Record assessment"
            "</button></form>")
    return (f'<section id="needs"><h2>Needs (the seven pathways)</h2><table>'
            f"<tr><th>Need</th><th>Level</th><th>Assessed</th></tr>{''.join(rows)}</table>"
            f"{form}</section>")


def _plan(person: object, plan: Mapping[str, Any] | None, lead_officer: object) -> str:
    actions = (plan or {}).get("actions") or []
    rows = "".join(
        f'<tr class="action" data-action="{_e(a["action_id"])}"><td>{_e(a["need"])}</td>'
        f'<td>{_e(a["pathway"])}</td><td>{_e(a["partner_agency"])}</td>'
        f'<td>{_e(a["description"])}</td><td>{_e(a["due"])}</td>'
        f'<td>{_e(a["agreed_by"])}</td><td>{_e(a.get("outcome") or "open")}</td></tr>'
        for a in actions) or '<tr><td colspan="7" class="none">no actions yet</td></tr>'
    due = f'<p id="plan-review-due">Plan review due {_e(plan["review_due"])}</p>' if plan else ""
    form = (
        f'<form id="action-form" method="post" '
        f'action="{_url("people", person, "plan", "actions")}"><h3>Add an action</h3>'
        f'<p><label>Need <select name="need">{_options(NEEDS)}</select></label> '
        f'<label>Pathway <select name="pathway">{_options(PATHWAYS)}</select></label></p>'
        '<p><label>Partner agency <input name="partner_agency"></label> '
        '<label>Due <input type="date" name="due"></label></p>'
        '<p><label>Action <input name="description" size="60"></label></p>'
        f'<p><label>Agreed by the Offender Manager ({_e(lead_officer or "none named")}) '
        '<input name="agreed_by"></label></p>'
        '<button type="submit" id="add-action">Add action</button></form>')
    return (f'<section id="plan"><h2>Intervention plan</h2>{due}<table>'
            "<tr><th>Need</th><th>Pathway</th><th>Partner</th><th>Action</th><th>Due</th>"
            f"<th>Agreed by</th><th>Outcome</th></tr>{rows}</table>{form}</section>")


def _checklist(person: object, g: Mapping[str, Any]) -> str:
    checklist = g.get("checklist")
    facts = (f"<p>Received {_e(g.get('received_on') or '-')}; release date "
             f"{_e(g.get('release_date') or 'not set')}; checklist opens "
             f"{_e(g.get('checklist_opens') or '-')}; released {_e(g.get('released_on') or '-')}"
             "</p>")
    if checklist is None:
        return (f'<section id="checklist"><h2>Through the gate</h2>{facts}'
                '<p class="none">the pre-release checklist is not open</p></section>')
    rows = "".join(
        f'<tr class="item" data-item="{_e(item)}"><td>{_e(item)}</td><td>{_e(v["agency"])}</td>'
        f'<td class="status">{_e(v["status"])}</td><td>{_e(v.get("by") or "")}</td><td>'
        f'<form method="post" action="{_url("people", person, "checklist", item)}">'
        f'<select name="status" aria-label="status">{_options(ITEM_STATUSES)}</select>'
        '<input name="by" aria-label="by"><input type="date" name="on" aria-label="on">'
        f'<button type="submit">Update</button></form></td></tr>'
        for item, v in checklist["items"].items() if item in CHECKLIST_ITEMS)
    return (f'<section id="checklist"><h2>Through the gate</h2>{facts}<table>'
            "<tr><th>Item</th><th>Owner</th><th>Status</th><th>By</th><th></th></tr>"
            f"{rows}</table></section>")


def care_sections(doc: Mapping[str, Any]) -> str:
    """The needs, plan, checklist and SASH sections for ``report(doc)['care']``."""
    person, view = doc.get("person_id"), doc.get("care") or {}
    sash = view.get("sash")
    flag = (f'<section id="sash" class="overdue"><h2>SASH</h2><p>Suicide and self-harm '
            f'concern since {_e(sash["since"])} ({_e(sash["source"])})</p></section>'
            if sash else "")
    # a role without health information gets neither needs nor SASH (isa.HEALTH_SECTIONS)
    needs = _needs(person, view["needs"] or {}) if "needs" in view else ""
    return (flag + needs
            + _plan(person, view.get("plan"), doc.get("lead_officer"))
            + _checklist(person, view.get("gate") or {}))


def my_actions(agency: str, actions: Sequence[Mapping[str, Any]]) -> str:
    """A partner agency's open actions across the cohort, by due date."""
    rows = "".join(
        f'<tr class="action" data-action="{_e(a["action_id"])}"><td>'
        f'<a href="{_url("people", a["person_id"], "report")}">{_e(a["person_id"])}</a></td>'
        f'<td>{_e(a["need"])}</td><td>{_e(a["description"])}</td><td>{_e(a["due"])}</td></tr>'
        for a in actions) or '<tr><td colspan="4" class="none">nothing owed</td></tr>'
    return _page(f"Actions owed by {agency}",
                 f'<h1 id="agency">Actions owed by {_e(agency)}</h1><table id="actions">'
                 f"<tr><th>Person</th><th>Need</th><th>Action</th><th>Due</th></tr>{rows}"
                 "</table>")
