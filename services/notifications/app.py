"""notifications: police and partners told in near real time, under their agreements.

Hits, breaches, tag alerts, grades and case alerts are routed by the subscriptions file
(routing.py, subscriptions.py), minimised by ISA role (minimise.py), told once
(once.py, a Faust table per source and recipient), recorded on iom.notifications and
delivered by signed webhook in per-recipient order with retries (outbox.py, webhook.py).
Every delivery and every console view writes an AuditRecord. The live console (console.py,
pages.py, mapsvg.py) is fed from the same topics on every worker.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View
from prometheus_client import Counter, Histogram

from iomkit import headers as h
from iomkit import topics
from iomkit.audit import audit_record
from iomkit.identity import Forbidden, allow, principal_of, public
from iomkit.identity.isa import CASE_KINDS, EVIDENCE_ROLES, GRADE_CHANGE, TAG_ALERT, ZONE_BREACH
from iomkit.identity.signin import SIGNIN
from iomkit.identity.signin import install as install_signin
from iomkit.service import Context, Service
from services.notifications import config, mapsvg, pages
from services.notifications import subscriptions as subs
from services.notifications.backoff import Backoff
from services.notifications.console import (
    CONSOLE_ROLES,
    HIT_QUALIFIERS,
    Board,
    card,
    hit_confirmed_event,
    qualification_problem,
    sse,
)
from services.notifications.internal import COMMANDS, QUALIFICATIONS
from services.notifications.mail import Mailer
from services.notifications.once import HitState
from services.notifications.outbox import Outbox
from services.notifications.routing import (
    Directory,
    Subject,
    grade_matters,
    grade_summary,
    plan_hit,
    plan_once,
)
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
board = Board(directory)
crimes: dict[str, dict[str, Any]] = {}  # crime_ref -> latest version (the map's crime)
# notification_id -> its latest state on the topic, while not DELIVERED (bounded by what is
# pending or FAILED); and the input (topic, partition) it was made from.
latest: dict[str, dict[str, Any]] = {}
made_from: dict[str, tuple[str, int]] = {}
owned_inputs: set[tuple[str, int]] = set()  # the agent's (topic, partition)s, refreshed
OURS = ("", -1)  # made here and not read back yet: ours
ready = {name: asyncio.Event() for name in ("people", "cohort", "notifications")}
for _name, _event in ready.items():
    service.require_ready(_name, _event)
# The followed topics being read is not enough to route: the Service's /health also waits
# for the agent's partitions and the `told` table (iomkit.service, "partitions").
# Labels are recipients and states, never people.
STATES = Counter("iom_notifications_total", "Notification state changes, by recipient and "
                 "state", ["recipient", "state"])
DELIVERY_SECONDS = Histogram(
    "iom_notification_delivery_seconds", "Created to delivered, by recipient", ["recipient"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))


# -- delivery ----------------------------------------------------------------------------


async def publish_state(notification: dict[str, Any]) -> None:
    await service.publish(topics.NOTIFICATIONS, notification)
    STATES.labels(notification["recipient"], notification["state"]).inc()
    if notification["state"] == "DELIVERED":
        DELIVERY_SECONDS.labels(notification["recipient"]).observe(
            (notification["updated_at"] - notification["created_at"]).total_seconds())


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
    owns=lambda n: made_from.get(n["notification_id"], OURS) in owned_inputs | {OURS},
)


async def create(notification: dict[str, Any], context: Context) -> None:
    """Record the notification (PENDING) before it is sent: iom.notifications is the
    outbox's durable log, from which a restarted worker resumes (follow_notifications)."""
    await service.publish(topics.NOTIFICATIONS, notification, cause=context)
    STATES.labels(notification["recipient"], "PENDING").inc()
    outbox.put(notification)


# -- inputs ------------------------------------------------------------------------------


class UnknownPerson(Exception):
    """The person is not on iom.people: nobody's force, so nobody may be told."""


