"""The notifications worker's state and how it is wired: the Faust app, settings and
subscriptions, the `told` table, what every worker keeps from the followed topics (people's
forces, the console board, the map's crimes, unfinished notifications) and the outbox that
delivers them. Shared by the agents and tasks (app.py) and the views (web.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram

from iomkit import metrics, topics
from iomkit.audit import audit_record
from iomkit.identity.signin import install as install_signin
from iomkit.service import Context, Service
from services.notifications import config
from services.notifications import subscriptions as subs
from services.notifications.backoff import Backoff
from services.notifications.console import Board
from services.notifications.internal import QUALIFICATIONS
from services.notifications.mail import Mailer
from services.notifications.mapcrimes import MapCrimes
from services.notifications.mapzones import MapZones
from services.notifications.outbox import Outbox
from services.notifications.recent import Recent
from services.notifications.routing import Directory
from services.notifications.unfinished import Partition, Unfinished
from services.notifications.webhook import Webhook

service = Service("notifications")
app = service.app
settings = service.settings
notify = config.load()
recipients = subs.load(notify.subscriptions_file, os.environ, notify.forces())
by_name = {r.name: r for r in recipients}
signin = install_signin(service, notify.forces())  # the one sign-in page is served here

service.declare(QUALIFICATIONS)

# (source id | recipient) -> what was told: the once-per-hit state, or True for other kinds.
told = service.table("told", help="source|recipient -> once-per-hit state or sent marker")
directory = Directory()
board = Board(directory, clock=service.clock, evidence_days=settings.evidence_days)
crimes = MapCrimes()
zones = MapZones()  # the zones under the console's breach maps
service.measure_store("map_zones", lambda: len(zones))
unfinished = Unfinished()
service.measure_store("unfinished", lambda: len(unfinished.latest))
service.measure_store("hit_origins", lambda: len(hit_origins))
owned_inputs: set[Partition] = set()  # the agent's (topic, partition)s, refreshed
ready = {name: asyncio.Event() for name in ("people", "cohort", "notifications")}
for _name, _event in ready.items():
    service.require_ready(_name, _event)
# The followed topics being read is not enough to route: the Service's /health also waits
# for the agent's partitions and the `told` table (iomkit.service, "partitions").
stopping = asyncio.Event()  # set before shutdown: open event streams end at once

# Labels are recipients and states, never people.
STATES = Counter("iom_notifications_total", "Notification state changes, by recipient and "
                 "state", ["recipient", "state"])
DELIVERY_SECONDS = Histogram(
    "iom_notification_delivery_seconds", "Created to delivered, by recipient", ["recipient"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
# notification id -> (the hit's arrival ms, its detected_at): the hit_to_webhook latency
hit_origins: Recent[tuple[int | None, datetime]] = Recent()


# -- delivery ----------------------------------------------------------------------------


async def publish_state(notification: dict[str, Any]) -> None:
    await service.publish(topics.NOTIFICATIONS, notification)
    STATES.labels(notification["recipient"], notification["state"]).inc()
    if notification["state"] == "DELIVERED":
        DELIVERY_SECONDS.labels(notification["recipient"]).observe(
            (notification["updated_at"] - notification["created_at"]).total_seconds())
    if notification["state"] in ("DELIVERED", "FAILED"):
        origin = hit_origins.take(notification["notification_id"])
        if origin is not None and notification["state"] == "DELIVERED":
            metrics.observe_latency(service.name, "hit_to_webhook", arrived_ms=origin[0],
                                    event_at=origin[1], now=notification["updated_at"])


async def delivered(notification: dict[str, Any]) -> None:
    """The disclosure itself: logged with who received what about whom, and why."""
    recipient = by_name[notification["recipient"]]
    await audit(actor=service.name, action="DISCLOSE", person_id=notification["person_id"],
                recipient=recipient.name,
                purpose=f"{recipient.agreement or 'ISA'}: {notification['kind']}",
                details={"notification_id": notification["notification_id"],
                         "kind": notification["kind"], "source_id": notification["source_id"],
                         "role": recipient.role, "channel": "webhook"})


async def failed(notification: dict[str, Any], reason: str) -> None:
    await service.dead_letters(
        topic=topics.NOTIFICATIONS.name, partition=-1, offset=-1,
        key=notification["recipient"].encode(),
        value=service.codec.encode("Notification", notification), reason=reason,
        kind="delivery")


webhook = Webhook(notify.timeout_s)
outbox = Outbox(
    recipients, webhook, publish_state, delivered, failed,
    Backoff(notify.backoff_base_s, notify.backoff_cap_s, notify.max_attempts),
    clock=service.clock,
    extra=Mailer(notify.smtp_host, notify.smtp_port, notify.mail_from)
    if notify.smtp_host else None,
    owns=lambda n: unfinished.owned(n, owned_inputs),
    limit=notify.queue_limit,
)


async def create(notification: dict[str, Any], context: Context) -> None:
    """Record the notification (PENDING) before it is sent: iom.notifications is the
    outbox's durable log, from which a restarted worker resumes (app.follow_notifications).
    One already finished is not made again: its hit read a second time (a worker lost
    between publishing it and recording it in ``told``, its outbox resumed here) would
    otherwise send it twice, and a PENDING after its DELIVERED would send it again at the
    next restart."""
    nid = notification["notification_id"]
    if nid in outbox.finished or nid in unfinished.finished:
        service.log.info("notification.already_finished", recipient=notification["recipient"],
                         kind=notification["kind"])
        return
    await service.publish(topics.NOTIFICATIONS, notification, cause=context)
    STATES.labels(notification["recipient"], "PENDING").inc()
    await outbox.put(notification)


async def audit(*, actor: str, action: str, purpose: str, person_id: str | None = None,
                recipient: str | None = None, details: Mapping[str, str] | None = None
                ) -> None:
    """A disclosure by the service itself (a webhook delivered), not by a signed-in user."""
    await service.publish(topics.AUDIT, audit_record(
        service=service.name, actor=actor, action=action, purpose=purpose,
        person_id=person_id, recipient=recipient, at=service.clock(),
        details=dict(details or {})))
