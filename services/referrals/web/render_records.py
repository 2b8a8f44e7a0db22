"""The case records sections of the management report (decisions and who made them,
de-registration, lead officer changes, the transition plan, MAP actions, notes and contacts,
with their forms), the MAP pack's carried actions and minutes form, and one meeting's minutes.
Pure HTML (escaped), in the style of render.py: no script, nothing loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from services.referrals.case.records import METHODS
from services.referrals.case.transition_plan import CONTACT_LEVELS
from services.referrals.web.render import _e, _page, _time, _url

#: Rows of the transition plan form and of the minutes form's actions.
PLAN_ROWS: Final = 6
ACTION_ROWS: Final = 6


def _options(choices: Sequence[str], selected: object = None) -> str:
    return '<option value=""></option>' + "".join(
        f'<option value="{_e(c)}"{" selected" if c == selected else ""}>'
        f'{_e(c.replace("_", " ").lower())}</option>' for c in choices)


def _words(value: object) -> str:
    return _e(str(value).replace("_", " ").lower()) if value else ""


def _rows(rows: str, columns: int, empty: str) -> str:
    return rows or f'<tr><td colspan="{columns}" class="none">{_e(empty)}</td></tr>'


def _decisions(items: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f'<tr class="decision"><td>{_time(x.get("panel_date"))}</td><td>{_e(x.get("outcome"))}'
        f'</td><td class="chair">{_e(x.get("chair") or "not recorded")}</td>'
        f'<td class="agencies">{_e(", ".join(x.get("agencies_present") or ()) or "not recorded")}'
        f'</td><td class="prose">{_e(x.get("rationale"))}</td></tr>' for x in items)
    return ('<section id="decisions"><h2>Panel decisions</h2><table><tr><th>Panel</th>'
            "<th>Outcome</th><th>Chair</th><th>Agencies present</th><th>Rationale</th></tr>"
            f"{_rows(rows, 5, 'no panel decision yet')}</table></section>")


def _management(person: object, doc: Mapping[str, Any], r: Mapping[str, Any]) -> str:
    changes = "".join(
        f'<tr class="officer-change"><td>{_time(x["at"])}</td><td>{_e(x["from"] or "none")}'
        f'</td><td>{_e(x["to"])}</td><td>{_e(x["by"])}</td><td class="prose">{_e(x["reason"])}'
        "</td></tr>" for x in r.get("lead_officer_changes") or ())
    dereg = r.get("deregistration")
    gone = (f'<p id="deregistered">De-registered by {_e(dereg["by"])} on {_time(dereg["at"])}'
            f' (was {_e(dereg["state_left"])}): <span class="prose">{_e(dereg["rationale"])}'
            "</span></p>" if dereg else "")
    managed = doc.get("state") in ("REGISTERED", "TRANSITION", "SUSPENDED")
    forms = (
        f'<form id="lead-officer-form" method="post" '
        f'action="{_url("people", person, "lead-officer")}"><h3>Reassign the lead officer</h3>'
        '<p><label>New lead officer <input name="lead_officer"></label></p>'
        '<p><label>Reason <textarea name="reason" rows="2"></textarea></label></p>'
        '<button type="submit" id="reassign">Reassign</button></form>'
        f'<form id="deregistration-form" method="post" '
        f'action="{_url("people", person, "deregistration")}"><h3>De-register</h3>'
        '<p><label>Rationale <textarea name="rationale" rows="3"></textarea></label></p>'
        '<button type="submit" id="deregister">De-register</button></form>') if managed else ""
    return ('<section id="management"><h2>Lead officer and de-registration</h2>'
            f"{gone}<table><tr><th>When</th><th>From</th><th>To</th><th>By</th><th>Reason</th>"
            f"</tr>{_rows(changes, 5, 'no reassignment')}</table>{forms}</section>")


def _transition(person: object, doc: Mapping[str, Any], plan: Mapping[str, Any] | None
                ) -> str:
    current = (plan or {}).get("current_step")
    rows = "".join(
        f'<tr class="step{" current" if current and s["from"] == current["from"] else ""}">'
        f'<td>{_time(s["from"])}</td><td>{_e(s["action"])}</td><td>{_e(s["who"])}</td>'
        f'<td class="contact">{_words(s["contact"])}</td></tr>'
        for s in (plan or {}).get("steps") or ())
    now = (f'<p id="contact-now">Contact now: {_words(current["contact"])}, since '
           f'{_time(current["from"])}</p>' if current else "")
    by = (f"<p>Recorded by {_e(plan['by'])} on {_time(plan['at'])}.</p>" if plan else "")
    form = ""
    if doc.get("state") in ("REGISTERED", "TRANSITION"):
        fields = "".join(
            f'<tr><td><input type="date" name="from_{n}" aria-label="from"></td>'
            f'<td><input name="action_{n}" aria-label="action"></td>'
            f'<td><input name="who_{n}" aria-label="who"></td>'
            f'<td><select name="contact_{n}" aria-label="contact">{_options(CONTACT_LEVELS)}'
            "</select></td></tr>" for n in range(PLAN_ROWS))
        form = (f'<form id="transition-form" method="post" '
                f'action="{_url("people", person, "transition", "plan")}">'
                "<h3>Write the plan</h3><p class=\"hint\">Each step from a date between the "
                f"transition opening ({_e(doc.get('transition_opens') or 'not known')}) and the "
                f"licence end ({_e(doc.get('licence_end') or 'not known')}); contact scaled "
                "back step by step.</p><table><tr><th>From</th><th>Action</th><th>Who</th>"
                f"<th>Contact</th></tr>{fields}</table>"
                '<button type="submit" id="save-plan">Save the plan</button></form>')
    return ('<section id="transition-plan"><h2>Transition plan</h2>'
            f"{now}{by}<table><tr><th>From</th><th>Action</th><th>Who</th><th>Contact</th></tr>"
            f"{_rows(rows, 4, 'no plan written')}</table>{form}</section>")


def _close_form(person: object, action: object) -> str:
    where = _url("people", person, "map", "actions", action, "close")
    return (f'<form method="post" action="{where}">'
            '<input name="outcome" aria-label="outcome" placeholder="outcome">'
            '<button type="submit">Close</button></form>')


def _map_actions(person: object, actions: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f'<tr class="map-action{" overdue" if a.get("overdue") else ""}" '
        f'data-action="{_e(a["action_id"])}"><td>{_time(a["meeting_date"])}</td>'
        f'<td>{_e(a["description"])}</td><td>{_e(a["owner_agency"])}</td>'
        f'<td>{_time(a["due"])}</td><td>'
        + (f'closed {_time(a["closed_on"])}: {_e(a["outcome"])}' if a["closed_on"]
           else _close_form(person, a["action_id"]))
        + "</td></tr>" for a in actions)
    return ('<section id="map-actions"><h2>MAP meeting actions</h2><table><tr><th>Meeting</th>'
            "<th>Action</th><th>Owner</th><th>Due</th><th>Status</th></tr>"
            f"{_rows(rows, 5, 'no MAP actions')}</table></section>")


def _notes(person: object, notes: Sequence[Mapping[str, Any]],
           contacts: Sequence[Mapping[str, Any]]) -> str:
    contact_rows = "".join(
        f'<tr class="contact"><td>{_time(c["contact_at"])}</td><td>{_e(c["by"])}</td>'
        f'<td>{_e(c["agency"])}</td><td>{_words(c["method"])}</td>'
        f'<td class="prose">{_e(c.get("summary") or "")}</td></tr>' for c in contacts)
    note_rows = "".join(
        f'<li class="note"><p>{_time(n["at"])} {_e(n["author"])}'
        f'{" (" + _e(n["agency"]) + ")" if n.get("agency") else ""}</p>'
        f'<p class="prose">{_e(n["text"])}</p></li>' for n in notes)
    return (
        '<section id="contacts"><h2>Contact log</h2><table><tr><th>When</th><th>Who</th>'
        f"<th>Agency</th><th>How</th><th>Summary</th></tr>{_rows(contact_rows, 5, 'none')}"
        f'</table><form id="contact-form" method="post" '
        f'action="{_url("people", person, "contacts")}"><h3>Log a contact</h3>'
        '<p><label>When <input type="datetime-local" name="contact_at"></label> '
        '<label>Agency <input name="agency"></label> '
        f'<label>How <select name="method">{_options(METHODS)}</select></label></p>'
        '<p><label>Summary <textarea name="summary" rows="2"></textarea></label></p>'
        '<button type="submit" id="log-contact">Log contact</button></form></section>'
        '<section id="notes"><h2>Case notes</h2>'
        + (f"<ul>{note_rows}</ul>" if note_rows else '<p class="none">none</p>')
        + f'<form id="note-form" method="post" action="{_url("people", person, "notes")}">'
        '<p><label>Note <textarea name="text" rows="3"></textarea></label></p>'
        '<p><label>Agency <input name="agency"></label></p>'
        '<button type="submit" id="add-note">Add note</button></form></section>')


def record_sections(doc: Mapping[str, Any]) -> str:
    """The sections for ``report(doc)['records']``; notes and contacts only when the view
    holds them (the case roles')."""
    person, r = doc.get("person_id"), doc.get("records") or {}
    notes = _notes(person, r["notes"], r["contacts"]) if "notes" in r else ""
    return (_decisions(r.get("decisions") or ()) + _management(person, doc, r)
            + _transition(person, doc, r.get("transition_plan"))
            + _map_actions(person, r.get("map_actions") or ()) + notes)


# -- the MAP pack and the minutes ----------------------------------------------------------------


def carried_actions(actions: Sequence[Mapping[str, Any]]) -> str:
    """The MAP pack's actions still open from earlier meetings, overdue marked."""
    rows = "".join(
        f'<tr class="carried{" overdue" if a["overdue"] else ""}" '
        f'data-action="{_e(a["action_id"])}"><td>'
        f'<a href="{_url("people", a["person_id"], "report")}">{_e(a["person_id"])}</a></td>'
        f'<td>{_e(a["description"])}</td><td>{_e(a["owner_agency"])}</td>'
        f'<td>{_time(a["due"])}</td><td>{_time(a["meeting_date"])}</td></tr>' for a in actions)
    return ('<h3>Actions carried from earlier meetings</h3><table class="carried-actions">'
            "<tr><th>Person</th><th>Action</th><th>Owner</th><th>Due</th><th>Agreed</th></tr>"
            f"{_rows(rows, 5, 'none open')}</table>")


def minutes_form(force: object, today: object) -> str:
    rows = "".join(
        f'<tr><td><input name="person_id_{n}" aria-label="person"></td>'
        f'<td><input name="description_{n}" aria-label="action"></td>'
        f'<td><input name="owner_agency_{n}" aria-label="owner agency"></td>'
        f'<td><input type="date" name="due_{n}" aria-label="due"></td></tr>'
        for n in range(ACTION_ROWS))
    return (
        '<form class="minutes-form" method="post" action="/map/minutes">'
        f'<h3>Minutes of this meeting</h3><input type="hidden" name="force" value="{_e(force)}">'
        f'<p><label>Date <input type="date" name="meeting_date" value="{_e(today)}"></label> '
        '<label>Chair <input name="chair"></label></p>'
        '<p><label>Attendees (name and agency, one a line) <textarea name="attendees" '
        'rows="3"></textarea></label></p>'
        '<p><label>People discussed (ids, one a line) <textarea name="discussed" rows="3">'
        "</textarea></label></p><table><tr><th>Person</th><th>Action</th><th>Owner agency</th>"
        f"<th>Due</th></tr>{rows}</table>"
        '<button type="submit">Record the minutes</button></form>')


def minutes_page(doc: Mapping[str, Any]) -> str:
    """One MAP meeting's minutes: attendees, people discussed, actions."""
    if not doc.get("discussed"):
        return _page("MAP minutes", f"<h1>MAP minutes: {_e(doc.get('force'))}</h1>"
                     '<p class="none">No minutes of that meeting.</p>')
    attendees = "".join(f"<li>{_e(a)}</li>" for a in doc["attendees"])
    discussed = "".join(
        f'<li class="discussed"><a href="{_url("people", p["person_id"], "report")}">'
        f'{_e(p["person_id"])}</a> <span class="prose">{_e(p["summary"])}</span></li>'
        for p in doc["discussed"])
    actions = "".join(
        f'<tr class="map-action"><td>{_e(a["person_id"])}</td><td>{_e(a["description"])}</td>'
        f'<td>{_e(a["owner_agency"])}</td><td>{_time(a["due"])}</td>'
        f'<td>{"closed " + _e(a["closed_on"]) if a["closed_on"] else "open"}</td></tr>'
        for a in doc["actions"])
    body = (f"<h1>MAP minutes: {_e(doc['force'])}, {_time(doc['meeting_date'])}</h1>"
            f"<p>Chair: {_e(doc.get('chair') or 'not recorded')}</p>"
            f'<h2>Attendees</h2><ul id="attendees">{attendees}</ul>'
            f'<h2>People discussed</h2><ul id="discussed">{discussed}</ul>'
            '<h2>Actions</h2><table id="actions"><tr><th>Person</th><th>Action</th>'
            f"<th>Owner</th><th>Due</th><th>Status</th></tr>{_rows(actions, 5, 'none')}</table>")
    return _page("MAP minutes", body)
