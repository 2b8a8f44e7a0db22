"""The sign-in page's session against the real service, two workers of it: a token that
expired is renewed from the live session without a password (a page sends the browser
there and comes back), on the other worker too; signing out on either ends it on both; a
session left idle past IOM_IDLE_TIMEOUT_S needs the password again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from iomkit.identity.users import add_user
from iomkit.processes import all_healthy

pytestmark = pytest.mark.integration
PASSWORD = "a long enough password"
TOKEN_TTL_S, IDLE_S = 5, 12  # the shortest the settings allow, so the test waits little


async def test_renewal_and_idle_timeout(start_service, tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "officer", PASSWORD, "Hampshire", "POLICE")
    subs = tmp_path / "subs.toml"
    subs.write_text('[[recipient]]\nname = "nobody"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                    'forces = ["Kent"]\nurl = "http://127.0.0.1:9/"\n'
                    'secret_env = "TEST_SECRET"\n')
    env = {"IOM_USERS_FILE": str(users), "IOM_NOTIFY_SUBSCRIPTIONS_FILE": str(subs),
           "TEST_SECRET": "x" * 32, "IOM_TOKEN_TTL_S": str(TOKEN_TTL_S),
           "IOM_IDLE_TIMEOUT_S": str(IDLE_S)}
    service, other = (start_service("notifications", healthy=False, **env) for _ in range(2))
    all_healthy([service, other])
    base = f"http://127.0.0.1:{service.port}"
    elsewhere = f"http://127.0.0.1:{other.port}"
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address, as a browser keeps
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async def console() -> int:
            async with http.get(f"{base}/api/hits") as answer:
                return answer.status

        async def renew(at: str = base) -> int:
            async with http.get(f"{at}/auth/signin?next=/api/hits",
                                allow_redirects=False) as answer:
                return answer.status

        async def sign_in() -> None:
            async with http.post(f"{base}/auth/signin", headers={"Origin": base},
                                 data={"username": "officer", "password": PASSWORD,
                                       "next": "/api/hits"}, allow_redirects=False) as answer:
                assert answer.status == 303 and answer.headers["Location"] == "/api/hits"

        await sign_in()
        assert await console() == 200
        for _ in range(4 * TOKEN_TTL_S * 10):  # until the short token expires
            if await console() != 200:
                break
            await asyncio.sleep(0.25)
        assert await console() == 401
        # the session is alive: a new token, no password, from the other worker too
        for _ in range(40):  # once the other worker has read the session from its topic
            if await renew(elsewhere) == 303:
                break
            await asyncio.sleep(0.25)
        assert await console() == 200
        assert await renew() == 303
        # signed out at the other worker: this one forgets the session too
        kept = {c.key: c.value for c in jar}
        async with http.post(f"{elsewhere}/auth/signout", headers={"Origin": elsewhere},
                             allow_redirects=False) as answer:
            assert answer.status == 303
        assert await console() == 401  # the cookie was cleared

        async def renew_with_old_cookies() -> int:  # as if the browser had kept them
            async with aiohttp.ClientSession() as fresh:
                async with fresh.get(
                        f"{base}/auth/signin?next=/api/hits", allow_redirects=False,
                        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in kept.items())}
                ) as answer:
                    return answer.status

        for _ in range(120):  # the sign-out reaches this worker by its topic: slow when loaded
            if await renew_with_old_cookies() == 200:
                break
            await asyncio.sleep(0.25)
        assert await renew_with_old_cookies() == 200  # the form: signed out on both

        await sign_in()
        assert await console() == 200
        await asyncio.sleep(IDLE_S + 1)  # nothing used: the session goes idle
        assert await renew() == 200  # the sign-in form: the password is needed again