async def subject_of(person_id: str, force: str | None = None) -> Subject:
    subject = directory.get(person_id, force)
    waited = 0.0
    while subject is None and waited < notify.person_wait_s:
        await asyncio.sleep(0.1)  # a person published just before the record about them
        waited += 0.1
        subject = directory.get(person_id, force)
    if subject is None:
        raise UnknownPerson("the person is not on iom.people, so their force is unknown")
    return subject


def told_key(source_id: str, recipient: str) -> bytes:
    return f"{source_id}|{recipient}".encode()


@service.agent(topics.GPS_HITS, topics.ZONE_BREACHES, topics.TAG_ALERTS, topics.RISK_GRADES,
               topics.CASE_ALERTS)
async def received(record: Any, context: Context) -> None:
    for event in ready.values():
        await event.wait()
    value = record.asdict()
    now = service.clock()
    if context.topic == topics.GPS_HITS.name:
        await hit_received(value, context, now)
    elif context.topic == topics.ZONE_BREACHES.name:
        await once_received(ZONE_BREACH, value["breach_id"], value,
                            await subject_of(value["person_id"]), context, now)
    elif context.topic == topics.TAG_ALERTS.name:
        if value["person_id"] is None or value["kind"] == "UNKNOWN":
            return  # a tag fitted to nobody known: nothing to say to anyone
        await once_received(TAG_ALERT, value["alert_id"], value,
                            await subject_of(value["person_id"]), context, now)
    elif context.topic == topics.RISK_GRADES.name:
        service.log.info("grade.received", cause=context.cause, **grade_summary(value))
        subject = await subject_of(value["person_id"], value["force"])
        if grade_matters(value, subject.registered):
            await once_received(GRADE_CHANGE, f"{value['person_id']}#{value['revision']}",
                                value, subject, context, now)
    elif context.topic == topics.CASE_ALERTS.name:
        if value["kind"] not in CASE_KINDS:
            return
        known = directory.get(value["person_id"])
        # the alert names the force that manages the case: it decides who is told
        subject = Subject(value["force"], known.registered if known else True,
                          value["lead_officer"] or (known.lead_officer if known else None))
        await once_received(value["kind"], value["alert_id"], value, subject, context, now)


async def hit_received(hit: dict[str, Any], context: Context, now: datetime) -> None:
    subject = await subject_of(hit["person_id"])
    keys = {r.name: told_key(hit["hit_id"], r.name) for r in recipients}
    plan = plan_hit(hit, subject, recipients,
                    {name: HitState.of(told.get(key)) for name, key in keys.items()}, now)
    # Published before the table remembers it: a crash in between pages again with the
    # same notification id, which the recipient deduplicates; the reverse would lose it.
    for notification in plan.notifications:
        await create(notification, context)
    await service.delivered()  # on the broker before `told` says they were made
    for name, state in plan.states.items():
        if state is not None:
            told[keys[name]] = state.as_dict()
    service.log.info("hit.routed", status=hit["status"], revision=hit["revision"],
                     actions=",".join(sorted({a.value for a in plan.actions.values()})) or "-")


async def once_received(kind: str, source_id: str, value: dict[str, Any], subject: Subject,
                        context: Context, now: datetime) -> None:
    sent = [r.name for r in recipients if told.get(told_key(source_id, r.name)) is not None]
    for notification in plan_once(kind, source_id, value, subject, recipients, sent, now):
        await create(notification, context)
        await service.delivered()  # on the broker before `told` says it was made
        told[told_key(source_id, notification["recipient"])] = True


@service.agent(COMMANDS)
async def command_received(command: dict[str, Any], context: Context) -> None:
    """Redeliver a recipient's FAILED notifications (after the receiver is fixed)."""
    await ready["notifications"].wait()
    if command.get("command") != "redeliver" or command.get("recipient") not in by_name:
        raise ValueError(f"unknown command or recipient: {command.get('command')!r}")
    again = [n for n in list(latest.values())
             if n["recipient"] == command["recipient"] and n["state"] == "FAILED"]
    for notification in sorted(again, key=lambda n: n["created_at"]):
        outbox.put(notification)
    service.log.info("redeliver", recipient=command["recipient"], notifications=len(again),
                     actor=command.get("actor", "?"))


