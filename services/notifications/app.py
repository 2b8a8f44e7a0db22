"""notifications: police and partners told in near real time, under their agreements.

Hits, breaches, tag alerts, grades and case alerts are routed by the subscriptions file
(routing.py, subscriptions.py), minimised by ISA role (iomkit.identity.isa), told once
(once.py, a Faust table per source and recipient), recorded on iom.notifications and
delivered by signed webhook in per-recipient order with retries (outbox.py, webhook.py).
Every delivery and every console view writes an AuditRecord. The live console (web.py
serves console.py's board, pages.py, mapsvg.py) is fed from the same topics on every worker.

This module is the wiring: the agents and the followed topics. The worker's state and the
outbox are in runtime.py, the views in web.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from iomkit import evidential, kernel, topics
from iomkit import headers as h
from iomkit.identity.isa import CASE_KINDS, GRADE_CHANGE, TAG_ALERT, ZONE_BREACH
from iomkit.service import Context
from services.notifications import web  # noqa: F401 (the views register on import)
from services.notifications.internal import COMMANDS, QUALIFICATIONS
from services.notifications.once import HitState
from services.notifications.routing import (
    Subject,
    case_alert_subject,
    grade_matters,
    grade_summary,
    plan_hit,
    plan_once,
)
from services.notifications.runtime import (
    app,
    board,
    by_name,
    create,
    crimes,
    directory,
    hit_origins,
    notify,
    outbox,
    owned_inputs,
    ready,
    recipients,
    service,
    settings,
    stopping,
    told,
    unfinished,
    webhook,
    zones,
)

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
        subject = case_alert_subject(value, directory.get(value["person_id"]))
        await once_received(value["kind"], value["alert_id"], value, subject, context, now)


async def hit_received(hit: dict[str, Any], context: Context, now: datetime) -> None:
    subject = await subject_of(hit["person_id"])
    keys = {r.name: told_key(hit["hit_id"], r.name) for r in recipients}
    plan = plan_hit(hit, subject, recipients,
                    {name: HitState.of(told.get(key)) for name, key in keys.items()}, now)
    # Published before the table remembers it: a crash in between pages again with the
    # same notification id, which the recipient deduplicates; the reverse would lose it.
    for notification in plan.notifications:
        hit_origins.add(notification["notification_id"],
                        (kernel.arrived_ms(), hit["detected_at"]))
        await create(notification, context)
    await service.delivered()  # on the broker before `told` says they were made
    for name, state in plan.states.items():
        if state is not None:
            service.keep(told, keys[name], state.as_dict(), context)
    service.log.info("hit.routed", status=hit["status"], revision=hit["revision"],
                     actions=",".join(sorted({a.value for a in plan.actions.values()})) or "-")


async def once_received(kind: str, source_id: str, value: dict[str, Any], subject: Subject,
                        context: Context, now: datetime) -> None:
    sent = [r.name for r in recipients if told.get(told_key(source_id, r.name)) is not None]
    for notification in plan_once(kind, source_id, value, subject, recipients, sent, now):
        await create(notification, context)
        await service.delivered()  # on the broker before `told` says it was made
        service.keep(told, told_key(source_id, notification["recipient"]), {"sent": True},
                     context)


@service.agent(COMMANDS)
async def command_received(command: dict[str, Any], context: Context) -> None:
    """Redeliver a recipient's FAILED notifications (after the receiver is fixed)."""
    await ready["notifications"].wait()
    if command.get("command") != "redeliver" or command.get("recipient") not in by_name:
        raise ValueError(f"unknown command or recipient: {command.get('command')!r}")
    again = unfinished.failed(command["recipient"], evidence_cutoff())
    for notification in again:
        await outbox.put(notification)
    service.log.info("redeliver", recipient=command["recipient"], notifications=len(again),
                     actor=command.get("actor", "?"))


# -- followed topics (every worker: routing context, console, outbox recovery) ------------


