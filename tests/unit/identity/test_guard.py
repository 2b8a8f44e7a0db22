"""The guard in front of every route, on a real aiohttp server in this process: undeclared
routes 404, a foreign Host or Origin refused, 401 without (or with an expired or revoked)
token, 403 to a role the route does not name or without a purpose, the handler's own force
check, body limits, security headers and the navigation bar; every refusal audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from iomkit.identity import allow, check_force, keys, public, tokens
from iomkit.identity.guard import Guard
from iomkit.identity.principal import Principal

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, folder: Path) -> None:
        self.key = keys.ensure(folder)
        self.keyset = keys.KeySet.from_file(folder / keys.JWKS, min_reload_s=0)
        self.now = T0
        self.audited: list[dict[str, Any]] = []
        self.revoked: set[str] = set()

    def token(self, role: str, force: str = "Hampshire", sid: str = "s") -> dict[str, str]:
        issued, _ = tokens.issue(self.key, Principal("u-" + role.lower(), (force,), role,
                                                     session=sid), self.now, 300)
        return {"Authorization": f"Bearer {issued}"}

    async def audit(self, **record: Any) -> None:
        self.audited.append(record)


@pytest.fixture
async def client(tmp_path: Path) -> Any:
    world = World(tmp_path)
    guard = Guard("test", frozenset({"127.0.0.1", "localhost"}), 1024,
                  lambda t: tokens.verify(t, world.keyset, world.now), world.audit,
                  "/auth/signin", is_revoked=lambda p: p.session in world.revoked)
    app = web.Application(middlewares=[guard.middleware], client_max_size=1024)

    @allow({"POLICE"})
    async def person(request: web.Request) -> web.Response:
        check_force(request, "Hampshire", "P-1")
        return web.Response(text="<html><body><p>P-1</p></body></html>",
                            content_type="text/html")

    @allow({"POLICE"}, purpose=True)
    async def trail(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    @allow({"POLICE"})
    async def change(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True})

    @public
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def undeclared(request: web.Request) -> web.Response:
        return web.json_response({"secret": "stored dossier"})

    for method, path, handler in (("GET", "/person", person), ("GET", "/trail", trail),
                                  ("POST", "/change", change), ("GET", "/health", health),
                                  ("GET", "/table/cases", undeclared)):
        app.router.add_route(method, path, handler)
        if handler is not undeclared:
            guard.routes[(method, path)] = handler.__rule__  # type: ignore[attr-defined]
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client, world


async def test_refusals(client) -> None:
    http, world = client
    assert (await http.get("/health")).status == 200
    assert (await http.get("/table/cases", headers=world.token("POLICE"))).status == 404
    assert (await http.get("/person")).status == 401
    assert (await http.get("/person", headers=world.token("PROBATION"))).status == 403
    assert (await http.get("/person", headers=world.token("POLICE", "Kent"))).status == 403
    assert (await http.get("/trail", headers=world.token("POLICE"))).status == 403
    assert (await http.get("/trail?purpose=enquiry", headers=world.token("POLICE"))
            ).status == 200
    assert (await http.get("/person", headers={**world.token("POLICE"),
                                               "Host": "evil.example"})).status == 403
    assert (await http.post("/change", headers={**world.token("POLICE"),
                                                "Origin": "https://evil.example"})
            ).status == 403
    cookie = {"Cookie": "tc_token=" + world.token("POLICE")["Authorization"][7:]}
    assert (await http.post("/change", headers=cookie)).status == 403  # no Origin
    assert (await http.post("/change", headers={**cookie, "Origin": "http://127.0.0.1"})
            ).status == 200
    assert (await http.post("/change", data=b"x" * 2048, headers=world.token("POLICE"))
            ).status == 413
    statuses = {r["details"]["status"] for r in world.audited}
    assert statuses == {"401", "403", "413"}
    kent = [r for r in world.audited if r["actor"] == "u-police" and r["person_id"] == "P-1"]
    assert kent, "a refusal names who asked about whom"


async def test_expiry_and_sign_out_with_an_injected_clock(client) -> None:
    http, world = client
    token = world.token("POLICE", sid="desk")
    assert (await http.get("/person", headers=token)).status == 200
    world.now += timedelta(seconds=300)
    assert (await http.get("/person", headers=token)).status == 401
    world.now = T0
    world.revoked.add("desk")
    assert (await http.get("/person", headers=token)).status == 401


async def test_pages_carry_headers_and_the_navigation_bar(client) -> None:
    http, world = client
    answer = await http.get("/person", headers=world.token("POLICE"))
    page = await answer.text()
    assert 'id="throughcare-nav"' in page and "P-1" in page
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert name in answer.headers
    refused = await http.get("/person", headers={"Accept": "text/html"})
    assert refused.status == 401 and "/auth/signin?next=%2Fperson" in await refused.text()
