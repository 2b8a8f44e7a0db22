"""The selection signals and victim safety on the report and the panel agenda (pure HTML)."""

from __future__ import annotations

from typing import Any

from services.referrals.web import render, render_selection
from tests.unit.referrals.web.test_render import agenda_doc, agenda_item, dom, report_doc

EVIL = '<script>alert("x")</script>'


def selection(**changes: Any) -> dict[str, Any]:
    return {"mappa_level": "LEVEL_2", "mappa_managed": True, "ppo": True, "rosh_level": "HIGH",
            "priority_flags": ["DOMESTIC_ABUSE"],
            "prolific": {"prolific": True, "reason": "prolific: 3 neighbourhood crime "
                         "convictions from 2025-11-25 to 2026-11-25"},
            "sentence": {"event_id": "S-1", "type": "SENTENCED_CUSTODY", "on": "2026-10-01",
                         "length": "8 months", "short": True},
            "victim_safety_zones": [{"zone_id": "Z-1", "kind": "EXCLUSION",
                                     "active_from": "2026-10-01T00:00:00+00:00",
                                     "active_to": None, "active_now": True, "breaches": 2}],
            **changes}


def test_the_report_shows_rosh_beside_the_rag_and_the_signals_and_victim_zones() -> None:
    doc = report_doc(selection=selection())
    page = dom(render.report(doc, render_selection.report_sections(doc["selection"])))
    rag, rosh = page.by_id("rag"), page.by_id("rosh")
    assert rag.text == "RED" and rosh.text == "RoSH: high"
    assert rosh.parent is rag.parent  # beside the grade, its own element
    assert "level 2" in page.by_id("mappa-flag").text
    section = page.by_id("selection").text
    assert "yes (prolific and priority offender)" in section and "domestic abuse" in section
    assert "8 months custody, 2026-10-01 (short sentence: under 12 months)" in section
    zones = page.by_id("victim-safety").all("tr", **{"class": "victim-zone"})
    assert [z["data-zone-id"] for z in zones] == ["Z-1"]
    assert "applies now" in zones[0].text


def test_without_the_facts_the_report_says_not_assessed_and_has_no_mappa_flag() -> None:
    doc = report_doc(selection=selection(mappa_level=None, mappa_managed=False, ppo=False,
                                         rosh_level=None, victim_safety_zones=[],
                                         sentence=None))
    page = dom(render.report(doc, render_selection.report_sections(doc["selection"])))
    assert page.by_id("rosh").text == "RoSH: not assessed"
    assert not page.has_id("mappa-flag")
    assert "No victim-safety zones." in page.by_id("victim-safety").text
    assert dom(render.report(report_doc())).by_id("rosh").text == "RoSH: not assessed"


def test_a_mappa_managed_person_is_flagged_on_the_agenda_and_the_panel_still_decides() -> None:
    flagged = agenda_item("R-5", False) | {"flags": selection(priority_flags=[EVIL])}
    doc = agenda_doc() | {"items": [flagged, agenda_item("R-6", False)]}
    html = render.agenda(doc)
    assert EVIL not in html  # escaped
    page = dom(html)
    banner = page.by_id("mappa-1")
    assert banner["data-mappa-level"] == "LEVEL_2" and "the panel decides" in banner.text
    assert not page.has_id("mappa-2")
    assert page.has_id("decide-1")  # no automatic refusal: the decision form is there
    items = page.all("section", **{"class": "item"})
    assert "RoSH: high" in items[0].text and "RoSH: not assessed" in items[1].text
