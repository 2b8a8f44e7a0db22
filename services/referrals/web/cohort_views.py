"""Pages across the cohort: the MACC panel agenda and decisions, the weekly MAP pack and
the Youth to Adult Transfer Panel list."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from faust.web import Request, Response, View

from iomkit import topics
from iomkit.identity import Forbidden, allow, check_force, principal_of
from iomkit.identity.isa import CASE_ROLES
from services.referrals.care.checks import day, iso
from services.referrals.case import dossier, lifecycle, minutes, panel, signals, youth
from services.referrals.runtime import rs, service
from services.referrals.web import forms, render, render_records
from services.referrals.web.common import (
    audit,
    audit_list,
    force_of,
    gathered,
    html_page,
    mine,
    read_form,
    see_other,
    wants_json,
)

# -- the MACC panel -------------------------------------------------------------------------------


def _pending(found: list[dict[str, Any]]
             ) -> tuple[list[Any], list[Any], dict[str, Any], dict[str, Any]]:
    """Referrals, decisions, eligibility advice and grades of the people on the panel's books."""
    referrals, decisions, assessments, grades = [], [], {}, {}
    for d in found:
        if not d["referrals"] or d["person"] is None:
            continue
        for r in d["referrals"].values():
            referrals.append({**r, "person_id": d["person_id"],
                              "submitted_at": datetime.fromisoformat(r["submitted_at"])})
        for x in d["decisions"]:
            decisions.append({**x, "panel_date": date.fromisoformat(x["panel_date"])})
        open_referral = d["referrals"].get(d["open_referral"]) if d["open_referral"] else None
        advice = dossier.assessment(d, open_referral, rs, service.clock())
        if advice is not None:
            assessments[d["person_id"]] = advice
        if d["grade"]:
            grades[d["person_id"]] = d["grade"]
    return referrals, decisions, assessments, grades


def _sitting(books: tuple[Any, ...], force: str, panel_date: date,
             already: frozenset[str] = frozenset(),
             flags: dict[str, Any] | None = None) -> dict[str, Any]:
    """One sitting's agenda, leaving out the referrals ``already`` listed for an earlier one;
    each item with the person's selection signals (MAPPA, PPO, RoSH, prolific...)."""
    items = panel.agenda(*books, panel_date, force=force)
    flags = flags or {}
    return {"panel_date": panel_date.isoformat(), "items": [{
        "referral": {**item.referral, "submitted_at": item.referral["submitted_at"].isoformat()},
        "urgent": item.urgent,
        "assessment": None if item.assessment is None else {
            "cohort": item.assessment.cohort, "reasons": list(item.assessment.reasons)},
        "rag": item.rag, "grade_reasons": list(item.grade_reasons),
        "deferred_on": [x.isoformat() for x in item.deferred_on],
        "flags": flags.get(item.referral["person_id"])}
        for item in items if item.referral["referral_id"] not in already]}


def _agenda(found: list[dict[str, Any]], force: str, sittings: tuple[date, ...]
            ) -> dict[str, Any]:
    """The first sitting's agenda and, on a panel day, what is waiting for the next one."""
    books = _pending(found)
    now = service.clock()
    flags = {d["person_id"]: _flags(d, now) for d in found if d["person"] is not None}
    first = _sitting(books, force, sittings[0], flags=flags)
    following = None
    if len(sittings) > 1:
        listed = frozenset(i["referral"]["referral_id"] for i in first["items"])
        following = _sitting(books, force, sittings[1], listed, flags)
    return {"force": force, **first, "next_sitting": following}


