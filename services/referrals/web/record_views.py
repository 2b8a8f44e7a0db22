"""Pages of the case records (case/records.py): manual de-registration, lead officer
reassignment, case notes and the contact log, the transition plan, and the MAP meeting's
minutes and actions. Each change is checked on a copy of the dossier (refusals name the
field), then put on the commands topic for the agent to apply in order, and audited."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

from faust.web import Request, Response, View

from iomkit.identity import Forbidden, allow, check_force, principal_of
from iomkit.identity.isa import CASE_ROLES
from services.referrals.care.checks import CareError
from services.referrals.case import minutes, records
from services.referrals.case.dossier import Outputs
from services.referrals.case.panel import uk_local_date
from services.referrals.runtime import COMMANDS, PERSON, cases, rs, service
from services.referrals.web import forms, render, render_records
from services.referrals.web.common import (
    audit,
    audit_list,
    check_person,
    force_of,
    gathered,
    html_page,
    mine,
    read_form,
    see_other,
    wants_json,
)


def _refused(view: View, as_json: bool, fields: dict[str, str], status: int = 422
             ) -> Response:
    if as_json:
        return view.json({"error": "refused", "fields": fields}, status=status)
    return view.html(render.refused(status, "; ".join(f"{k}: {v}" for k, v in fields.items())),
                     status=status)


async def _record(view: View, request: Request, person_id: str, name: str,
                  build: Callable[[dict[str, Any]], dict[str, Any]], purpose: str) -> Response:
    """Check a case-record command on a copy of the person's dossier, then send it."""
    as_json = request.content_type == "application/json"
    d = cases.get(person_id.encode())
    check_person(request, d, person_id)
    now = service.clock()
    try:
        if d is None:
            raise CareError("person_id", f"no IOM record for person {person_id}")
        data = await read_form(request)
        by = principal_of(request).username
        cmd = {"command": name, "person_id": person_id, "at": now.isoformat(), **build(data)}
        cmd["id"] = records.command_id(person_id, name, now, by)
        records.command(copy.deepcopy(d), cmd, Outputs(), rs)
    except (CareError, forms.FieldErrors) as exc:
        return _refused(view, as_json, exc.errors if isinstance(exc, forms.FieldErrors)
                        else {exc.field: exc.reason})
    await service.send_json(COMMANDS, person_id.encode(), cmd, acknowledged=True)
    await audit(request, person_id, "ALTER", purpose)
    if as_json:
        return view.json({"status": "accepted", "id": cmd["id"],
                          "report": f"/people/{person_id}/report"}, status=202)
    return see_other(view, f"/people/{person_id}/report")


def _by(request: Request, data: dict[str, Any], name: str = "by") -> str:
    """Who recorded it: as typed on the form, else the signed-in user."""
    given = data.get(name)
    return given if isinstance(given, str) and given.strip() else principal_of(request).username


@service.page("/people/{person_id}/deregistration", owned_by=PERSON)
class Deregistration(View):
    """De-register a person by hand, with the rationale (CohortChange DEREGISTERED)."""

    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        d = cases.get(person_id.encode())
        held = ((d or {}).get("records") or {}).get("deregistration")
        if held and ((d or {}).get("case") or {}).get("state") == "DEREGISTERED":
            check_person(request, d, person_id)
            data = await read_form(request)
            if " ".join(str(data.get("rationale", "")).split()) == " ".join(
                    held["rationale"].split()):  # the same submission again: done already
                await audit(request, person_id, "VIEW", "manual de-registration")
                return self.json({"status": "already de-registered", "id": held["id"],
                                  "at": held["at"]}, status=200)
        return await _record(self, request, person_id, "deregister", lambda data: {
            "rationale": data.get("rationale"), "by": _by(request, data)},
            "manual de-registration")


@service.page("/people/{person_id}/lead-officer", owned_by=PERSON)
class LeadOfficer(View):
    """Reassign the lead officer, with the reason (CohortChange LEAD_OFFICER_CHANGED)."""

    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _record(self, request, person_id, "reassign_lead", lambda data: {
            "lead_officer": data.get("lead_officer"), "reason": data.get("reason"),
            "by": _by(request, data)}, "lead officer reassignment")


@service.page("/people/{person_id}/notes", owned_by=PERSON)
class Notes(View):
    """Case notes and the contact log of one person: the case roles only, every read
    audited."""

    @allow(CASE_ROLES)
    async def get(self, request: Request, person_id: str) -> Response:
        d = cases.get(person_id.encode())
        if d is None:
            return self.json({"error": f"no IOM record for person {person_id}"}, status=404)
        check_person(request, d, person_id)
        await audit(request, person_id, "VIEW", "case notes and contacts")
        found = records.view(d, service.clock())
        return self.json({"person_id": person_id, "notes": found["notes"],
                          "contacts": found["contacts"]})

    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _record(self, request, person_id, "add_note", lambda data: {
            "text": data.get("text"), "author": _by(request, data, "author"),
            "agency": data.get("agency")}, "case note")