# -- followed topics (every worker: routing context, console, outbox recovery) ------------


@app.task
async def follow_people() -> None:
    await service.follow(topics.PEOPLE, lambda _, p: directory.person(p["person_id"], p["force"]),
                         ready["people"])


@app.task
async def follow_cohort() -> None:
    await service.follow(topics.COHORT_CHANGES, lambda _, c: directory.cohort(
        c["person_id"], c["change"], c["lead_officer"]), ready["cohort"])


@app.task
async def follow_crimes() -> None:
    def keep(key: bytes | None, crime: dict[str, Any]) -> None:
        known = crimes.get(crime["crime_ref"])
        if known is None or known["version"] < crime["version"]:
            crimes[crime["crime_ref"]] = crime
    await service.follow(topics.CRIMES_REPORTED, keep)


@app.task
async def follow_hits() -> None:
    await service.follow(topics.GPS_HITS, lambda _, hit: board.hit(hit))


@app.task
async def follow_breaches() -> None:
    await service.follow(topics.ZONE_BREACHES, lambda _, breach: board.breach(breach))


@app.task
async def follow_qualifications() -> None:
    def keep(key: bytes | None, qualification: dict[str, Any]) -> None:
        if key is not None:
            board.qualify(key.decode(), qualification)
    await service.follow(QUALIFICATIONS, keep)


@app.task
async def follow_notifications() -> None:
    """The latest state of every unfinished notification. Once read to the end at start,
    those still PENDING or RETRYING (a worker stopped before it delivered them) are queued
    again, in the order they were created, before any new input is routed; by the worker
    that owns the input partition they were made from (their ``iom-cause``), so a second
    worker never delivers them too. A partition this worker is given later (a worker gone)
    brings its unfinished notifications with it."""
    caught_up = ready["notifications"]
    recovered = asyncio.Event()

    def keep(key: bytes | None, notification: dict[str, Any], headers: dict[str, str]) -> None:
        nid = notification["notification_id"]
        if notification["state"] == "DELIVERED":  # finished: nothing more to do with it
            latest.pop(nid, None)
            made_from.pop(nid, None)
            return
        latest[nid] = notification
        cause = headers.get(h.CAUSE, "").rsplit("/", 2)
        if nid not in made_from and len(cause) == 3 and cause[1].isdigit():
            made_from[nid] = (cause[0], int(cause[1]))

    task = asyncio.create_task(recover_owned(recovered, caught_up))
    try:
        await service.follow(topics.NOTIFICATIONS, keep, recovered, headers=True)
    finally:
        task.cancel()


async def recover_owned(recovered: asyncio.Event, caught_up: asyncio.Event) -> None:
    await recovered.wait()
    handled: set[tuple[str, int]] = set()
    while True:
        await service.assigned.wait()
        owned = {(tp.topic, tp.partition) for tp in app.consumer.assignment()}
        new = owned - handled
        if new or not caught_up.is_set():
            unfinished = sorted((n for nid, n in list(latest.items())
                                 if n["state"] in ("PENDING", "RETRYING")
                                 and n["recipient"] in by_name and made_from.get(nid) in new),
                                key=lambda n: n["created_at"])
            for notification in unfinished:
                outbox.put(notification)
            service.log.info("outbox.recovered", notifications=len(unfinished),
                             partitions=len(new))
        owned_inputs.clear()
        owned_inputs.update(owned)
        handled = owned  # a partition revoked and given back is recovered again
        caught_up.set()
        await asyncio.sleep(1.0)


@app.timer(interval=3600.0)
async def forget_old_crimes() -> None:
    """The map's crimes are kept as long as fixes are (30 days after the crime)."""
    cutoff = service.clock() - timedelta(days=notify.crime_days)
    for ref, crime in list(crimes.items()):
        if crime["committed_to"] < cutoff:
            del crimes[ref]


@app.timer(interval=30.0)
async def outbox_gauge() -> None:
    service.log.info("outbox.pending", notifications=outbox.pending())


