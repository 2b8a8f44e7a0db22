"""A force's own identity provider, for real: Keycloak (Maven Central's distribution)
started on this machine. Its tokens are accepted by the services as Bearer tokens, mapped to
force and role by the configured claims; a browser signs in through it (authorisation code
with PKCE) and out of it again."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from iomkit import testing, topics
from tests.browser import chromium
from tests.integration.test_notifications_console import person
from tests.keycloak import Keycloak

pytestmark = pytest.mark.integration
USERS = {"pc-ada": ("ada's long password", "POLICE"),
         "uploader": ("uploader's long password", "POLICE_UPLOAD")}


def get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            json.loads(answer.read())
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def test_sign_in_and_out_through_a_real_provider(settings, codec, start_service,
                                                       tmp_path: Path) -> None:
    keycloak = Keycloak(tmp_path / "keycloak")
    await asyncio.to_thread(keycloak.start, USERS)
    try:
        await testing.produce(settings, codec, topics.PEOPLE,
                              [person(codec, "P-oidc-1", "Hampshire")])
        subs = tmp_path / "subs.toml"
        subs.write_text('[[recipient]]\nname = "nobody"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                        'forces = ["Kent"]\nurl = "http://127.0.0.1:9/"\n'
                        'secret_env = "TEST_SECRET"\n')
        env = {"IOM_NOTIFY_SUBSCRIPTIONS_FILE": str(subs), "TEST_SECRET": "x" * 32,
               "IOM_OIDC_ISSUER": keycloak.issuer, "IOM_OIDC_AUDIENCE": "throughcare",
               "IOM_OIDC_FORCES_CLAIM": "forces", "IOM_OIDC_ROLE_CLAIM": "role",
               "IOM_USERS_FILE": str(tmp_path / "none.toml"),
               # Keycloak signs on the wall clock: these workers keep it too, whatever day
               # the rest of the suite is moved to (IOM_CLOCK_OFFSET_S).
               "IOM_CLOCK_OFFSET_S": "0"}
        risk = start_service("risk", **env)
        console = start_service("notifications", **env)
        grades = f"http://127.0.0.1:{risk.port}/grades"

        # API clients of the force: the provider's own tokens, verified with its keys.
        ada = await asyncio.to_thread(keycloak.password_token, "pc-ada", USERS["pc-ada"][0])
        assert await asyncio.to_thread(get, grades, ada) == 200
        uploader = await asyncio.to_thread(keycloak.password_token, "uploader",
                                           USERS["uploader"][0])
        assert await asyncio.to_thread(get, grades, uploader) == 403  # not a grade role
        forged = ada[:-6] + ("AAAAAA" if not ada.endswith("AAAAAA") else "BBBBBB")
        assert await asyncio.to_thread(get, grades, forged) == 401

        # A browser: the sign-in page sends it to the provider and back (code + PKCE).
        base = f"http://127.0.0.1:{console.port}"
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{base}/console")
            await page.wait_for_url("**/auth/signin?next=*")
            await page.click("#oidc")
            await page.wait_for_selector("#username")  # Keycloak's own login page
            assert page.url.startswith(keycloak.issuer)
            await page.fill("#username", "pc-ada")
            await page.fill("#password", USERS["pc-ada"][0])
            await page.click("#kc-login")
            await page.wait_for_selector("body[data-live='1']")  # the console, signed in
            assert "pc-ada" in await page.inner_text("header")
            answer = await page.goto(grades)  # another service, the same sign-in
            assert answer is not None and answer.status == 200

            await page.goto(f"{base}/console")
            await page.click("header button[type=submit]")  # sign out
            await page.wait_for_url("**/auth/signin")  # via the provider's end session
            answer = await page.goto(f"{base}/console")
            assert answer is not None and answer.status == 401
            await page.wait_for_url("**/auth/signin?next=*")
            await page.click("#oidc")
            # signed out at the provider too: it asks for the password again
            await page.wait_for_selector("#username")
    finally:
        await asyncio.to_thread(keycloak.stop)