def _flags(d: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The person's signals for the panel: the report's, without the victim's zones."""
    view = signals.view(d, now, rs)
    del view["victim_safety_zones"]
    return view


@service.page("/panel")
@allow(CASE_ROLES, scope="force")
async def agenda_page(web: Any, request: Request) -> Response:
    force = request.query.get("force", "")
    if not force:
        return web.json({"error": "force: give the force whose panel this is"}, status=400)
    if not principal_of(request).sees(force):
        raise Forbidden(f"the panel of a force not yours ({force[:64]})")
    today = panel.uk_local_date(service.clock())
    try:
        when = request.query.get("date")
        sittings = (date.fromisoformat(when),) if when else panel.sittings_on(
            rs.panel_rule_of(force), today)
    except ValueError as exc:
        return web.json({"error": f"date: {exc}"}, status=400)
    doc = _agenda(await gathered(request, lambda d: bool(d["referrals"])), force, sittings)
    listed = doc["items"] + (doc["next_sitting"] or {}).get("items", [])
    await audit_list(request, [i["referral"]["person_id"] for i in listed], "CONSULT",
                     "MACC panel agenda", {"force": force})
    if wants_json(request):
        return web.json(doc)
    return html_page(web, render.agenda(doc))


@service.page("/panel/decisions")
class Decisions(View):
    """Record a MACC panel decision (or an out-of-cycle one for an urgent referral)."""

    @allow(CASE_ROLES)
    async def post(self, request: Request) -> Response:
        as_json = request.content_type == "application/json"
        now = service.clock()
        try:
            data = await read_form(request)
            if not data.get("panel_date"):  # out of cycle: decided today
                data["panel_date"] = panel.uk_local_date(now).isoformat()
            fields = forms.decision_from_input(data)
            found = next(iter(await gathered(
                request, lambda d: fields["referral_id"] in d["referrals"])), None)
            if found is None:
                raise forms.FieldErrors({"referral_id": "no such referral"})
            check_force(request, force_of(found), found["person_id"])
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
                lead_officer=fields.get("lead_officer"), rationale=fields.get("rationale"),
                chair=fields.get("chair"), agencies_present=fields.get("agencies_present") or ())
        except forms.FieldErrors as exc:
            if as_json:
                return self.json({"error": "invalid decision", "fields": exc.errors},
                                 status=422)
            return self.html(render.refused(422, str(exc)), status=422)
        except panel.DecisionError as exc:
            if as_json:
                return self.json({"error": "invalid decision",
                                  "fields": {exc.field: exc.message}}, status=422)
            return self.html(render.refused(422, str(exc)), status=422)
        await service.publish(topics.PANEL_DECISIONS, decided.decision, acknowledged=True)
        await audit(request, referral["person_id"], "ALTER", "MACC panel decision",
                     {"decision_id": decided.decision["decision_id"]})
        report = f"/people/{referral['person_id']}/report"
        if as_json:
            return self.json({"decision_id": decided.decision["decision_id"],
                              "outcome": decided.decision["outcome"], "report": report},
                             status=201)
        return see_other(self, report)


# -- the weekly MAP meeting -----------------------------------------------------------------------


def _map_pack(found: list[dict[str, Any]], since: date, today: date, force: str | None
              ) -> dict[str, Any]:
    members, changes, incidents = [], [], {"HIT": [], "BREACH": []}
    reviews: dict[str, str | None] = {}
    for d in found:
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
            (d["grade"] or {}).get("rag"), day(case["licence_end"]),
            day(d["reviews"][-1]["reviewed_on"]) if d["reviews"] else None,
            case["lead_officer"]))
        changes += [lifecycle.GradeChange(d["person_id"], g["rag"], g["previous_rag"],
                                          date.fromisoformat(g["graded_on"]))
                    for g in d["grade_changes"]]
        for i in d["incidents"]:
            incidents[i["kind"]].append(lifecycle.Incident(
                d["person_id"], i["incident_id"], i["ref"], date.fromisoformat(i["detected_on"])))
    waiting = _waiting_referrals(found, today, force)
    pack = lifecycle.map_pack_changes(
        since, today, members, changes, incidents["HIT"], incidents["BREACH"],
        ending_weeks=rs.transition_weeks, review_days=rs.review_days,
        red_review_days=rs.red_review_days)
    forces = sorted({m.force for m in members} | set(waiting) | {
        _force(d) or "unknown" for d in found
        if (not force or (_force(d) or "").casefold() == force.casefold())
        and minutes.open_actions([(d["person_id"], (d.get("records") or {}).get("map") or {})],
                                 today)})
    order = lifecycle.GRADE_ORDER

    force_of = {m.person_id: m.force for m in members}

    def of(force_name: str, items: list[Any]) -> list[Any]:
        return [i for i in items if force_of[i.person_id] == force_name]

    return {"since": since.isoformat(), "until": today.isoformat(), "forces": [{
        "force": f,
        "cohort": [{"person_id": m.person_id, "rag": m.rag, "state": str(m.state),
                    "lead_officer": m.lead_officer,
                    "licence_end": iso(m.licence_end),
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
                                 "licence_end": iso(m.licence_end)}
                                for m in of(f, pack.licences_ending)],
            "overdue_reviews": [{"person_id": m.person_id,
                                 "review_due": reviews.get(m.person_id)}
                                for m in of(f, pack.overdue_reviews)],
            "referrals_waiting": waiting.get(f, []),
        },
        # actions agreed at earlier MAP meetings, carried into every pack until closed
        "open_actions": _open_actions(found, f, today)} for f in forces]}


