"""A receiver that answers with a redirect is a failed delivery: the signed body is never
sent on to wherever the redirect points."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp import web

from iomkit.processes import free_port
from services.notifications.outbox import DeliveryError
from services.notifications.webhook import Webhook
from tests.unit.notifications import support


async def test_a_redirect_is_not_followed() -> None:
    landed: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        landed.append(await request.text())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", moved)
    app.router.add_post("/elsewhere", elsewhere)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    webhook = Webhook(5.0)
    recipient = dataclasses.replace(
        support.recipient("r", "POLICE", ("HIT",)), url=f"http://127.0.0.1:{port}/hook")
    notification = {"notification_id": "n1", "kind": "HIT", "recipient": "r",
                    "source_id": "h1", "created_at": support.T0, "payload": b"{}"}
    try:
        with pytest.raises(DeliveryError, match="307"):
            await webhook(recipient, notification)
        assert landed == []
    finally:
        await webhook.close()
        await runner.cleanup()
