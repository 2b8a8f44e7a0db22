"""Console cards, server-sent events and the evidence map."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import orjson

from iomkit.grid import grid_to_wgs84
from iomkit.identity.principal import Principal
from services.notifications import mapsvg, pages
from services.notifications.console import (
    Board,
    card,
    hit_ruling_event,
    qualification_problem,
    sse,
)
from services.notifications.routing import Directory
from tests.unit.notifications import support
from tests.unit.notifications.support import T0

OFFICER = Principal("hants", ("Hampshire",), "POLICE")
KENT = Principal("kent", ("Kent",), "POLICE")
PDU = Principal("pdu", ("Hampshire",), "PROBATION")
HOUSING = Principal("housing", ("Hampshire",), "PARTNER_HOUSING", "Southampton Housing")
HUB = Principal("hub", ("*",), "CENTRAL")


def board() -> Board:
    directory = Directory()
    directory.person("P-1", "Hampshire")
    return Board(directory, clock=lambda: T0 + timedelta(hours=1))


async def test_board_keeps_the_latest_revision_and_tells_listeners() -> None:
    b = board()
    queue = b.listen()
    assert b.hit(support.hit(2))
    assert not b.hit(support.hit(1))  # older: ignored
    assert b.breach(support.breach()) and not b.breach(support.breach())
    assert [queue.get_nowait(), queue.get_nowait()] == ["h1", "b1"]
    b.qualify("h1", {"outcome": "CONFIRMED"})
    assert queue.get_nowait() == "h1"
    assert b.hit(support.hit(3))  # a new revision keeps the qualification
    assert b.items["h1"].qualification == {"outcome": "CONFIRMED"}
    b.leave(queue)
    assert isinstance(queue, asyncio.Queue)


def test_who_sees_what() -> None:
    b = board()
    b.hit(support.hit())
    b.breach(support.breach())
    assert {i.id for i in b.visible(OFFICER)} == {"h1", "b1"}
    assert {i.id for i in b.visible(HUB)} == {"h1", "b1"}
    assert list(b.visible(KENT)) == []  # another force's person
    assert list(b.visible(HOUSING)) == []  # no hits or breaches under the agreement
    item = b.items["h1"]
    police = card(item, OFFICER, "Hampshire", True)
    assert police["map"] and police["fields"]["fixes"] == 3 and police["may_qualify"]
    probation = card(item, PDU, "Hampshire", True)
    assert not probation["map"] and "fixes" not in probation["fields"]
    assert not probation["may_qualify"]
    assert "distance_m" not in probation["fields"]


def test_sse_framing() -> None:
    frame = sse("card", {"id": "h1", "at": T0}, "h1")
    assert frame.endswith(b"\n\n")
    lines = frame.decode().splitlines()
    assert lines[0] == "event: card" and lines[1] == "id: h1"
    assert orjson.loads(lines[2].removeprefix("data: ")) == {"id": "h1",
                                                            "at": "2026-03-02T14:00:00Z"}


def test_qualification_rules_and_event() -> None:
    assert qualification_problem("MAYBE", "because") is not None
    assert qualification_problem("CONFIRMED", " ") is not None
    assert qualification_problem("RULED_OUT", "alibi: CCTV at work") is None
    event = hit_ruling_event(support.hit(), "CONFIRMED", "trail through the garden", OFFICER,
                             T0)
    assert event["type"] == "HIT_CONFIRMED" and event["person_id"] == "P-1"
    assert event["details"]["hit_id"] == "h1"
    again = hit_ruling_event(support.hit(), "CONFIRMED", "other words", HUB, T0)
    assert again["event_id"] == event["event_id"]
    out = hit_ruling_event(support.hit(), "RULED_OUT", "alibi: CCTV at work", OFFICER, T0)
    assert out["type"] == "HIT_RULED_OUT" and out["details"]["hit_id"] == "h1"
    assert out["event_id"] != event["event_id"]


def test_map_draws_trail_gaps_accuracy_crime_and_scale() -> None:
    crime = {"lat": 50.9097, "lon": -1.4044, "location_accuracy_m": 25.0,
             "crime_ref": "44/X/26"}
    svg = mapsvg.render(support.hit()["fixes"], crime)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="fix"') == 3
    gaps = re.findall(r'data-gap-s="(\d+)"[^>]*stroke="(#[0-9a-f]+)"', svg)
    assert gaps == [("180", "#e9a100"), ("1020", "#d62828")]
    assert 'class="crime"' in svg and "44/X/26" in svg
    assert 'class="scale-bar"' in svg and "<image" not in svg
    # the crime is at the centre of the map
    assert re.search(r'd="M313.0 203.0 L327.0 217.0', svg)


def test_evidence_pack_lists_grid_references_a_crime_sent_in_grid_shows_as_sent() -> None:
    # a crime the force sent as 442000 E 112000 N reaches the console as WGS84 (OSTN15)
    sent = grid_to_wgs84([442_000.0], [112_000.0])
    crime = {"lat": float(sent.lat[0]), "lon": float(sent.lon[0]),
             "location_accuracy_m": 0.0, "crime_ref": "44/G/26"}
    fixes = [*support.hit()["fixes"],
             {"recorded_at": T0 - timedelta(minutes=1), "lat": 54.597, "lon": -5.930,
              "accuracy_m": 10.0}]
    svg = mapsvg.render(fixes, crime)
    lines = re.findall(r'<text class="grid-ref" data-of="(\w+)"[^>]*>([^<]*)</text>', svg)
    assert lines[0] == ("crime", "crime 44/G/26: SU 42000 12000 (442000.0 E, 112000.0 N)")
    assert [kind for kind, _ in lines] == ["crime"] + ["fix"] * 4
    # fixes in time order, each with its reference (the Belfast one refused, not shifted)
    # times on the UK clock with their zone (2 March: GMT)
    assert lines[1][1].startswith("13:59:00 GMT ±10 m") and "no grid reference" in lines[1][1]
    assert "Ireland" in lines[1][1]
    assert re.fullmatch(r"14:00:00 GMT ±10 m, 5 m from the crime: SU 41970 12417 \(.*\)",
                        lines[2][1])
    assert "<title>14:00:00 GMT ±10 m, 5 m from the crime: SU 41970 12417" in svg


def test_map_with_tiles_and_without_a_crime() -> None:
    svg = mapsvg.render(support.hit()["fixes"], None,
                        tile_url="https://tiles.example/{z}/{x}/{y}.png")
    assert 'class="tile"' in svg and "https://tiles.example/" in svg
    assert 'class="crime"' not in svg


def test_gap_colours_and_scale_lengths() -> None:
    assert mapsvg.gap_colour(60) == "#2a9d3f"
    assert mapsvg.gap_colour(600) == "#e9a100"
    assert mapsvg.gap_colour(601) == "#d62828"
    assert [mapsvg.nice_length(x) for x in (0.7, 7, 180, 999, 2600)] == [0.5, 5, 100, 500, 2000]


def test_pages_load_nothing_from_elsewhere() -> None:
    html = pages.console(OFFICER, "n0nce")
    assert "http://" not in html and "https://" not in html
    assert '<script nonce="n0nce">' in html and "EventSource('/console/events')" in html
    assert "hants" in html
    policy = pages.csp("n0nce")
    assert "default-src 'none'" in policy and "script-src 'nonce-n0nce'" in policy
    assert "https://t.example" in pages.csp("n", "https://t.example/{z}/{x}/{y}.png")
    assert 'action="/auth/signout"' in html  # signing out is the one sign-in's


def test_hit_evidence_only_for_police_and_probation_roles() -> None:
    b = board()
    b.hit(support.hit())
    item = b.items["h1"]
    shown = card(item, OFFICER, "Hampshire", True)
    assert shown["map"] and shown["fields"]["fixes"] == 3
    hub = card(item, HUB, "Hampshire", True)
    assert b.may_see(HUB, item) and not hub["map"]
    assert not {"fixes", "distance_m", "device_id"} & set(hub["fields"])


async def test_a_console_that_does_not_keep_up_loses_its_oldest_cards_only() -> None:
    b = board()
    b.max_queued = 3
    slow, keeping_up = b.listen(), b.listen()
    for revision in range(1, 7):
        assert b.hit(support.hit(revision))
        await asyncio.sleep(0)
        if revision % 2:
            keeping_up.get_nowait()
    assert slow.qsize() == 3 and b.dropped == 3  # bounded: the three newest wait
    assert [slow.get_nowait() for _ in range(3)] == [support.hit(1)["hit_id"]] * 3
    assert keeping_up.qsize() == 3


TVP = Principal("tvp", ("Thames Valley",), "POLICE")
TVP_PDU = Principal("tvp-pdu", ("Thames Valley",), "PROBATION")


def test_a_cross_force_hit_shows_in_both_forces_consoles() -> None:
    """Contract 1.1: the crime force's police see the hit as its investigators (the
    evidence, no lead officer), and may qualify it; its probation and other forces do not."""
    b = board()
    b.hit(support.hit(crime_force="Thames Valley"))
    b.breach(support.breach())
    assert {i.id for i in b.visible(OFFICER)} == {"h1", "b1"}
    assert [i.id for i in b.visible(TVP)] == ["h1"]  # the hit, not the person's breach
    assert list(b.visible(TVP_PDU)) == [] and list(b.visible(KENT)) == []
    item = b.items["h1"]
    assert not b.investigating(OFFICER, item) and b.investigating(TVP, item)
    theirs = b.card(item, TVP, True)
    assert theirs["investigating"] and theirs["may_qualify"] and theirs["map"]
    assert "lead_officer" not in theirs["fields"]
    assert theirs["fields"]["force"] == "Hampshire"
    assert theirs["fields"]["crime_force"] == "Thames Valley"
    ours = b.card(item, OFFICER, True)
    assert not ours["investigating"] and "lead_officer" in ours["fields"]


def test_one_decision_per_hit_seen_by_both_forces() -> None:
    b = board()
    b.hit(support.hit(crime_force="Thames Valley"))
    b.qualify("h1", {"outcome": "RULED_OUT", "by": "tvp", "force": "Thames Valley",
                     "at": "2026-03-29T01:30:00+00:00", "reason": "on a bus elsewhere",
                     "revision": 1})
    for user in (OFFICER, TVP):
        shown = b.card(b.items["h1"], user, True)
        assert shown["qualification"]["by"] == "tvp" and not shown["may_qualify"]
        assert "by tvp (Thames Valley) on" in shown["qualification_text"]