def _force(d: dict[str, Any]) -> str | None:
    return (d.get("person") or {}).get("force")


def _open_actions(found: list[dict[str, Any]], force: str, today: date
                  ) -> list[dict[str, Any]]:
    return minutes.open_actions(
        ((d["person_id"], d["records"]["map"]) for d in found if d.get("records")
         and (_force(d) or "").casefold() == force.casefold()), today)


def _waiting_referrals(found: list[dict[str, Any]], today: date, force: str | None
                       ) -> dict[str, list[dict[str, Any]]]:
    """Open referrals by force, each with the sitting that decides it (panel.sitting), of
    the dossiers ``found`` (the caller's forces')."""
    by_force: dict[str, list[dict[str, Any]]] = {}
    for d in found:
        person = d["person"] or {}
        referral = d["referrals"].get(d["open_referral"]) if d["open_referral"] else None
        if referral is None or referral["status"] in panel.FINAL_OUTCOMES or not person:
            continue
        name = person.get("force") or "unknown"
        if force and name.casefold() != force.casefold():
            continue
        submitted = datetime.fromisoformat(referral["submitted_at"])
        when = panel.sitting({**referral, "submitted_at": submitted}, today,
                             rs.panel_rule_of(name))
        by_force.setdefault(name, []).append({
            "person_id": d["person_id"], "referral_id": referral["referral_id"],
            "urgent": referral["urgent"], "submitted_on": panel.uk_local_date(
                submitted).isoformat(), "sitting": iso(when) if isinstance(when, date) else when})
    for items in by_force.values():
        items.sort(key=lambda r: (r["sitting"] != panel.OUT_OF_CYCLE, r["sitting"],
                                  r["submitted_on"], r["referral_id"]))
    return by_force


def _incident(i: lifecycle.Incident) -> dict[str, Any]:
    return {"person_id": i.person_id, "incident_id": i.incident_id, "ref": i.ref,
            "detected_on": i.detected_on.isoformat()}


@service.page("/map")
@allow(CASE_ROLES, scope="force")
async def map_page(web: Any, request: Request) -> Response:
    """The pack of the caller's forces (or the one named, when it is theirs)."""
    today = panel.uk_local_date(service.clock())
    force = request.query.get("force")
    if force and not principal_of(request).sees(force):
        raise Forbidden(f"the MAP pack of a force not yours ({force[:64]})")
    try:
        since_text = request.query.get("since")
        since = date.fromisoformat(since_text) if since_text else today - timedelta(
            days=rs.map_interval_days)
        doc = _map_pack(await gathered(request, lambda d: mine(request, d)), since, today,
                        force)
    except ValueError as exc:
        return web.json({"error": f"since: {exc}"}, status=400)
    await audit_list(request, [m["person_id"] for f in doc["forces"]
                               for m in f["cohort"] + f["changes"]["referrals_waiting"]
                               + f["open_actions"]],
                     "CONSULT", "weekly MAP meeting pack")
    if wants_json(request):
        return web.json(doc)
    return html_page(web, render.map_pack(doc, lambda f: render_records.carried_actions(
        f["open_actions"]) + render_records.minutes_form(f["force"], doc["until"])))


# -- the quarterly Youth to Adult Transfer Panel -------------------------------------------------


@service.page("/youth-transfer")
@allow(CASE_ROLES, scope="force")
async def youth_transfer_page(web: Any, request: Request) -> Response:
    """The candidates of the caller's forces."""
    today = panel.uk_local_date(service.clock())
    try:
        when = request.query.get("date")
        panel_date = date.fromisoformat(when) if when else youth.next_transfer_panel(
            today - timedelta(days=1))
    except ValueError as exc:
        return web.json({"error": f"date: {exc}"}, status=400)
    cases = [c for c in (dossier.youth_case(d)
                         for d in await gathered(request, lambda d: mine(request, d)))
             if c is not None]
    listed = youth.candidates(cases, panel_date)
    await audit_list(request, [c.person_id for c in listed], "CONSULT",
                     "Youth to Adult Transfer Panel")
    return web.json({"panel_date": panel_date.isoformat(), "candidates": [{
        "person_id": c.person_id, "order_type": str(youth.disposal(c.order_type).name),
        "order_end": c.order_end.isoformat(), "candidate_from":
        youth.candidate_from(c).isoformat(), "liaison_from": youth.liaison_from(c).isoformat(),
        "takeover_on": youth.takeover_on(c).isoformat()} for c in listed]})
