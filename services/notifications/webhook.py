"""Signed webhook delivery: the body is the notification's envelope as JSON, signed with
the recipient's secret, with the notification id as idempotency key."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from services.notifications.outbox import DeliveryError, Notification
from services.notifications.signing import HEADER, IDEMPOTENCY_HEADER, sign
from services.notifications.subscriptions import Recipient


def envelope(notification: Notification) -> bytes:
    """What a recipient receives: the notification's identity and its minimised payload
    (exactly the JSON text recorded on iom.notifications)."""
    return orjson.dumps({
        "notification_id": notification["notification_id"],
        "kind": notification["kind"],
        "recipient": notification["recipient"],
        "source_id": notification["source_id"],
        "created_at": notification["created_at"],
        "payload": orjson.loads(notification["payload"]),
    }, option=orjson.OPT_UTC_Z)


class Webhook:
    def __init__(self, timeout_s: float, now: Callable[[], float] = time.time) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.now = now
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, recipient: Recipient, notification: Notification) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        body = envelope(notification)
        headers: dict[str, Any] = {
            "Content-Type": "application/json",
            "User-Agent": "throughcare-notifications/1",
            HEADER: sign(recipient.secret, body, int(self.now())),
            IDEMPOTENCY_HEADER: notification["notification_id"],
        }
        try:
            # A redirect is not followed: it could send the signed personal data to a host
            # the agreement never named. It counts as a failed delivery.
            async with self._session.post(recipient.url, data=body, headers=headers,
                                          allow_redirects=False) as answer:
                if not 200 <= answer.status < 300:
                    raise DeliveryError(f"HTTP {answer.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(type(exc).__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
