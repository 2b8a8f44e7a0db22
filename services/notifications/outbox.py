"""Per-recipient ordered delivery with retries: one queue and one worker per recipient.

A recipient's notifications are delivered one at a time in the order they were created: a
notification that keeps failing holds the ones behind it (head-of-line) until it is
delivered or has used its last attempt, so a receiver that was down receives everything, in
order, once it is back. A recipient's queue holds at most ``limit``: when it is full,
``put`` waits (back pressure: the agent stops reading, the records wait on the broker and
the lag shows it) rather than grow without end while a receiver is down. Every state
change (RETRYING, DELIVERED, FAILED) is handed to ``publish``; after the last attempt
``on_failed`` dead-letters it. Transport, sleep, clock and the jitter's random are
injected: unit tests run instantly without a network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from iomkit import log as logging
from iomkit.deadletters import utc_now
from services.notifications.backoff import Backoff
from services.notifications.recent import Recent
from services.notifications.subscriptions import Recipient

Notification = dict[str, Any]
Transport = Callable[[Recipient, Notification], Awaitable[None]]
Publish = Callable[[Notification], Awaitable[None]]
OnFailed = Callable[[Notification, str], Awaitable[None]]
_log = logging.get("services.notifications.outbox")


class DeliveryError(Exception):
    """One attempt failed (connection refused, timeout, a non-2xx answer)."""


class Outbox:
    def __init__(
        self, recipients: Iterable[Recipient], transport: Transport, publish: Publish,
        on_delivered: Publish, on_failed: OnFailed, backoff: Backoff,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], datetime] = utc_now,
        extra: Transport | None = None,
        owns: Callable[[Notification], bool] = lambda notification: True,
        limit: int = 10_000,
    ) -> None:
        self.recipients = {r.name: r for r in recipients}
        self.transport = transport
        self.extra = extra  # e.g. e-mail: best effort once the webhook has it
        self.publish = publish
        self.on_delivered = on_delivered
        self.on_failed = on_failed
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        # False once the notification's input partition went to another worker, which
        # recovers it from iom.notifications: this one stops trying, so only one does.
        self.owns = owns
        self.limit = limit
        self._queues: dict[str, asyncio.Queue[Notification]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._queued: set[str] = set()  # notification ids waiting or in flight
        self.finished = Recent()  # ids this worker delivered or gave up on, lately

    async def put(self, notification: Notification) -> bool:
        """Queue a notification behind its recipient's others, waiting while the
        recipient's queue is full; False if it is already queued (a redelivery command or a
        recovery racing the agent)."""
        nid = notification["notification_id"]
        name = notification["recipient"]
        if nid in self._queued:
            return False
        if name not in self.recipients:
            raise KeyError(f"no recipient {name!r} in the subscriptions")
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = asyncio.Queue(maxsize=self.limit)
            self._workers[name] = asyncio.create_task(self._work(name, queue),
                                                      name=f"outbox-{name}")
        self._queued.add(nid)
        if queue.full():
            _log.warning("outbox.full", recipient=name, waiting=queue.qsize())
        try:
            await queue.put(notification)
        except asyncio.CancelledError:  # not queued after all: a later put must queue it
            self._queued.discard(nid)
            raise
        return True

    def pending(self) -> int:
        return len(self._queued)

    async def drain(self) -> None:
        """Wait until every queued notification is delivered or failed."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def close(self) -> None:
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()
        self._queues.clear()
        self._queued.clear()

    async def _work(self, name: str, queue: asyncio.Queue[Notification]) -> None:
        recipient = self.recipients[name]
        while True:
            notification = await queue.get()
            try:
                await self._deliver(recipient, notification)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop this recipient's queue for good
                _log.error("outbox.bug", recipient=name, exc=True)
            finally:
                self._queued.discard(notification["notification_id"])
                queue.task_done()

    async def _deliver(self, recipient: Recipient, notification: Notification) -> None:
        tries = 0
        while True:
            if not self.owns(notification):
                _log.info("delivery.handed_over", recipient=recipient.name)
                return
            tries += 1
            attempts = int(notification.get("attempts", 0)) + 1
            try:
                await self.transport(recipient, notification)
            except DeliveryError as exc:
                reason = str(exc) or type(exc).__name__
                if self.backoff.gives_up(tries, recipient.max_attempts):
                    notification = self._state(notification, "FAILED", attempts)
                    await self.publish(notification)
                    self.finished.add(notification["notification_id"])
                    await self.on_failed(notification, f"{recipient.name}: gave up after "
                                         f"{tries} attempts: {reason}")
                    return
                notification = self._state(notification, "RETRYING", attempts)
                await self.publish(notification)
                _log.info("delivery.retrying", recipient=recipient.name, attempt=tries,
                          reason=reason)
                await self.sleep(self.backoff.delay(tries))
                continue
            notification = self._state(notification, "DELIVERED", attempts)
            await self.publish(notification)
            self.finished.add(notification["notification_id"])
            await self.on_delivered(notification)
            if self.extra is not None:
                try:
                    await self.extra(recipient, notification)
                except DeliveryError as exc:  # e-mail is a courtesy copy: log, go on
                    _log.warning("mail.failed", recipient=recipient.name, reason=str(exc))
            return

    def _state(self, notification: Notification, state: str, attempts: int) -> Notification:
        return {**notification, "state": state, "attempts": attempts,
                "updated_at": self.clock()}
