"""referrals: the IOM case lifecycle, from referral to de-registration.

One agent reads everything about a person (all topics are keyed by person_id, so they are
co-partitioned with the `cases` table) and keeps their dossier (dossier.py, pure); what a
record asks for (cohort changes, case alerts) is published, what is refused goes to dead
letters with the reason. Web pages: the referral form, the MACC panel agenda and decisions,
the management report with supervisor reviews, and the weekly MAP pack.

Runs as one worker: the pages read the local table (thousands of people, low rates).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faust.web import Request, Response, View

from iomkit import topics
from iomkit.audit import audit_record
from iomkit.service import Context, Service
from iomkit.topics import TopicSpec
from services.referrals import (
    carepages,
    casework,
    config,
    dossier,
    forms,
    lifecycle,
    pages,
    panel,
    youth,
)
from services.referrals.care import CareError
from services.referrals.dossier import Outputs

service = Service("referrals")
app = service.app
settings = service.settings
rs = config.load()

COMMANDS = TopicSpec("throughcare-referrals-commands", "person_id", None)  # reviews from pages
TICKS = TopicSpec("throughcare-referrals-ticks", "person_id", None)  # dates passing
cases = service.table("cases", help="person_id -> the person's dossier")


# -- the stream ---------------------------------------------------------------------------------


@service.agent(topics.PEOPLE, topics.REFERRALS, topics.PANEL_DECISIONS, topics.OFFENDER_EVENTS,
               topics.RISK_GRADES, topics.GPS_HITS, topics.ZONE_BREACHES, COMMANDS, TICKS)
async def person_record(record: Any, context: Context) -> None:
    value = record if isinstance(record, dict) else record.asdict()
    person_id = value["person_id"]
    key = person_id.encode()
    d = cases.get(key) or dossier.new(person_id)
    now = service.clock()
    out = Outputs()
    topic = context.topic
    if topic == topics.PEOPLE.name:
        dossier.on_person(d, value, now)
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
    elif topic == topics.RISK_GRADES.name:
        if dossier.on_grade(d, value, rs):
            casework.on_grade(d, value["rag"], value.get("previous_rag"), now, out, rs)
    elif topic == topics.GPS_HITS.name:
        dossier.on_hit(d, value, rs)
    elif topic == topics.ZONE_BREACHES.name:
        dossier.on_breach(d, value, rs)
    elif topic == COMMANDS.name and value.get("command") == "review":
        dossier.on_review(d, value, now, rs)
    elif topic == COMMANDS.name:
        casework.command(d, value, now, out, rs)
    elif topic == TICKS.name:
        out = dossier.on_tick(d, now, rs)
        casework.on_tick(d, now, out, rs)
    else:
        raise ValueError(f"{topic}: unknown command {value.get('command')!r}")
    # Outputs first: a crash before the table write replays this record, and the outputs'
    # deterministic ids (alerts) or idempotent meaning (cohort changes) make that harmless.
    for change in out.cohort_changes:
        await service.publish(topics.COHORT_CHANGES, change, cause=context)
        service.log.info("cohort.change", change=change["change"], cohort=change["cohort"])
    for alert in out.alerts:
        await service.publish(topics.CASE_ALERTS, alert, cause=context)
        service.log.info("case.alert", kind=alert["kind"])
    cases[key] = d


@app.timer(interval=rs.tick_interval_s)
async def dates_pass() -> None:
    """Transitions, licence ends and overdue reviews happen on dates, not on records."""
    tick = {"as_of": service.clock().isoformat()}
    ticked = 0
    for key, d in list(cases.items()):
        if d and (d.get("youth") or d.get("care") or (
                d.get("case") and d["case"]["state"] in dossier.OPEN_STATES)):
            await service.send_json(TICKS, key, {**tick, "person_id": d["person_id"]})
            ticked += 1
    service.log.info("dates.checked", cases=ticked)


# -- reading the table ----------------------------------------------------------------------------


def _dossiers() -> Iterator[dict[str, Any]]:
    for _, d in list(cases.items()):
        if d:
            yield d


def _wants_json(request: Request) -> bool:
    return request.query.get("format") == "json" or \
        "application/json" in request.headers.get("Accept", "")


async def _form(request: Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise forms.FieldErrors({"body": "expected a JSON object"})
        return body
    return dict(await request.post())


async def _audit(request: Request, person_id: str | None, action: str, purpose: str,
                 details: dict[str, str] | None = None) -> None:
    await service.publish(topics.AUDIT, audit_record(
        service=service.name, actor=request.headers.get("X-IOM-User", "anonymous"),
        action=action, purpose=request.query.get("purpose", purpose), person_id=person_id,
        at=datetime.now(UTC), details={"path": str(request.path), **(details or {})}))


def _html(web: Any, text: str, status: int = 200) -> Response:
    return web.html(text, status=status)


def _see_other(view: View, location: str) -> Response:
    """After a form POST, the browser goes to the page that shows the result."""
    return view.html(f'<a href="{location}">{location}</a>', status=303,
                     headers={"Location": location})


# -- referral intake ------------------------------------------------------------------------------


@app.page("/referrals/new")
async def referral_form(web: Any, request: Request) -> Response:
    return _html(web, pages.referral_form())


@app.page("/referrals")
class Referrals(View):
    """POST a referral (JSON, or the HTML form). Errors name the field; a person with an open
    referral is refused with a pointer to it."""

    async def get(self, request: Request) -> Response:
        return self.html(pages.referral_form())

    async def post(self, request: Request) -> Response:
        as_json = request.content_type == "application/json"
        now = service.clock()
        data: dict[str, Any] = {}
        try:
            data = await _form(request)
            referral_id = forms.referral_id_for(str(data.get("person_id", "")), now,
                                                str(data.get("referrer", "")))
            referral = forms.referral_from_input(data, referral_id=referral_id,
                                                 submitted_at=now)
        except (forms.FieldErrors, ValueError) as exc:
            errors = exc.errors if isinstance(exc, forms.FieldErrors) else {"body": str(exc)}
            if as_json:
                return self.json({"error": "invalid referral", "fields": errors}, status=422)
            values = {k: str(v) for k, v in data.items()}
            return self.html(pages.referral_form(values, errors), status=422)
        d = cases.get(referral["person_id"].encode())
        open_id = d and d.get("open_referral")
        if open_id:
            existing = d["referrals"][open_id]
            if as_json:
                return self.json({"error": f"person {referral['person_id']} already has open "
                                  f"referral {open_id}", "existing": f"/referrals/{open_id}"},
                                 status=409)
            return self.html(pages.duplicate_referral(existing), status=409)
        await service.publish(topics.REFERRALS, referral)
        await _audit(request, referral["person_id"], "COLLECT", "referral to IOM",
                     {"referral_id": referral_id})
        service.log.info("referral.submitted", referral_id=referral_id)
        assessment = dossier.assessment(d, referral, rs) if d else None
        advice = None if assessment is None else {"cohort": assessment.cohort,
                                                  "reasons": list(assessment.reasons)}
        if as_json:
            return self.json({"referral_id": referral_id, "status": "submitted",
                              "assessment": advice,
                              "report": f"/people/{referral['person_id']}/report"},
                             status=201)
        return self.html(pages.referral_received(
            {**referral, "submitted_at": now.isoformat()}, advice), status=201)


@app.page("/referrals/{referral_id}")
async def referral_view(web: Any, request: Request, referral_id: str) -> Response:
    for d in _dossiers():
        if referral_id in d["referrals"]:
            await _audit(request, d["person_id"], "VIEW", "referral",
                         {"referral_id": referral_id})
            return web.json({"person_id": d["person_id"], **d["referrals"][referral_id],
                             "report": f"/people/{d['person_id']}/report"})
    return web.json({"error": f"no referral {referral_id}"}, status=404)


# -- the management report ----------------------------------------------------------------------


@app.page("/people/{person_id}/report.json")
async def report_json(web: Any, request: Request, person_id: str) -> Response:
    d = cases.get(person_id.encode())
    if d is None:
        return web.json({"error": f"no IOM record for person {person_id}"}, status=404)
    await _audit(request, person_id, "VIEW", "management report")
    return web.json(_report(d))


@app.page("/people/{person_id}/report")
async def report_page(web: Any, request: Request, person_id: str) -> Response:
    d = cases.get(person_id.encode())
    if d is None:
        return _html(web, pages.not_found(f"an IOM record for person {person_id}"), 404)
    await _audit(request, person_id, "VIEW", "management report")
    doc = _report(d)
    return _html(web, pages.report(doc, carepages.care_sections(doc)))


def _report(d: dict[str, Any]) -> dict[str, Any]:
    now = service.clock()
    return {**dossier.report(d, now, rs), "care": casework.view(d, now)}


@app.page("/people/{person_id}/reviews")
class Reviews(View):
    """A supervisor's review of the management report, with the finding."""

    async def post(self, request: Request, person_id: str) -> Response:
        as_json = request.content_type == "application/json"
        try:
            review = forms.review_from_input(await _form(request))
        except forms.FieldErrors as exc:
            if as_json:
                return self.json({"error": "invalid review", "fields": exc.errors}, status=422)
            return self.html(pages.refused(422, str(exc)), status=422)
        d = cases.get(person_id.encode())
        case = d and d.get("case")
        if not case or case["state"] not in dossier.OPEN_STATES:
            why = f"person {person_id} is not on IOM: no management report to review"
            if as_json:
                return self.json({"error": why}, status=409)
            return self.html(pages.refused(409, why), status=409)
        if review.get("reviewed_on") and review["reviewed_on"] > service.clock().date():
            if as_json:
                return self.json({"error": "invalid review", "fields": {
                    "reviewed_on": "is in the future"}}, status=422)
            return self.html(pages.refused(422, "reviewed_on: is in the future"), status=422)
        command = {"command": "review", "person_id": person_id, **{
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in review.items()}}
        await service.send_json(COMMANDS, person_id.encode(), command)
        await _audit(request, person_id, "ALTER", "supervisor review")
        if as_json:
            return self.json({"status": "recorded", "report": f"/people/{person_id}/report"},
                             status=202)
        return _see_other(self, f"/people/{person_id}/report")