@app.task
async def follow_people() -> None:
    await service.follow(topics.PEOPLE, lambda _, p: directory.person(
        p["person_id"], p["force"], p.get("rosh_level")), ready["people"])


@app.task
async def follow_cohort() -> None:
    await service.follow(topics.COHORT_CHANGES, lambda _, c: directory.cohort(
        c["person_id"], c["change"], c["lead_officer"]), ready["cohort"])


@app.task
async def follow_crimes() -> None:
    await service.follow(topics.CRIMES_REPORTED, lambda _, crime: crimes.keep(crime))


@app.task
async def follow_zones() -> None:
    await service.follow(topics.EXCLUSION_ZONES, lambda _, zone: zones.keep(zone))


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
    """The latest state of every unfinished notification (unfinished.py). Once read to the
    end at start, those still PENDING or RETRYING (a worker stopped before it delivered
    them) are queued again, in the order they were created, before any new input is
    routed; by the worker that owns the input partition they were made from (their
    ``iom-cause``), so a second worker never delivers them too. A partition this worker is
    given later (a worker gone) brings its unfinished notifications with it."""
    caught_up = ready["notifications"]
    recovered = asyncio.Event()

    def keep(key: bytes | None, notification: dict[str, Any], headers: dict[str, str]) -> None:
        unfinished.keep(notification, headers.get(h.CAUSE, ""))

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
            resumed = unfinished.to_resume(new, by_name, evidence_cutoff())
            for notification in resumed:
                await outbox.put(notification)
            service.log.info("outbox.recovered", notifications=len(resumed),
                             partitions=len(new))
        owned_inputs.clear()
        owned_inputs.update(owned)
        handled = owned  # a partition revoked and given back is recovered again
        caught_up.set()
        await asyncio.sleep(1.0)


@app.timer(interval=3600.0)
async def forget_old_crimes() -> None:
    """The map's crimes are kept as long as fixes are (30 days after the crime)."""
    crimes.forget_before(service.clock() - timedelta(days=notify.crime_days))
    zones.forget_before(service.clock() - timedelta(days=notify.crime_days))


def evidence_cutoff() -> datetime:
    """Evidence fixes recorded before this are past the evidential period (IOM_EVIDENCE_DAYS)."""
    return evidential.cutoff(service.clock(), settings.evidence_days)


@app.timer(interval=3600.0)
async def forget_old_evidence() -> None:
    """Hits' evidence fixes leave the console board after the evidential period
    (IOM_EVIDENCE_DAYS; the views never show them past it, purged or not)."""
    gone = board.expire()
    if gone:
        service.log.info("board.evidence_expired", hits=gone,
                         older_than_days=settings.evidence_days)


@app.timer(interval=3600.0)
async def forget_old_unfinished() -> None:
    """Notifications never delivered are kept for a redelivery as long as the setting says."""
    forgotten = unfinished.forget_before(
        service.clock() - timedelta(days=notify.unfinished_days))
    if forgotten:
        service.log.info("outbox.forgotten", notifications=forgotten,
                         older_than_days=notify.unfinished_days)


@app.timer(interval=3600.0)
async def forget_old_told() -> None:
    """What was told about something is kept as long as the setting says: longer than
    anything told about (a hit, with the 30 days of fixes it stands on) can change."""
    forgotten = service.forget_older(told, service.clock() - timedelta(days=notify.told_days))
    if forgotten:
        service.log.info("told.forgotten", entries=forgotten, older_than_days=notify.told_days)


@app.timer(interval=30.0)
async def outbox_gauge() -> None:
    service.log.info("outbox.pending", notifications=outbox.pending())


@app.on_before_shutdown.connect
async def shutting_down(app: Any, **kwargs: Any) -> None:
    """Open event streams end before the web server stops (it waits for them), and
    undelivered notifications stay PENDING/RETRYING on the topic for the next start."""
    stopping.set()
    await outbox.close()
    await webhook.close()


if __name__ == "__main__":
    service.main()
