"""The sign-in page's session against the real service: a token that expired is renewed
from the live session without a password (a page sends the browser there and comes back),
and a session left idle past IOM_IDLE_TIMEOUT_S needs the password again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from iomkit.identity.users import add_user

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
    service = start_service("notifications", IOM_USERS_FILE=str(users),
                            IOM_NOTIFY_SUBSCRIPTIONS_FILE=str(subs), TEST_SECRET="x" * 32,
                            IOM_TOKEN_TTL_S=str(TOKEN_TTL_S), IOM_IDLE_TIMEOUT_S=str(IDLE_S))
    base = f"http://127.0.0.1:{service.port}"
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address, as a browser keeps
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async def console() -> int:
            async with http.get(f"{base}/api/hits") as answer:
                return answer.status

        async def renew() -> int:
            async with http.get(f"{base}/auth/signin?next=/api/hits",
                                allow_redirects=False) as answer:
                return answer.status

        async with http.post(f"{base}/auth/signin", headers={"Origin": base},
                             data={"username": "officer", "password": PASSWORD,
                                   "next": "/api/hits"}, allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"] == "/api/hits"
        assert await console() == 200
        for _ in range(4 * TOKEN_TTL_S * 10):  # until the short token expires
            if await console() != 200:
                break
            await asyncio.sleep(0.25)
        assert await console() == 401
        assert await renew() == 303  # the session is alive: a new token, no password
        assert await console() == 200
        await asyncio.sleep(IDLE_S + 1)  # nothing used: the session goes idle
        assert await renew() == 200  # the sign-in form: the password is needed again
        assert await console() == 401