# -- needs, plan and through the gate ------------------------------------------------------------


async def _care_command(view: View, request: Request, person_id: str,
                        build: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    """Check a change on a copy of the person's dossier (errors name the field), then put
    it on the commands topic for the agent to apply in order."""
    as_json = request.content_type == "application/json"
    d = cases.get(person_id.encode())
    try:
        if d is None:
            raise CareError("person_id", f"no IOM record for person {person_id}")
        data = await _form(request)
        command = {"person_id": person_id, **build(data)}
        casework.command(copy.deepcopy(d), command, service.clock(), Outputs(), rs)
    except (CareError, forms.FieldErrors, KeyError) as exc:
        fields = (exc.errors if isinstance(exc, forms.FieldErrors) else
                  {exc.field: exc.reason} if isinstance(exc, CareError) else
                  {str(exc.args[0]): "is required"})
        if as_json:
            return view.json({"error": "refused", "fields": fields}, status=422)
        return view.html(pages.refused(422, "; ".join(f"{k}: {v}" for k, v in
                                                      fields.items())), status=422)
    await service.send_json(COMMANDS, person_id.encode(), command)
    await _audit(request, person_id, "ALTER", command["command"].replace("_", " "))
    if as_json:
        return view.json({"status": "accepted", "report": f"/people/{person_id}/report"},
                         status=202)
    return _see_other(view, f"/people/{person_id}/report")


def _needs_command(data: dict[str, Any]) -> dict[str, Any]:
    found = data.get("needs")
    if found is None:  # the form: level_<NEED> and evidence_<NEED> per need
        found = {k[len("level_"):]: {"level": v, "evidence": data.get(
            f"evidence_{k[len('level_'):]}", "")} for k, v in data.items()
            if k.startswith("level_") and v}
    return {"command": "assess_needs", "needs": found, "assessed_by": data["assessed_by"],
            "assessed_on": data.get("assessed_on") or service.clock().date().isoformat()}


def _action_command(data: dict[str, Any]) -> dict[str, Any]:
    action_id = data.get("action_id") or hashlib.sha256(
        f"{data.get('need')}|{data.get('description')}|{data.get('due')}".encode()
    ).hexdigest()[:16]
    return {"command": "add_action", "action_id": action_id, **{
        k: data.get(k) for k in ("need", "pathway", "partner_agency", "description", "due",
                                 "agreed_by")}}


@app.page("/people/{person_id}/needs")
class Needs(View):
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, _needs_command)


