"""The case records sections of the report, the MAP pack's carried actions and the minutes
page: well-formed, escaped, notes only when the view holds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.referrals.case import minutes, records
from services.referrals.case.dossier import Outputs
from services.referrals.web import render, render_records
from tests.unit.referrals.case.test_dossier import NOW, RS, registered
from tests.unit.referrals.web.test_render import dom, form_field_names


def filled() -> dict:
    d = registered()
    at = NOW.isoformat()
    for n, (name, fields) in enumerate((
            ("add_note", {"text": "<script>alert(1)</script> says he is well",
                          "author": "PO Patel"}),
            ("log_contact", {"contact_at": at, "agency": "Southampton Housing",
                             "method": "VISIT", "by": "H. Officer"}),
            ("reassign_lead", {"lead_officer": "OM Ben Ode", "reason": "OM Jones on leave",
                               "by": "SPO"}))):
        records.command(d, {"command": name, "person_id": "P-1", "at": at,
                            "id": f"id-{n}", **fields}, Outputs(), RS)
    taken = minutes.check_minutes({
        "force": "Hampshire", "meeting_date": "2026-11-24", "attendees": ["DI Cole"],
        "discussed": ["P-1"], "actions": [{"person_id": "P-1", "description": "housing",
                                           "owner_agency": "Housing", "due": "2026-11-24"}]},
        NOW.date())
    records.command(d, minutes.commands(taken, at)[0], Outputs(), RS)
    return d


def doc_of(d: dict, case_role: bool = True) -> dict:
    kept = records.view(d, NOW)
    if not case_role:
        kept = {k: v for k, v in kept.items() if k not in records.CASE_ONLY}
    return {"person_id": "P-1", "state": d["case"]["state"], "records": kept,
            "licence_end": "2027-06-30", "transition_opens": "2027-05-05"}


def test_the_report_sections_show_every_record_escaped_with_their_forms():
    html = render._page("r", render_records.record_sections(doc_of(filled())))
    root = dom(html)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert root.one("section", id="notes") and root.one("section", id="contacts")
    assert "OM Ben Ode" in root.one("section", id="management").text
    assert root.one("tr", class_="map-action").get("data-action")
    assert "overdue" in root.one("tr", class_="map-action").classes  # due the day before
    assert set(form_field_names(root.one("form", id="transition-form"))) >= {
        "from_0", "action_0", "who_0", "contact_0"}
    assert form_field_names(root.one("form", id="deregistration-form")) == ["rationale"]


def test_a_role_outside_the_case_sees_no_notes_or_contacts():
    html = render._page("r", render_records.record_sections(doc_of(filled(), False)))
    root = dom(html)
    assert root.all("section", id="notes") == [] and root.all("section", id="contacts") == []
    assert "says he is well" not in html


def test_the_pack_carries_open_actions_and_the_minutes_page_lists_the_meeting():
    d = filled()
    open_now = minutes.open_actions([("P-1", d["records"]["map"])],
                                    (NOW + timedelta(days=1)).date())
    pack = {"since": "2026-11-18", "until": "2026-11-25", "forces": [
        {"force": "Hampshire", "cohort": [], "changes": {}, "open_actions": open_now}]}
    root = dom(render.map_pack(pack, lambda f: render_records.carried_actions(
        f["open_actions"]) + render_records.minutes_form(f["force"], pack["until"])))
    [row] = root.all("tr", class_="carried")
    assert "overdue" in row.classes and "housing" in row.text
    assert "meeting_date" in form_field_names(root.one("form", class_="minutes-form"))
    doc = minutes.meeting_of([("P-1", d["records"]["map"])], "Hampshire", None)
    page = dom(render_records.minutes_page(doc))
    assert "DI Cole" in page.one("ul", id="attendees").text
    assert datetime(2026, 11, 24, tzinfo=UTC).date().isoformat() in page.one("h1").text


def test_the_whole_report_with_care_and_records_is_one_well_formed_page():
    from services.referrals.care import casework
    from services.referrals.case import dossier
    from services.referrals.web import render_care

    d = filled()
    doc = {**dossier.report(d, NOW, RS), "care": casework.view(d, NOW),
           "records": records.view(d, NOW)}
    root = dom(render.report(doc, render_care.care_sections(doc)
                             + render_records.record_sections(doc)))
    assert root.one(id="lead-officer").text == "OM Ben Ode"
    assert root.one("section", id="decisions").all("tr", class_="decision")
