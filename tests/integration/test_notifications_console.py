"""The live hit console on the real broker: unauthenticated and wrong-force requests are
refused and audited; in headless Chromium a hit published to Kafka appears on an officer's
page in words (UK time, lead officer, RoSH), is clicked (its evidence map drawn by the
vendored Leaflet over a local tile server: the only place the page loads from besides the
service, with no policy violation), its evidence pack fetched as a PDF and a printable page,
qualified as confirmed with a reason, and the OffenderEvent HIT_CONFIRMED arrives on
iom.offender.events; a zone breach is drawn on the map too. The crime was reported by
another force (contract 1.1, CrimeHit.crime_force): the hit appears live in that force's
police console too, with the investigating force's fields, the first force's decision shows
there and a second decision is refused; its police subscription is paged, its probation
sees nothing. A screenshot is kept in var/artefacts/."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from playwright.async_api import async_playwright
from pypdf import PdfReader

from iomkit import testing, topics
from iomkit.identity.users import add_user
from iomkit.jsonconv import from_json
from iomkit.settings import ROOT

pytestmark = pytest.mark.integration
ARTEFACTS = ROOT / "var" / "artefacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CRIME_AT = (50.9097, -1.4044)


def person(codec: Any, person_id: str, force: str) -> dict[str, Any]:
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    raw.update(person_id=person_id, force=force)
    return from_json(codec.registry.current("Person").raw, raw)


def crime_and_hit(run: str, person_id: str, crime_force: str = "Hampshire"
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    start = testing.now().replace(microsecond=0) - timedelta(hours=2)
    crime = {"crime_ref": f"44/{run}/26", "version": 1, "offence": "BURGLARY_DWELLING",
             "lat": CRIME_AT[0], "lon": CRIME_AT[1], "location_accuracy_m": 15.0,
             "committed_from": start, "committed_to": start + timedelta(minutes=30),
             "reported_at": start + timedelta(hours=1), "force": crime_force,
             "type_description": None, "batch_id": None, "crime_text": None}
    # a trail past the crime with a 4-minute and a 14-minute gap
    minutes = [0, 1, 2, 6, 7, 21]
    fixes = [{"recorded_at": start + timedelta(minutes=m), "lat": CRIME_AT[0] + (m - 7) * 1e-4,
              "lon": CRIME_AT[1] + (m - 7) * 1.5e-4, "accuracy_m": 8.0 + m,
              "distance_m": abs(m - 7) * 15.0} for m in minutes]
    hit = {"hit_id": f"hit-console-{run}", "revision": 1, "status": "ACTIVE",
           "crime_ref": crime["crime_ref"], "crime_version": 1,
           "offence": "BURGLARY_DWELLING", "person_id": person_id, "device_id": f"TAG-{run}",
           "distance_m": 0.0, "nearest_fix_at": start + timedelta(minutes=7), "fixes": fixes,
           "detected_at": testing.now(), "rule_version": 1, "crime_force": crime_force}
    return crime, hit


def zone_and_breach(run: str, person_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    at = testing.now().replace(microsecond=0) - timedelta(hours=1)
    lat, lon = CRIME_AT
    ring = [[lat + 0.001, lon - 0.002], [lat + 0.001, lon + 0.002], [lat - 0.001, lon + 0.002],
            [lat - 0.001, lon - 0.002], [lat + 0.001, lon - 0.002]]
    zone = {"zone_id": f"Z-console-{run}", "person_id": person_id, "kind": "EXCLUSION",
            "polygon": ring, "active_from": at - timedelta(days=1), "active_to": None,
            "version": 1}
    breach = {"breach_id": f"ZB-console-{run}", "zone_id": zone["zone_id"],
              "person_id": person_id, "device_id": f"TAG-{run}", "kind": "ENTERED_EXCLUSION",
              "first_fix_at": at, "detected_at": at + timedelta(seconds=50)}
    return zone, breach


async def tile_server() -> tuple[web.AppRunner, str, list[str]]:
    """A force's tile server, here: one PNG for every tile, and the paths asked for."""
    image = io.BytesIO()
    Image.new("RGB", (256, 256), (214, 226, 208)).save(image, "PNG")
    asked: list[str] = []

    async def tile(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(body=image.getvalue(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/{z}/{x}/{y}.png", tile)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}", asked


async def login(session: aiohttp.ClientSession, base: str, username: str, password: str
                ) -> dict[str, str]:
    async with session.post(f"{base}/auth/signin", data={"username": username,
                                                         "password": password},
                            headers={"Origin": base}, allow_redirects=False) as answer:
        assert answer.status == 303, await answer.text()
        for name in ("tc_token", "tc_session"):
            morsel = answer.cookies[name]
            assert morsel["httponly"] and morsel["samesite"] == "Strict"
        return {"Cookie": f"tc_token={answer.cookies['tc_token'].value}"}


async def test_console_refusals_and_chromium_flow(settings, codec, start_service, tmp_path):
    run = uuid.uuid4().hex[:8]
    force = f"Consoleshire {run}"
    subject = f"P-console-{run}"
    crime_force = f"Crimeshire {run}"  # the force that reported the crime
    known = [force, crime_force]
    users = tmp_path / "users.toml"
    add_user(users, "officer", "officer password 1", force, "POLICE", known)
    add_user(users, "kent", "kent password 12", "Kent", "POLICE", known)
    add_user(users, "pdu", "probation password", force, "PROBATION", known)
    add_user(users, "investigator", "investigator pass", crime_force, "POLICE", known)
    add_user(users, "crime-pdu", "crime probation pw", crime_force, "PROBATION", known)
    subs = tmp_path / "subs.toml"
    subs.write_text('[[recipient]]\nname = "nobody"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                    f'forces = ["Nowhere {run}"]\nurl = "http://127.0.0.1:9/"\n'
                    'secret_env = "TEST_SECRET"\n'
                    '[[recipient]]\nname = "investigators"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                    f'forces = ["{crime_force}"]\nurl = "http://127.0.0.1:9/"\n'
                    'secret_env = "TEST_SECRET"\n')
    assert (ROOT / ".cache/leaflet/leaflet-1.9.4/leaflet.js").is_file(), \
        "Leaflet is not vendored: make leaflet"
    tiles_runner, tiles, tiles_asked = await tile_server()
    await testing.produce(settings, codec, topics.PEOPLE, [person(codec, subject, force)])
    service = start_service("notifications", IOM_USERS_FILE=str(users),
                            IOM_NOTIFY_SUBSCRIPTIONS_FILE=str(subs),
                            IOM_NOTIFY_EXTRA_FORCES=f"{force},Nowhere {run},{crime_force}",
                            IOM_NOTIFY_PERSON_WAIT_S="0", TEST_SECRET="x" * 32,
                            IOM_NOTIFY_TILE_URL=tiles + "/{z}/{x}/{y}.png",
                            IOM_NOTIFY_TILE_ATTRIBUTION="test tiles")
    base = f"http://127.0.0.1:{service.port}"
    crime, hit = crime_and_hit(run, subject, crime_force)
    hit_id = hit["hit_id"]
    zone, breach = zone_and_breach(run, subject)

    async with testing.Reader(settings, codec, topics.AUDIT.name) as audits, \
            testing.Reader(settings, codec, topics.OFFENDER_EVENTS.name) as events, \
            testing.Reader(settings, codec, topics.NOTIFICATIONS.name) as notices, \
            aiohttp.ClientSession() as http:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                               args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith(base) else None)
            refused: list[str] = []  # what the page's policy refused (a console error)
            page.on("console", lambda m: refused.append(m.text)
                    if "Content Security Policy" in m.text else None)
            await page.goto(f"{base}/console")
            # not signed in: 401, and on to the one sign-in page
            await page.wait_for_url("**/auth/signin?next=*")
            await page.fill("input[name=username]", "officer")
            await page.fill("input[name=password]", "wrong password")
            await page.click("button[type=submit]")
            await page.wait_for_selector("#error")
            await page.fill("input[name=username]", "officer")
            await page.fill("input[name=password]", "officer password 1")
            await page.click("button[type=submit]")
            await page.wait_for_selector("body[data-live='1']")
            # The crime force's officer, in a browser of their own.
            theirs = await (await browser.new_context()).new_page()
            theirs.on("request", lambda r: outside.append(r.url)
                      if not r.url.startswith(base) else None)
            await theirs.goto(f"{base}/console")
            await theirs.wait_for_url("**/auth/signin?next=*")
            await theirs.fill("input[name=username]", "investigator")
            await theirs.fill("input[name=password]", "investigator pass")
            await theirs.click("button[type=submit]")
            await theirs.wait_for_selector("body[data-live='1']")

            # The hit is published to Kafka only now: it must arrive live, by SSE.
            await testing.produce(settings, codec, topics.CRIMES_REPORTED, [crime])
            await testing.produce(settings, codec, topics.EXCLUSION_ZONES, [zone])
            await testing.produce(settings, codec, topics.GPS_HITS, [hit])
            item = page.locator(f"#item-{hit_id}")
            await item.wait_for(timeout=20_000)
            listed = await item.inner_text()
            assert re.search(r"\d\d:\d\d (GMT|BST)", listed) and "RoSH high" in listed
            assert "lead officer: not allocated" in listed
            await item.click()
            # Leaflet, served by the service, over the tiles of the configured server
            await page.wait_for_selector("#map[data-drawn=leaflet]")
            await page.wait_for_selector("#leaflet img.leaflet-tile-loaded")
            assert await page.locator("#leaflet path.fix").count() == 6
            assert await page.locator("#leaflet path.crime").count() == 1
            assert await page.locator(".leaflet-control-scale-line").count() == 1
            assert await page.locator(".map-info.north").inner_text() == "▲\nN"
            colours = await page.locator("#leaflet path.gap").evaluate_all(
                "paths => paths.map(p => p.getAttribute('stroke'))")
            assert colours == ["#2a9d3f", "#2a9d3f", "#e9a100", "#2a9d3f", "#d62828"]
            assert await page.locator("#refs li.crime").inner_text() == (
                f"crime {crime['crime_ref']}: SU 41970 12417 (441970.9 E, 112417.7 N)")
            rows = dict(await page.locator("#detail table.fields tr").evaluate_all(
                "trs => trs.map(tr => [tr.cells[0].textContent, tr.cells[1].textContent])"))
            assert rows["lead officer"] == "not allocated" and rows["offence"] == \
                "burglary dwelling" and rows["risk of serious harm (RoSH)"] == "high"
            assert rows["nearest distance to the crime"] == "0 m"
            assert re.fullmatch(r"\w{3} \d+ \w{3} \d{4}, \d\d:\d\d:\d\d (GMT|BST)",
                                rows["detected"])
            # the evidence pack: a PDF to attach to a case file, and a printable page
            pdf = await page.request.get(
                base + await page.locator("#pack-pdf").get_attribute("href"))
            assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(await pdf.body())).pages)
            assert crime["crime_ref"] in text and "burglary dwelling" in text
            packed = await browser.new_page()
            await packed.context.add_cookies(await page.context.cookies())
            await packed.goto(base + await page.locator("#pack-html").get_attribute("href"))
            assert await packed.locator("svg.evidence-map .fix").count() == 6
            assert await packed.locator("svg.evidence-map .north").count() == 1
            await packed.close()
            await page.select_option("#qualify select[name=outcome]", "CONFIRMED")
            await page.fill("#qualify textarea[name=reason]",
                            "Trail passes the rear garden at the time of the burglary")
            await page.click("#qualify button[type=submit]")
            await page.wait_for_selector("#qualified")
            # one decision: the crime force's console shows it, live
            await theirs.locator(f"#item-{hit_id} .q").wait_for(timeout=20_000)
            assert "confirmed" in await theirs.locator(f"#item-{hit_id} .q").inner_text()
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTEFACTS / "notifications-console.png"),
                                  full_page=True)
            # a zone breach, on the map too
            await testing.produce(settings, codec, topics.ZONE_BREACHES, [breach])
            await page.locator(f"#item-{breach['breach_id']}").click(timeout=20_000)
            await page.wait_for_selector("#map[data-drawn=leaflet] #leaflet path.zone")
            assert "entered an exclusion zone" in await page.locator("#refs").inner_text()
            await browser.close()
        await tiles_runner.cleanup()
        assert outside and all(url.startswith(tiles + "/") for url in outside), \
            f"the page loaded from elsewhere than the tile server: {outside}"
        # (a tile request the page cancels on a redraw need not reach the server)
        assert tiles_asked and refused == [], refused

        confirmed = await events.wait_for(lambda seen: any(
            r.value["type"] == "HIT_CONFIRMED" and r.value["details"].get("hit_id") == hit_id
            for r in seen))
        event = next(r.value for r in confirmed if r.value["type"] == "HIT_CONFIRMED"
                     and r.value["details"].get("hit_id") == hit_id)
        assert event["person_id"] == subject and event["details"]["confirmed_by"] == "officer"

        # The crime force's police: the hit as investigators (no lead officer), the decision
        # made, a second one refused; its probation: nothing.
        investigator = await login(http, base, "investigator", "investigator pass")
        async with http.get(f"{base}/api/hits/{hit_id}", headers=investigator) as answer:
            assert answer.status == 200
            shown = await answer.json()
            assert shown["investigating"] and "lead_officer" not in shown["fields"]
            assert shown["fields"]["crime_force"] == crime_force
            assert shown["fields"]["force"] == force
            assert shown["qualification"]["by"] == "officer" and not shown["may_qualify"]
        async with http.post(f"{base}/api/hits/{hit_id}/qualify",
                             headers={**investigator, "Origin": base},
                             json={"outcome": "RULED_OUT", "reason": "a second decision"}
                             ) as answer:
            assert answer.status == 409
            assert (await answer.json())["qualification"]["outcome"] == "CONFIRMED"
        crime_pdu = await login(http, base, "crime-pdu", "crime probation pw")
        async with http.get(f"{base}/api/hits/{hit_id}", headers=crime_pdu) as answer:
            assert answer.status == 403
        paged = await notices.wait_for(lambda seen: any(
            r.value and r.value["recipient"] == "investigators"
            and r.value["source_id"].startswith(hit_id) for r in seen))
        notice = next(r.value for r in paged if r.value and r.value["recipient"] ==
                      "investigators" and r.value["source_id"].startswith(hit_id))
        payload = json.loads(notice["payload"])
        assert notice["kind"] == "HIT" and payload["crime_force"] == crime_force
        assert payload["force"] == force and "lead_officer" not in payload

        # Unauthenticated: refused and audited.
        async with http.get(f"{base}/api/hits/{hit_id}") as answer:
            assert answer.status == 401
        # Another force's officer: refused and audited, naming the person they asked about.
        kent = await login(http, base, "kent", "kent password 12")
        async with http.get(f"{base}/api/hits/{hit_id}", headers=kent) as answer:
            assert answer.status == 403
        async with http.get(f"{base}/console/hits/{hit_id}/map.svg", headers=kent) as answer:
            assert answer.status == 403
        # Probation of the right force sees the hit without location, and no map.
        pdu = await login(http, base, "pdu", "probation password")
        async with http.get(f"{base}/api/hits/{hit_id}", headers=pdu) as answer:
            assert answer.status == 200
            shown = await answer.json()
            assert "fixes" not in shown["fields"] and not shown["map"]
        async with http.get(f"{base}/console/hits/{hit_id}/map.svg", headers=pdu) as answer:
            assert answer.status == 403

        def refusals(seen: list[Any]) -> list[dict[str, Any]]:
            return [r.value for r in seen if r.value["details"].get("outcome") == "REFUSED"
                    and hit_id in r.value["details"].get("path", "")]

        seen = await audits.wait_for(lambda seen: len(refusals(seen)) >= 4)
        refused = [r.value for r in seen if r.value["details"].get("outcome") == "REFUSED"]
        assert any(a["actor"] == "anonymous" and a["purpose"] == "refused: not signed in"
                   and a["details"]["path"] == f"/api/hits/{hit_id}" for a in refused)
        assert any(a["actor"] == "kent" and a["person_id"] == subject
                   and a["details"]["status"] == "403" for a in refused)
        assert any(a["actor"] == "officer" and a["purpose"] == "refused: login failed"
                   for a in refused)
        viewed = [r.value for r in seen if r.value["actor"] == "officer"
                  and r.value["person_id"] == subject]
        assert {a["action"] for a in viewed} >= {"VIEW", "ALTER"}
        assert any(a["purpose"] == "hit evidence map" for a in viewed)
        packs = [a for a in viewed if a["purpose"] == "hit evidence pack"]
        assert {a["details"]["format"] for a in packs} == {"pdf", "html"}
        assert all(a["details"]["stated_purpose"] for a in packs)
    shot = ARTEFACTS / "notifications-console.png"
    assert (await asyncio.to_thread(shot.stat)).st_size > 10_000