@app.page("/people/{person_id}/plan/actions")
class PlanActions(View):
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, _action_command)


@app.page("/people/{person_id}/plan/actions/{action_id}/outcome")
class ActionOutcome(View):
    async def post(self, request: Request, person_id: str, action_id: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "record_outcome", "action_id": action_id, "outcome": data["outcome"],
            "on": data.get("on") or service.clock().date().isoformat()})


@app.page("/people/{person_id}/plan/reviews")
class PlanReviews(View):
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "review_plan", "reviewed_by": data["reviewed_by"],
            "reviewed_on": data.get("reviewed_on") or service.clock().date().isoformat(),
            "next_review": data.get("next_review") or None})


@app.page("/people/{person_id}/checklist/{item}")
class ChecklistItem(View):
    async def post(self, request: Request, person_id: str, item: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "mark_item", "item": item, "status": data["status"], "by": data["by"],
            "on": data.get("on") or service.clock().date().isoformat()})


@app.page("/people/{person_id}/pathway")
class Pathway(View):
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "change_pathway", "pathway": data["pathway"], "reason": data["reason"]})


@app.page("/agencies/{agency}/actions")
async def agency_actions_page(web: Any, request: Request, agency: str) -> Response:
    actions = casework.agency_actions(list(_dossiers()), agency)
    for person_id in sorted({a["person_id"] for a in actions}):
        await _audit(request, person_id, "DISCLOSE", "partner's plan actions",
                     {"agency": agency})
    if _wants_json(request):
        return web.json({"agency": agency, "actions": actions})
    return _html(web, carepages.my_actions(agency, actions))


