"""The evidence pack (printable page and PDF), the Leaflet map's data, zone breaches on the
map, and the console card in words (lead officer, RoSH beside the grade, victim safety)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from iomkit.identity.principal import Principal
from iomkit.settings import SettingsError
from services.notifications import config, evidence, mapsvg, pages
from services.notifications.console import Board, card
from services.notifications.routing import Directory, case_alert_subject
from tests.unit.notifications import support
from tests.unit.notifications.support import T0

OFFICER = Principal("hants", ("Hampshire",), "POLICE")
PDU = Principal("pdu", ("Hampshire",), "PROBATION")
HUB = Principal("hub", ("*",), "CENTRAL")
CRIME = {"crime_ref": "44/X/26", "version": 1, "lat": 50.9097, "lon": -1.4044,
         "location_accuracy_m": 25.0, "force": "Thames Valley", "committed_from": T0,
         "committed_to": T0 + timedelta(minutes=30)}
QUALIFIED = {"outcome": "CONFIRMED", "by": "dc.rivers", "at": "2026-03-02T16:00:00+00:00",
             "reason": "trail passes the rear garden during the burglary", "revision": 1}
ZONE = {"zone_id": "Z-1", "person_id": "P-1", "kind": "EXCLUSION", "version": 2,
        "polygon": [[50.911, -1.407], [50.911, -1.402], [50.9085, -1.402], [50.9085, -1.407],
                    [50.911, -1.407]], "active_from": T0, "active_to": None}


def the_pack(qualification: dict | None = QUALIFIED) -> dict:
    return evidence.pack(support.hit(), CRIME, qualification, force="Hampshire",
                         lead_officer=None, rosh_level="HIGH",
                         made_for="dc.rivers (POLICE, Hampshire)",
                         purpose="attach to case file", now=T0 + timedelta(hours=3))


def test_the_pdf_parses_and_holds_the_crime_the_trail_the_map_and_the_qualification() -> None:
    body = evidence.pdf(the_pack())
    assert body.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(body))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "44/X/26" in text and "burglary dwelling" in text
    assert "reported by Thames Valley" in text and "lead officer not allocated" in text
    assert "confirmed (the person is linked to the crime) by dc.rivers" in text
    assert "trail passes the rear garden" in text
    # the trail, each fix on the UK clock with its distance and grid reference
    assert "Mon 2 Mar 2026, 14:03:00 GMT" in text and "71 m" in text and "SU 41970 12484" in text
    # the map, embedded as vector graphics: its scale bar and north
    assert "200 m" in text and re.search(r"\bN\b", text)
    assert reader.metadata.title.startswith("Evidence pack")


def test_the_printable_page_has_the_map_and_no_script() -> None:
    page = evidence.html(the_pack(None), "n0nce")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'class="evidence-map"' in page
    assert page.count('class="fix"') == 3 and 'class="crime"' in page
    assert 'class="north"' in page and 'class="scale-bar"' in page
    assert "<script" not in page and '<style nonce="n0nce">' in page
    assert "not yet qualified" in page and "@media print" in page
    assert "risk of serious harm (RoSH)</th><td>high" in page


def test_leaflet_data_crime_fixes_and_coloured_gaps() -> None:
    data = evidence.trail_geojson(support.hit()["fixes"], CRIME)
    roles = [f["properties"]["role"] for f in data["features"]]
    assert roles == ["crime", "fix", "fix", "fix", "gap", "gap"]
    crime = data["features"][0]
    assert crime["geometry"]["coordinates"] == [-1.4044, 50.9097]  # GeoJSON: lon, lat
    assert crime["properties"]["label"].startswith("crime 44/X/26: SU 41970 12417")
    assert data["features"][2]["properties"]["label"].startswith(
        "14:03:00 GMT ±10 m, 71 m from the crime: SU 41970 12484")
    assert [f["properties"]["colour"] for f in data["features"][4:]] == ["#e9a100", "#d62828"]
    assert data["features"][5]["properties"]["label"] == "gap 17 min 00 s"


def test_a_zone_breach_on_the_map() -> None:
    breach = {**support.breach(), "victim_safety": True,
              "first_fix_at": datetime(2026, 10, 25, 1, 30, tzinfo=UTC)}
    data = evidence.zone_geojson(ZONE, breach)
    zone = data["features"][0]
    assert zone["geometry"]["type"] == "Polygon"
    assert zone["geometry"]["coordinates"][0][0] == [-1.407, 50.911]
    assert zone["properties"]["label"] == ("exclusion zone Z-1 (a victim's): entered an "
                                           "exclusion zone, first fix Sun 25 Oct 2026, "
                                           "01:30:00 GMT")
    svg = mapsvg.render_zone(ZONE["polygon"], "#d62828", zone["properties"]["label"])
    assert 'class="zone"' in svg and 'class="north"' in svg and 'class="scale-bar"' in svg
    assert svg.count(",") >= 5 and "(a victim&#x27;s)" in svg


def test_the_svg_map_shows_north() -> None:
    svg = mapsvg.render(support.hit()["fixes"], CRIME)
    assert re.search(r'<g class="north"[^>]*>.*>N</text></g>', svg)


def test_the_card_in_words_with_lead_officer_rosh_and_victim_safety() -> None:
    directory = Directory()
    directory.person("P-1", "Hampshire", "VERY_HIGH")
    board = Board(directory, clock=lambda: T0)
    board.hit({**support.hit(), "crime_force": "Thames Valley"})
    board.breach({**support.breach(), "victim_safety": True})
    hit, breach = board.items["h1"], board.items["b1"]
    shown = card(hit, OFFICER, "Hampshire", True, board.subject_of(hit))
    rows = dict(shown["rows"])
    assert rows["lead officer"] == "not allocated" == shown["lead_officer"]
    assert rows["nearest distance to the crime"] == "5 m"
    assert rows["detected"] == "Mon 2 Mar 2026, 15:00:00 GMT"
    assert rows["force that reported the crime"] == "Thames Valley"
    assert rows["risk of serious harm (RoSH)"] == "very high"
    assert shown["flags"] == ["RoSH very high"] and shown["at_local"].endswith("15:00 GMT")
    assert "rosh_level" not in shown["fields"]  # beside the grade, never in the ISA fields
    directory.cohort("P-1", "REGISTERED", "DC Rivers")
    assert dict(card(hit, PDU, "Hampshire", True, board.subject_of(hit))["rows"])[
        "lead officer"] == "DC Rivers"
    on_breach = card(breach, OFFICER, "Hampshire", False, board.subject_of(breach), True)
    assert on_breach["victim_safety"] and "victim safety" in on_breach["flags"]
    assert on_breach["zone_map"] and on_breach["title"] == "entered an exclusion zone: Z-1"
    assert not card(breach, HUB, "Hampshire", False, None, True)["zone_map"]  # no locations
    # a breach record from before victim_safety existed
    board.breach({**support.breach(), "breach_id": "b2"})
    plain = card(board.items["b2"], OFFICER, "Hampshire", False, None)
    assert not plain["victim_safety"] and plain["flags"] == [] and not plain["zone_map"]


def test_rosh_is_in_the_routing_context_and_a_reassessment_replaces_it() -> None:
    directory = Directory()
    directory.person("P-1", "Hampshire", "HIGH")
    assert directory.get("P-1").context()["rosh_level"] == "HIGH"
    directory.person("P-1", "Hampshire", None)  # no longer assessed: forgotten
    assert directory.get("P-1").rosh_level is None
    directory.person("P-1", "Hampshire", "LOW")
    alert = support.case_alert()
    assert case_alert_subject(alert, directory.get("P-1")).rosh_level == "LOW"


def test_the_page_loads_leaflet_from_this_service_and_tiles_only_from_the_server() -> None:
    page = pages.console(OFFICER, "n0nce", True, "https://tiles.force.example/{z}/{x}/{y}.png",
                         "© Force mapping")
    assert '<script nonce="n0nce" src="/console/vendor/leaflet.js"></script>' in page
    assert '<link rel="stylesheet" href="/console/vendor/leaflet.css" nonce="n0nce">' in page
    assert 'data-tiles="https://tiles.force.example/{z}/{x}/{y}.png"' in page
    assert len(re.findall(r"https?://", page)) == 1  # the tile template, nothing else
    policy = pages.csp("n0nce", "https://tiles.force.example/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tiles.force.example;" in policy
    assert "connect-src 'self'" in policy and "script-src 'nonce-n0nce'" in policy
    offline = pages.console(OFFICER, "n0nce")
    assert "leaflet.js" not in offline and 'data-tiles=""' in offline
    assert "img-src 'self' data:;" in pages.csp("n0nce")


def test_the_tile_server_setting_is_one_origin_template(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    for wrong in ("ftp://tiles.example/{z}/{x}/{y}.png", "https://tiles.example/tile.png",
                  "https://{s}.tiles.example/{z}/{x}/{y}.png"):
        monkeypatch.setenv("IOM_NOTIFY_TILE_URL", wrong)
        with pytest.raises(SettingsError, match="IOM_NOTIFY_TILE_URL"):
            config.load()
    monkeypatch.setenv("IOM_NOTIFY_TILE_URL", "https://tiles.force.example/{z}/{x}/{y}.png")
    assert config.load().tile_url.startswith("https://tiles.force.example/")
    monkeypatch.delenv("IOM_NOTIFY_TILE_URL")
    assert config.load().tile_url == ""  # default: no basemap