@service.page("/people/{person_id}/contacts", owned_by=PERSON)
class Contacts(View):
    """Log a contact: when, who, which agency, how (VISIT, PHONE, MEETING, ...)."""

    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _record(self, request, person_id, "log_contact", lambda data: {
            "contact_at": data.get("contact_at"), "agency": data.get("agency"),
            "method": data.get("method"), "summary": data.get("summary"),
            "by": _by(request, data)}, "contact log")


@service.page("/people/{person_id}/transition/plan", owned_by=PERSON)
class TransitionPlan(View):
    """The transition plan's steps: from when, what, who, and the contact, scaled back."""

    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _record(self, request, person_id, "transition_plan", lambda data: {
            "steps": forms.plan_steps_from_input(data, render_records.PLAN_ROWS),
            "by": _by(request, data)}, "transition plan")


@service.page("/people/{person_id}/map/actions/{action_id}/close", owned_by=PERSON)
class CloseMapAction(View):
    """Close an action agreed at a MAP meeting: it leaves the next pack."""

    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str, action_id: str) -> Response:
        return await _record(self, request, person_id, "close_map_action", lambda data: {
            "action_id": action_id, "closed_on": data.get("closed_on") or None,
            "outcome": data.get("outcome")}, "MAP action closed")


# -- the MAP meeting's minutes -------------------------------------------------------------------


@service.page("/map/minutes")
class MapMinutes(View):
    """Record a MAP meeting's minutes (POST) or read one meeting's (GET ?force=&date=)."""

    @allow(CASE_ROLES, scope="force")
    async def get(self, request: Request) -> Response:
        force = request.query.get("force", "")
        if not force:
            return self.json({"error": "force: give the force whose meeting this is"},
                             status=400)
        if not principal_of(request).sees(force):
            raise Forbidden(f"the MAP minutes of a force not yours ({force[:64]})")
        try:
            when = request.query.get("date")
            on = date.fromisoformat(when) if when else None
        except ValueError as exc:
            return self.json({"error": f"date: {exc}"}, status=400)
        found = await gathered(request, lambda d: mine(request, d) and bool(
            ((d.get("records") or {}).get("map") or {}).get("meetings")))
        doc = minutes.meeting_of(
            [(d["person_id"], d["records"]["map"]) for d in found], force, on)
        await audit_list(request, [p["person_id"] for p in doc["discussed"]], "CONSULT",
                         "MAP meeting minutes", {"force": force})
        if wants_json(request):
            return self.json(doc)
        return html_page(self, render_records.minutes_page(doc))

    @allow(CASE_ROLES, scope="force")
    async def post(self, request: Request) -> Response:
        as_json = request.content_type == "application/json"
        now = service.clock()
        try:
            data = forms.minutes_from_input(await read_form(request),
                                            render_records.ACTION_ROWS)
            taken = minutes.check_minutes(data, uk_local_date(now))
            if not principal_of(request).sees(taken["force"]):
                raise Forbidden(f"the MAP meeting of a force not yours ({taken['force'][:64]})")
            wanted = {p["person_id"] for p in taken["discussed"]}
            found = {d["person_id"]: d for d in await gathered(
                request, lambda d: d["person_id"] in wanted)}
            for n, item in enumerate(taken["discussed"]):
                d = found.get(item["person_id"])
                if d is None or force_of(d) is None:
                    raise CareError(f"discussed[{n}].person_id",
                                    f"no IOM record for person {item['person_id']}")
                check_force(request, force_of(d), item["person_id"])
                if str(force_of(d)).casefold() != taken["force"].casefold():
                    raise CareError(f"discussed[{n}].person_id",
                                    f"{item['person_id']} is managed by {force_of(d)}")
        except CareError as exc:
            return _refused(self, as_json, {exc.field: exc.reason})
        for cmd in minutes.commands(taken, now.isoformat()):
            await service.send_json(COMMANDS, cmd["person_id"].encode(), cmd,
                                    acknowledged=True)
        await audit_list(request, sorted(wanted), "ALTER", "MAP meeting minutes",
                         {"meeting_id": taken["meeting_id"], "force": taken["force"]})
        where = f"/map/minutes?force={taken['force']}&date={taken['meeting_date']}"
        if as_json:
            return self.json({"status": "accepted", "meeting_id": taken["meeting_id"],
                              "actions": [a["action_id"] for a in taken["actions"]],
                              "minutes": where}, status=202)
        return see_other(self, where.replace(" ", "+"))