# -- the MACC panel -------------------------------------------------------------------------------


def _agenda(force: str, panel_date: date) -> dict[str, Any]:
    referrals, decisions, assessments, grades = [], [], {}, {}
    for d in _dossiers():
        if not d["referrals"] or d["person"] is None:
            continue
        for r in d["referrals"].values():
            referrals.append({**r, "person_id": d["person_id"],
                              "submitted_at": datetime.fromisoformat(r["submitted_at"])})
        for x in d["decisions"]:
            decisions.append({**x, "panel_date": date.fromisoformat(x["panel_date"])})
        open_referral = d["referrals"].get(d["open_referral"]) if d["open_referral"] else None
        advice = dossier.assessment(d, open_referral, rs)
        if advice is not None:
            assessments[d["person_id"]] = advice
        if d["grade"]:
            grades[d["person_id"]] = d["grade"]
    items = panel.agenda(referrals, decisions, assessments, grades, panel_date, force=force)
    return {"force": force, "panel_date": panel_date.isoformat(), "items": [{
        "referral": {**item.referral, "submitted_at": item.referral["submitted_at"].isoformat()},
        "urgent": item.urgent,
        "assessment": None if item.assessment is None else {
            "cohort": item.assessment.cohort, "reasons": list(item.assessment.reasons)},
        "rag": item.rag, "grade_reasons": list(item.grade_reasons),
        "deferred_on": [x.isoformat() for x in item.deferred_on]} for item in items]}


@app.page("/panel")
async def agenda_page(web: Any, request: Request) -> Response:
    force = request.query.get("force", "")
    if not force:
        return web.json({"error": "force: give the force whose panel this is"}, status=400)
    today = panel.uk_local_date(service.clock())
    try:
        when = request.query.get("date")
        panel_date = date.fromisoformat(when) if when else panel.next_panel(
            rs.panel_rule_of(force), today - timedelta(days=1))
    except ValueError as exc:
        return web.json({"error": f"date: {exc}"}, status=400)
    doc = _agenda(force, panel_date)
    for item in doc["items"]:
        await _audit(request, item["referral"]["person_id"], "CONSULT", "MACC panel agenda")
    if _wants_json(request):
        return web.json(doc)
    return _html(web, pages.agenda(doc))


