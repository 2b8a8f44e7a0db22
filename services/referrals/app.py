"""referrals: the IOM case lifecycle, from referral to de-registration.

One agent reads everything about a person (all topics are keyed by person_id, so they are
co-partitioned with the `cases` table) and keeps their dossier (case/dossier.py, pure); what a
record asks for (cohort changes, case alerts) is published, what is refused goes to dead
letters with the reason. Web pages: the referral form, the MACC panel agenda and decisions,
the management report with supervisor reviews, and the weekly MAP pack.

A view of one person is answered by the worker that holds the dossier (iomkit.routing);
a list gathers every worker's dossiers (web/common.gathered, iomkit.Service.gather).
The pages are in web/: person_views.py (one person), care_views.py (needs, plan,
checklist) and cohort_views.py (panel, MAP pack, youth transfer).
"""

from __future__ import annotations

from typing import Any

import orjson

from iomkit import topics
from iomkit.service import Context
from services.referrals.care import casework, tagorders
from services.referrals.case import dossier, records, signals
from services.referrals.case.dossier import Outputs
from services.referrals.runtime import COMMANDS, TAGS, TICKS, ZONES, app, cases, rs, service
from services.referrals.web import (  # the page modules register their routes on import
    care_views,  # noqa: F401
    cohort_views,  # noqa: F401
    person_views,  # noqa: F401
    record_views,  # noqa: F401
)

# -- the stream ---------------------------------------------------------------------------------


@service.agent(topics.PEOPLE, topics.REFERRALS, topics.PANEL_DECISIONS, topics.OFFENDER_EVENTS,
               topics.RISK_GRADES, topics.GPS_HITS, topics.ZONE_BREACHES, COMMANDS, TICKS, ZONES,
               TAGS)
async def person_record(record: Any, context: Context) -> None:
    value = record if isinstance(record, dict) else record.asdict()
    person_id = value["person_id"]
    key = person_id.encode()
    d = cases.get(key) or dossier.new(person_id)
    before = orjson.dumps(d, default=str)
    now = service.clock()
    out = Outputs()
    topic = context.topic
    if topic == topics.PEOPLE.name:
        dossier.on_person(d, value, now)
        signals.recheck_arrests(d, now, out, rs)
        tagorders.apply(d, now, out, rs)  # the licence end may have moved
    elif topic == topics.REFERRALS.name:
        out = dossier.on_referral(d, value, now, rs)
        service.log.info("referral.opened", referral_id=value["referral_id"],
                         cohort=value["proposed_cohort"], urgent=value["urgent"])
    elif topic == topics.PANEL_DECISIONS.name:
        out = dossier.on_decision(d, value, now, rs)
        service.log.info("panel.decision", decision_id=value["decision_id"],
                         outcome=value["outcome"])
    elif topic == topics.OFFENDER_EVENTS.name:
        out = dossier.on_event(d, value, now, rs)
        casework.on_event(d, value, now, out, rs)
        signals.on_event(d, value, now, out, rs)
    elif topic == topics.RISK_GRADES.name:
        if dossier.on_grade(d, value, rs):
            casework.on_grade(d, value["rag"], value.get("previous_rag"), now, out, rs)
            signals.recheck_arrests(d, now, out, rs)
    elif topic == topics.GPS_HITS.name:
        dossier.on_hit(d, value, rs)
    elif topic == topics.ZONE_BREACHES.name:
        dossier.on_breach(d, value, rs)
        signals.on_breach(d, value)
    elif topic == ZONES.name:
        signals.on_zone(d, value, now)
    elif topic == COMMANDS.name and value.get("command") == "review":
        out = dossier.on_review(d, value, now, rs)
    elif topic == COMMANDS.name and value.get("command") in records.COMMANDS:
        records.command(d, value, out, rs)
    elif topic == COMMANDS.name:
        casework.command(d, value, now, out, rs)
    elif topic == TICKS.name:
        out = dossier.on_tick(d, now, rs)
        casework.on_tick(d, now, out, rs)
        tagorders.apply(d, now, out, rs)
    elif topic == TAGS.name:
        tagorders.enrolment(d, value, now, out, rs)
    else:
        raise ValueError(f"{topic}: unknown command {value.get('command')!r}")
    # Outputs first: a crash before the table write replays this record, and the outputs'
    # deterministic ids (alerts, cohort changes) make that harmless.
    for change in out.cohort_changes:
        await service.publish(topics.COHORT_CHANGES, change, cause=context)
        service.log.info("cohort.change", change=change["change"], cohort=change["cohort"])
    for alert in out.alerts:
        await service.publish(topics.CASE_ALERTS, alert, cause=context)
        service.log.info("case.alert", kind=alert["kind"])
    for fact in out.records:
        await service.publish(topics.CASE_RECORDS, fact, cause=context)
    await service.delivered()  # on the broker before the dossier says they were sent
    # Written only when changed: the hourly tick visits every open case, and rewriting each
    # dossier every time would grow the changelog (and a new worker's restore) without end.
    if orjson.dumps(d, default=str) != before:
        cases[key] = d


@service.agent(topics.EXCLUSION_ZONES)
async def zone_by_person(zone: Any, context: Context) -> None:
    """iom.exclusion-zones is keyed by zone id; the dossier is keyed by person. Each zone
    is re-keyed by person onto ZONES (without its polygon), which person_record reads in
    order with the person's other records: co-partitioned with the `cases` table."""
    value = zone if isinstance(zone, dict) else zone.asdict()
    summary = signals.zone_summary(value)
    await service.send_json(ZONES, summary["person_id"].encode(), summary)


@service.agent(topics.TAG_ENROLMENTS)
async def enrolment_by_person(record: Any, context: Context) -> None:
    """Enrolments are keyed by device: each is handed on keyed by its person, so the person's
    agent reads it in order with their release and licence (care/tagorders.py)."""
    value = record.asdict()
    await service.send_json(TAGS, value["person_id"].encode(), value)


@app.timer(interval=rs.tick_interval_s)
async def dates_pass() -> None:
    """Transitions, licence ends and overdue reviews happen on dates, not on records."""
    tick = {"as_of": service.clock().isoformat()}
    ticked = 0
    for key, d in list(cases.items()):
        if d and (d.get("youth") or d.get("care") or (
                d.get("case") and d["case"]["state"] in dossier.OPEN_STATES)
                or tagorders.needs_tick(d.get("tags"), rs.tag_fit_hours)):
            await service.send_json(TICKS, key, {**tick, "person_id": d["person_id"]})
            ticked += 1
    service.log.info("dates.checked", cases=ticked)


if __name__ == "__main__":
    service.main()
