"""A webhook receiver that checks signatures and deduplicates by idempotency key: what a
recipient's endpoint should do, used by the tests, the benchmark and the demo.

    python -m services.notifications.receiver --port 6070 --secret-env IOM_NOTIFY_SECRET_X

Each delivery is kept (first time per key) with the time it arrived; a request with a bad
or stale signature is refused with 401; one seen before is answered 200 and counted as a
duplicate, which is how "exactly once" is achieved over at-least-once delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from iomkit import log as logging
from services.notifications.signing import HEADER, IDEMPOTENCY_HEADER, SignatureError, verify

_log = logging.get("services.notifications.receiver")


@dataclass
class Delivery:
    key: str
    body: dict[str, Any]
    at: float  # time.time() when it arrived


@dataclass
class Receiver:
    secret: str
    port: int
    now: Callable[[], float] = time.time
    tolerance_s: int = 300
    deliveries: list[Delivery] = field(default_factory=list)  # first time per key, in order
    duplicates: int = 0
    repeated: list[str] = field(default_factory=list)  # the key of each duplicate
    refused: list[str] = field(default_factory=list)
    requests: int = 0
    _keys: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        try:
            verify(self.secret, request.headers.get(HEADER), body, self.now(), self.tolerance_s)
        except SignatureError as exc:
            self.refused.append(str(exc))
            return web.json_response({"error": str(exc)}, status=401)
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        if not key:
            return web.json_response({"error": f"no {IDEMPOTENCY_HEADER}"}, status=400)
        if key in self._keys:
            self.duplicates += 1
            self.repeated.append(key)
            return web.json_response({"duplicate": True})
        self._keys.add(key)
        self.deliveries.append(Delivery(key, orjson.loads(body), self.now()))
        self.arrived.set()
        return web.json_response({"received": key})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/throughcare"


async def _serve(port: int, secret: str) -> None:
    receiver = Receiver(secret, port)
    await receiver.start()
    _log.info("receiver.listening", url=receiver.url)
    seen = 0
    while True:
        await asyncio.sleep(1)
        for delivery in receiver.deliveries[seen:]:
            _log.info("webhook.received", kind=delivery.body.get("kind"), key=delivery.key)
        seen = len(receiver.deliveries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret-env", required=True, help="variable holding the secret")
    args = parser.parse_args()
    secret = os.environ.get(args.secret_env)
    if not secret:
        sys.stderr.write(f"{args.secret_env} is not set\n")
        return 2
    logging.setup()
    try:
        asyncio.run(_serve(args.port, secret))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