@app.page("/panel/decisions")
class Decisions(View):
    """Record a MACC panel decision (or an out-of-cycle one for an urgent referral)."""

    async def post(self, request: Request) -> Response:
        as_json = request.content_type == "application/json"
        now = service.clock()
        try:
            data = await _form(request)
            if not data.get("panel_date"):  # out of cycle: decided today
                data["panel_date"] = panel.uk_local_date(now).isoformat()
            fields = forms.decision_from_input(data)
            found = next((d for d in _dossiers()
                          if fields["referral_id"] in d["referrals"]), None)
            if found is None:
                raise forms.FieldErrors({"referral_id": "no such referral"})
            referral = {**found["referrals"][fields["referral_id"]],
                        "person_id": found["person_id"]}
            if referral["status"] in panel.FINAL_OUTCOMES:
                raise forms.FieldErrors(
                    {"referral_id": f"already decided: {referral['status']}"})
            if referral.get("urgent") and fields["panel_date"] > panel.uk_local_date(now):
                # Urgent referrals are decided out of cycle, on the day.
                fields["panel_date"] = panel.uk_local_date(now)
            decided = panel.decide(
                referral, outcome=fields["outcome"],
                panel_date=fields["panel_date"],
                decided_at=now, cohort=fields.get("cohort"), pathway=fields.get("pathway"),
                lead_officer=fields.get("lead_officer"), rationale=fields.get("rationale"))
        except forms.FieldErrors as exc:
            if as_json:
                return self.json({"error": "invalid decision", "fields": exc.errors},
                                 status=422)
            return self.html(pages.refused(422, str(exc)), status=422)
        except panel.DecisionError as exc:
            if as_json:
                return self.json({"error": "invalid decision",
                                  "fields": {exc.field: exc.message}}, status=422)
            return self.html(pages.refused(422, str(exc)), status=422)
        await service.publish(topics.PANEL_DECISIONS, decided.decision)
        await _audit(request, referral["person_id"], "ALTER", "MACC panel decision",
                     {"decision_id": decided.decision["decision_id"]})
        report = f"/people/{referral['person_id']}/report"
        if as_json:
            return self.json({"decision_id": decided.decision["decision_id"],
                              "outcome": decided.decision["outcome"], "report": report},
                             status=201)
        return _see_other(self, report)


# -- the weekly MAP meeting -----------------------------------------------------------------------


