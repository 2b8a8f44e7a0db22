"""Pages that change needs, the intervention plan and the pre-release checklist, and a
partner's \"my actions\" page."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

from faust.web import Request, Response, View

from iomkit.identity import Forbidden, allow, principal_of
from iomkit.identity.isa import CASE_ROLES, PARTNER_ROLES
from services.referrals.care import casework
from services.referrals.care.checks import CareError
from services.referrals.case.dossier import Outputs
from services.referrals.runtime import COMMANDS, PERSON, cases, rs, service
from services.referrals.web import forms, render, render_care
from services.referrals.web.common import (
    audit,
    audit_list,
    check_person,
    gathered,
    html_page,
    mine,
    read_form,
    see_other,
    wants_json,
)

# -- needs, plan and through the gate ------------------------------------------------------------


async def _care_command(view: View, request: Request, person_id: str,
                        build: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    """Check a change on a copy of the person's dossier (errors name the field), then put
    it on the commands topic for the agent to apply in order."""
    as_json = request.content_type == "application/json"
    d = cases.get(person_id.encode())
    check_person(request, d, person_id)
    try:
        if d is None:
            raise CareError("person_id", f"no IOM record for person {person_id}")
        data = await read_form(request)
        command = {"person_id": person_id, **build(data)}
        casework.command(copy.deepcopy(d), command, service.clock(), Outputs(), rs)
    except (CareError, forms.FieldErrors, KeyError) as exc:
        fields = (exc.errors if isinstance(exc, forms.FieldErrors) else
                  {exc.field: exc.reason} if isinstance(exc, CareError) else
                  {str(exc.args[0]): "is required"})
        if as_json:
            return view.json({"error": "refused", "fields": fields}, status=422)
        return view.html(render.refused(422, "; ".join(f"{k}: {v}" for k, v in
                                                      fields.items())), status=422)
    await service.send_json(COMMANDS, person_id.encode(), command, acknowledged=True)
    await audit(request, person_id, "ALTER", command["command"].replace("_", " "))
    if as_json:
        return view.json({"status": "accepted", "report": f"/people/{person_id}/report"},
                         status=202)
    return see_other(view, f"/people/{person_id}/report")


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


@service.page("/people/{person_id}/needs", owned_by=PERSON)
class Needs(View):
    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, _needs_command)


@service.page("/people/{person_id}/plan/actions", owned_by=PERSON)
class PlanActions(View):
    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, _action_command)


@service.page("/people/{person_id}/plan/actions/{action_id}/outcome", owned_by=PERSON)
class ActionOutcome(View):
    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str, action_id: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "record_outcome", "action_id": action_id, "outcome": data["outcome"],
            "on": data.get("on") or service.clock().date().isoformat()})


@service.page("/people/{person_id}/plan/reviews", owned_by=PERSON)
class PlanReviews(View):
    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "review_plan", "reviewed_by": data["reviewed_by"],
            "reviewed_on": data.get("reviewed_on") or service.clock().date().isoformat(),
            "next_review": data.get("next_review") or None})


@service.page("/people/{person_id}/checklist/{item}", owned_by=PERSON)
class ChecklistItem(View):
    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str, item: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "mark_item", "item": item, "status": data["status"], "by": data["by"],
            "on": data.get("on") or service.clock().date().isoformat()})


@service.page("/people/{person_id}/pathway", owned_by=PERSON)
class Pathway(View):
    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        return await _care_command(self, request, person_id, lambda data: {
            "command": "change_pathway", "pathway": data["pathway"], "reason": data["reason"]})


@service.page("/agencies/{agency}/actions")
@allow(PARTNER_ROLES | CASE_ROLES, scope="agency")
async def agency_actions_page(web: Any, request: Request, agency: str) -> Response:
    """A partner sees its own agency's actions only; police and probation see what an
    agency owes their forces' people."""
    principal = principal_of(request)
    if principal.role in PARTNER_ROLES and \
            principal.agency.casefold().split() != agency.casefold().split():
        raise Forbidden("a partner sees its own agency's actions only")
    actions = casework.agency_actions(await gathered(request, lambda d: mine(request, d)),
                                      agency)
    await audit_list(request, [a["person_id"] for a in actions], "DISCLOSE",
                     "partner's plan actions", {"agency": agency})
    if wants_json(request):
        return web.json({"agency": agency, "actions": actions})
    return html_page(web, render_care.my_actions(agency, actions))