async def audit(*, actor: str, action: str, purpose: str, person_id: str | None = None,
                recipient: str | None = None, details: Mapping[str, str] | None = None
                ) -> None:
    """A disclosure by the service itself (a webhook delivered), not by a signed-in user."""
    await service.publish(topics.AUDIT, audit_record(
        service=service.name, actor=actor, action=action, purpose=purpose,
        person_id=person_id, recipient=recipient, at=service.clock(),
        details=dict(details or {})))


# -- who may look ------------------------------------------------------------------------
# Every route declares its rule (iomkit.identity.allow); the guard answers 401 and 403 and
# audits them, and the routes check the person's force themselves (Board.may_see).


def json_response(value: Any, status: int = 200) -> aioweb.Response:
    return aioweb.Response(body=orjson.dumps(value, option=orjson.OPT_UTC_Z), status=status,
                           content_type="application/json",
                           headers={"Cache-Control": "no-store"})


def html(text: str, nonce: str, status: int = 200) -> aioweb.Response:
    return aioweb.Response(text=text, status=status, content_type="text/html", headers={
        "Content-Security-Policy": pages.csp(nonce, notify.tile_url),
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin"})


def see_other(location: str) -> aioweb.Response:
    return aioweb.Response(status=303, headers={"Location": location})


def visible_hit(request: Request, hit_id: str) -> Any:
    """The hit the caller may see: 404 when there is none, 403 (audited, naming the
    person) when it is not for their force or role."""
    item = board.items.get(hit_id)
    if item is None:
        raise aioweb.HTTPNotFound(text=orjson.dumps({"error": "no such hit"}).decode(),
                                  content_type="application/json")
    if not board.may_see(principal_of(request), item):
        raise Forbidden("not a person of your force, or not for your role",
                        item.record["person_id"])
    return item


@service.page("/login")
@public
async def old_login(web: Any, request: Request) -> aioweb.Response:
    """The console's own login page is now the one sign-in page."""
    return see_other(SIGNIN + "?next=/console")


@service.page("/console")
@allow(CONSOLE_ROLES, scope="item")
async def console_page(web: Any, request: Request) -> aioweb.StreamResponse:
    nonce = secrets.token_urlsafe(16)
    return html(pages.console(principal_of(request), nonce), nonce)


stopping = asyncio.Event()


@app.on_before_shutdown.connect
async def shutting_down(app: Any, **kwargs: Any) -> None:
    """Open event streams end before the web server stops (it waits for them), and
    undelivered notifications stay PENDING/RETRYING on the topic for the next start."""
    stopping.set()
    await outbox.close()
    await webhook.close()


@service.page("/console/events")
class ConsoleEvents(View):
    """Server-sent events: the user's recent cards, then each change as it happens, until
    the token expires or the session is signed out (the page then signs in again)."""

    RECENT = 200  # cards sent on connecting (the console shows recent events)

    @allow(CONSOLE_ROLES, scope="item")
    async def get(self, request: Request) -> aioweb.StreamResponse:
        principal = principal_of(request)
        response = aioweb.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"})
        await response.prepare(request)
        queue = board.listen()
        stop_streams = asyncio.ensure_future(stopping.wait())
        try:
            recent = list(board.visible(principal))[-self.RECENT:]
            await self.send(request, response, recent)
            await response.write(sse("ready", {"user": principal.username}))
            while not service.revocations.revoked(principal) and \
                    service.clock().timestamp() < principal.expires:
                getting = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getting, stop_streams}, timeout=15.0,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getting not in done:
                    getting.cancel()
                    if stop_streams in done:
                        break  # the worker is stopping: let the web server close at once
                    await response.write(b": keep-alive\n\n")
                    continue
                item = board.items.get(getting.result())
                if item is not None and board.may_see(principal, item):
                    await self.send(request, response, [item])
        except (ConnectionResetError, RuntimeError):
            pass  # the browser went away
        finally:
            stop_streams.cancel()
            board.leave(queue)
        return response

    async def send(self, request: Request, response: aioweb.StreamResponse,
                   items: list[Any]) -> None:
        if not items:
            return
        principal = principal_of(request)
        # audited (and acknowledged) before the cards leave
        await service.audit(request, "VIEW", "live console",
                            person_id=items[0].record["person_id"] if len(items) == 1 else None,
                            details={"items": ",".join(i.id for i in items)},
                            people=sorted({i.record["person_id"] for i in items}))
        for item in items:
            shown = card(item, principal, board.force_of(item),
                         item.record.get("crime_ref") in crimes)
            await response.write(sse("card", shown, item.id))


@service.page("/api/hits")
@allow(CONSOLE_ROLES, scope="item")
async def hit_list(web: Any, request: Request) -> aioweb.Response:
    principal = principal_of(request)
    shown = [card(i, principal, board.force_of(i), i.record.get("crime_ref") in crimes)
             for i in board.visible(principal)]
    await service.audit(request, "VIEW", "hit list",
                        people=sorted({item["person_id"] for item in shown}))
    return json_response({"items": shown})


@service.page("/api/hits/{hit_id}")
@allow(CONSOLE_ROLES, scope="item")
async def hit_detail(web: Any, request: Request, hit_id: str) -> aioweb.Response:
    item = visible_hit(request, hit_id)
    await service.audit(request, "VIEW", "hit detail", person_id=item.record["person_id"],
                        details={"item": hit_id})
    return json_response(card(item, principal_of(request), board.force_of(item),
                              item.record.get("crime_ref") in crimes))


@service.page("/console/hits/{hit_id}/map.svg")
@allow(EVIDENCE_ROLES, purpose=True, scope="item")
async def hit_map(web: Any, request: Request, hit_id: str) -> aioweb.Response:
    item = visible_hit(request, hit_id)
    if not card(item, principal_of(request), None, False)["map"]:
        raise Forbidden("your role does not receive location data", item.record["person_id"])
    await service.audit(request, "VIEW", "hit evidence map", person_id=item.record["person_id"],
                        details={"item": hit_id, "revision": str(item.record["revision"])})
    svg = mapsvg.render(item.record["fixes"], crimes.get(item.record["crime_ref"]),
                        tile_url=notify.tile_url)
    return aioweb.Response(text=svg, content_type="image/svg+xml",
                           headers={"Cache-Control": "no-store"})


@service.page("/api/hits/{hit_id}/qualify")
class Qualify(View):
    """An officer rules the person in (CONFIRMED: OffenderEvent HIT_CONFIRMED, which the
    risk service grades) or out (RULED_OUT), with a reason."""

    @allow(HIT_QUALIFIERS, scope="item")
    async def post(self, request: Request, hit_id: str) -> aioweb.Response:
        item = visible_hit(request, hit_id)
        principal = principal_of(request)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = {}
        outcome, reason = body.get("outcome"), body.get("reason")
        problem = qualification_problem(outcome, reason)
        if problem is None and item.record["status"] != "ACTIVE":
            problem = "the hit was withdrawn"
        if problem is not None:
            return json_response({"error": problem}, 422)
        now = service.clock()
        hit = item.record
        qualification = {"outcome": outcome, "reason": reason.strip(),
                         "by": principal.username, "at": now.isoformat(),
                         "revision": hit["revision"]}
        if outcome == "CONFIRMED":
            await service.publish(topics.OFFENDER_EVENTS, hit_confirmed_event(
                hit, reason.strip(), principal, now), acknowledged=True)
        await service.send_json(QUALIFICATIONS, hit_id.encode(), qualification,
                                acknowledged=True)
        board.qualify(hit_id, qualification)
        await service.audit(request, "ALTER", f"hit qualified {outcome}",
                            person_id=hit["person_id"],
                            details={"item": hit_id, "outcome": outcome,
                                     "revision": str(hit["revision"])})
        service.log.info("hit.qualified", outcome=outcome, role=principal.role)
        return json_response(qualification)


if __name__ == "__main__":
    service.main()