def _map_pack(since: date, today: date, force: str | None) -> dict[str, Any]:
    members, changes, incidents = [], [], {"HIT": [], "BREACH": []}
    reviews: dict[str, str | None] = {}
    for d in _dossiers():
        case, person = d["case"], d["person"] or {}
        if not case or case["state"] not in dossier.OPEN_STATES or not case["registered_on"]:
            continue
        if force and person.get("force", "").casefold() != force.casefold():
            continue
        review = dossier.review_status(d, today, rs)
        reviews[d["person_id"]] = review and review["due"]
        members.append(lifecycle.CohortMember(
            d["person_id"], person.get("force") or "unknown",
            lifecycle.CaseState(case["state"]), date.fromisoformat(case["registered_on"]),
            (d["grade"] or {}).get("rag"), dossier._day(case["licence_end"]),
            dossier._day(d["reviews"][-1]["reviewed_on"]) if d["reviews"] else None,
            case["lead_officer"]))
        changes += [lifecycle.GradeChange(d["person_id"], g["rag"], g["previous_rag"],
                                          date.fromisoformat(g["graded_on"]))
                    for g in d["grade_changes"]]
        for i in d["incidents"]:
            incidents[i["kind"]].append(lifecycle.Incident(
                d["person_id"], i["incident_id"], i["ref"], date.fromisoformat(i["detected_on"])))
    pack = lifecycle.map_pack_changes(
        since, today, members, changes, incidents["HIT"], incidents["BREACH"],
        ending_weeks=rs.transition_weeks, review_days=rs.review_days,
        red_review_days=rs.red_review_days)
    forces = sorted({m.force for m in members})
    order = lifecycle.GRADE_ORDER

    def of(force_name: str, items: list[Any]) -> list[Any]:
        by_person = {m.person_id: m for m in members}
        return [i for i in items if by_person[i.person_id].force == force_name]

    return {"since": since.isoformat(), "until": today.isoformat(), "forces": [{
        "force": f,
        "cohort": [{"person_id": m.person_id, "rag": m.rag, "state": str(m.state),
                    "lead_officer": m.lead_officer,
                    "licence_end": dossier._iso(m.licence_end),
                    "review_due": reviews.get(m.person_id)}
                   for m in sorted((m for m in members if m.force == f),
                                   key=lambda m: (order.get(m.rag, 3), m.person_id))],
        "changes": {
            "new_reds": [{"person_id": c.person_id, "previous_rag": c.previous_rag,
                          "graded_on": c.graded_on.isoformat()} for c in of(f, pack.new_reds)],
            "hits": [_incident(i) for i in of(f, pack.hits)],
            "breaches": [_incident(i) for i in of(f, pack.breaches)],
            "new_registrations": [{"person_id": m.person_id,
                                   "registered_on": m.registered_on.isoformat(),
                                   "lead_officer": m.lead_officer}
                                  for m in of(f, pack.new_registrations)],
            "licences_ending": [{"person_id": m.person_id,
                                 "licence_end": dossier._iso(m.licence_end)}
                                for m in of(f, pack.licences_ending)],
            "overdue_reviews": [{"person_id": m.person_id,
                                 "review_due": reviews.get(m.person_id)}
                                for m in of(f, pack.overdue_reviews)],
        }} for f in forces]}


def _incident(i: lifecycle.Incident) -> dict[str, Any]:
    return {"person_id": i.person_id, "incident_id": i.incident_id, "ref": i.ref,
            "detected_on": i.detected_on.isoformat()}


@app.page("/map")
async def map_page(web: Any, request: Request) -> Response:
    today = panel.uk_local_date(service.clock())
    try:
        since_text = request.query.get("since")
        since = date.fromisoformat(since_text) if since_text else today - timedelta(
            days=rs.map_interval_days)
        doc = _map_pack(since, today, request.query.get("force"))
    except ValueError as exc:
        return web.json({"error": f"since: {exc}"}, status=400)
    for f in doc["forces"]:
        for member in f["cohort"]:
            await _audit(request, member["person_id"], "CONSULT", "weekly MAP meeting pack")
    if _wants_json(request):
        return web.json(doc)
    return _html(web, pages.map_pack(doc))


# -- the quarterly Youth to Adult Transfer Panel -------------------------------------------------


@app.page("/youth-transfer")
async def youth_transfer_page(web: Any, request: Request) -> Response:
    today = panel.uk_local_date(service.clock())
    try:
        when = request.query.get("date")
        panel_date = date.fromisoformat(when) if when else youth.next_transfer_panel(
            today - timedelta(days=1))
    except ValueError as exc:
        return web.json({"error": f"date: {exc}"}, status=400)
    cases = [c for c in (dossier.youth_case(d) for d in _dossiers()) if c is not None]
    listed = youth.candidates(cases, panel_date)
    for case in listed:
        await _audit(request, case.person_id, "CONSULT", "Youth to Adult Transfer Panel")
    return web.json({"panel_date": panel_date.isoformat(), "candidates": [{
        "person_id": c.person_id, "order_type": str(youth.disposal(c.order_type).name),
        "order_end": c.order_end.isoformat(), "candidate_from":
        youth.candidate_from(c).isoformat(), "liaison_from": youth.liaison_from(c).isoformat(),
        "takeover_on": youth.takeover_on(c).isoformat()} for c in listed]})


if __name__ == "__main__":
    service.main()
