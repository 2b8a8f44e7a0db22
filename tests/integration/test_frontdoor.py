"""Through the front door (nginx, TLS from the project's CA) in headless Chromium: an officer
signs in once and moves between referrals, risk, gps_stream and console pages without
signing in again, by the one navigation bar; signing out ends it everywhere; a partner sees
its own agency's actions and nothing else."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from iomkit import testing, topics
from iomkit.frontdoor import FrontDoor
from iomkit.identity.users import add_user
from iomkit.processes import all_healthy, free_port
from tests.browser import ARTEFACTS, chromium, until_shown
from tests.integration.test_notifications_console import crime_and_hit, person

pytestmark = pytest.mark.integration
PASSWORD = "front door demo password"


async def sign_in(page, username: str) -> None:
    await page.wait_for_url("**/auth/signin?next=*")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


async def test_one_sign_in_through_the_front_door(settings, codec, start_service,
                                                  tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    pid = f"P-door-{run}"
    crime, hit = crime_and_hit(run, pid)
    users = tmp_path / "users.toml"
    add_user(users, "officer", PASSWORD, "Hampshire", "POLICE")
    add_user(users, "housing", PASSWORD, "Hampshire", "PARTNER_HOUSING",
             agency="Southampton Housing")
    subs = tmp_path / "subs.toml"
    subs.write_text('[[recipient]]\nname = "nobody"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                    'forces = ["Kent"]\nurl = "http://127.0.0.1:9/"\n'
                    'secret_env = "TEST_SECRET"\n')
    await testing.produce(settings, codec, topics.PEOPLE, [person(codec, pid, "Hampshire")])
    await testing.produce(settings, codec, topics.CRIMES_REPORTED, [crime])
    await testing.produce(settings, codec, topics.GPS_HITS, [hit])
    env = {"IOM_USERS_FILE": str(users), "IOM_NOTIFY_SUBSCRIPTIONS_FILE": str(subs),
           "TEST_SECRET": "x" * 32, "IOM_NOTIFY_PERSON_WAIT_S": "0",
           "IOM_SIGNIN_URL": "/auth/signin", "IOM_TLS": "true"}
    workers = [start_service(name, healthy=False, **env)
               for name in ("referrals", "risk", "gps_stream", "notifications")]
    all_healthy(workers)
    ports = {worker.name: worker.port for worker in workers}
    door = FrontDoor(tmp_path / "frontdoor", free_port(), ports, tmp_path / "pki")
    door.start()
    base = door.url
    try:
        async with chromium() as browser:
            # The CA is the project's own, made for this test: not in Chromium's store.
            officer = await browser.new_context(ignore_https_errors=True)
            page = await officer.new_page()
            signins: list[str] = []
            page.on("request", lambda r: signins.append(r.url)
                    if "/auth/signin" in r.url and r.method == "POST" else None)
            await page.goto(f"{base}/referrals/new")
            await sign_in(page, "officer")
            await page.wait_for_selector("[name=person_id]")  # the referral form
            assert await page.locator("#throughcare-nav").count() == 1
            cookies = {c["name"]: c for c in await officer.cookies()}
            assert cookies["tc_token"]["secure"] and cookies["tc_token"]["httpOnly"]
            assert cookies["tc_token"]["sameSite"] == "Strict"

            await page.click("#throughcare-nav >> text=Risk grades")  # risk
            await page.wait_for_selector("#document")
            assert "/grades" in page.url
            await until_shown(page, f"{base}/hits/{hit['hit_id']}?purpose=review",
                              hit["hit_id"], "#document")  # gps_stream
            assert "fixes" in await page.inner_text("#document")
            await page.goto(f"{base}/people/{pid}/report")  # referrals
            await page.wait_for_selector("#throughcare-nav")
            await page.click("#throughcare-nav >> text=Live hits")  # the console
            await page.wait_for_selector("body[data-live='1']")
            await page.locator(f"#item-{hit['hit_id']}").wait_for(timeout=30_000)
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTEFACTS / "frontdoor-console.png"))
            assert len(signins) == 1, signins  # signed in once for all four services

            await page.click("#throughcare-nav >> text=Sign out")
            await page.wait_for_url("**/auth/signin")
            answer = await page.goto(f"{base}/grades")
            assert answer is not None and answer.status == 401

            partner = await browser.new_context(ignore_https_errors=True)
            page = await partner.new_page()
            await page.goto(f"{base}/agencies/Southampton%20Housing/actions")
            await sign_in(page, "housing")
            await page.wait_for_selector("#actions")
            nav = await page.inner_text("#throughcare-nav")
            assert "My actions" in nav and "Live hits" not in nav
            for elsewhere in ("/agencies/Kent%20Housing/actions", f"/people/{pid}/report",
                              "/console", "/grades", f"/hits/{hit['hit_id']}?purpose=x"):
                answer = await page.goto(base + elsewhere)
                assert answer is not None and answer.status == 403, elsewhere
    finally:
        door.stop()
