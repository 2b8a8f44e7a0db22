"""Pages of one person: the referral form and intake, the management report and its
supervisor reviews."""

from __future__ import annotations

from datetime import date
from typing import Any

from faust.web import Request, Response, View

from iomkit import topics
from iomkit.identity import allow, check_force, principal_of
from iomkit.identity.isa import CASE_READERS, CASE_ROLES, HEALTH_ROLES, HEALTH_SECTIONS
from services.referrals.care import casework
from services.referrals.case import dossier, records, signals
from services.referrals.runtime import COMMANDS, PERSON, cases, rs, service
from services.referrals.web import forms, render, render_care, render_records, render_selection
from services.referrals.web.common import (
    audit,
    check_person,
    force_of,
    gathered,
    html_page,
    read_form,
    see_other,
)

# -- referral intake ------------------------------------------------------------------------------


@service.page("/referrals/new")
@allow(CASE_ROLES, scope="")
async def referral_form(web: Any, request: Request) -> Response:
    return html_page(web, render.referral_form())


@service.page("/referrals")
class Referrals(View):
    """POST a referral (JSON, or the HTML form). Errors name the field; a person with an open
    referral is refused with a pointer to it."""

    @allow(CASE_ROLES, scope="")
    async def get(self, request: Request) -> Response:
        return self.html(render.referral_form())

    @allow(CASE_ROLES)
    async def post(self, request: Request) -> Response:
        as_json = request.content_type == "application/json"
        now = service.clock()
        data: dict[str, Any] = {}
        try:
            data = await read_form(request)
            referral_id = forms.referral_id_for(str(data.get("person_id", "")), now,
                                                str(data.get("referrer", "")))
            referral = forms.referral_from_input(data, referral_id=referral_id,
                                                 submitted_at=now)
        except (forms.FieldErrors, ValueError) as exc:
            errors = exc.errors if isinstance(exc, forms.FieldErrors) else {"body": str(exc)}
            if as_json:
                return self.json({"error": "invalid referral", "fields": errors}, status=422)
            values = {k: str(v) for k, v in data.items()}
            return self.html(render.referral_form(values, errors), status=422)
        d = cases.get(referral["person_id"].encode())
        if force_of(d) is not None:  # a person not known yet may be referred (as before)
            check_person(request, d, referral["person_id"])
        open_id = d and d.get("open_referral")
        if open_id:
            existing = d["referrals"][open_id]
            if as_json:
                return self.json({"error": f"person {referral['person_id']} already has open "
                                  f"referral {open_id}", "existing": f"/referrals/{open_id}"},
                                 status=409)
            return self.html(render.duplicate_referral(existing), status=409)
        await service.publish(topics.REFERRALS, referral, acknowledged=True)
        await audit(request, referral["person_id"], "COLLECT", "referral to IOM",
                     {"referral_id": referral_id})
        service.log.info("referral.submitted", referral_id=referral_id)
        assessment = dossier.assessment(d, referral, rs, now) if d else None
        advice = None if assessment is None else {"cohort": assessment.cohort,
                                                  "reasons": list(assessment.reasons)}
        if as_json:
            return self.json({"referral_id": referral_id, "status": "submitted",
                              "assessment": advice,
                              "report": f"/people/{referral['person_id']}/report"},
                             status=201)
        return self.html(render.referral_received(
            {**referral, "submitted_at": now.isoformat()}, advice), status=201)


@service.page("/referrals/{referral_id}")
@allow(CASE_ROLES)
async def referral_view(web: Any, request: Request, referral_id: str) -> Response:
    for d in await gathered(request, lambda d: referral_id in d["referrals"]):
        if referral_id in d["referrals"]:
            check_force(request, force_of(d), d["person_id"])
            await audit(request, d["person_id"], "VIEW", "referral",
                         {"referral_id": referral_id})
            return web.json({"person_id": d["person_id"], **d["referrals"][referral_id],
                             "report": f"/people/{d['person_id']}/report"})
    return web.json({"error": f"no referral {referral_id}"}, status=404)


# -- the management report ----------------------------------------------------------------------


@service.page("/people/{person_id}/report.json", owned_by=PERSON)
@allow(CASE_READERS)
async def report_json(web: Any, request: Request, person_id: str) -> Response:
    d = cases.get(person_id.encode())
    if d is None:
        return web.json({"error": f"no IOM record for person {person_id}"}, status=404)
    check_person(request, d, person_id)
    await audit(request, person_id, "VIEW", "management report")
    return web.json(_report(request, d))


@service.page("/people/{person_id}/report", owned_by=PERSON)
@allow(CASE_READERS)
async def report_page(web: Any, request: Request, person_id: str) -> Response:
    d = cases.get(person_id.encode())
    if d is None:
        return html_page(web, render.not_found(f"an IOM record for person {person_id}"), 404)
    check_person(request, d, person_id)
    await audit(request, person_id, "VIEW", "management report")
    doc = _report(request, d)
    return html_page(web, render.report(doc, render_selection.report_sections(doc["selection"])
                                        + render_care.care_sections(doc)
                                        + render_records.record_sections(doc)))


def _report(request: Request, d: dict[str, Any]) -> dict[str, Any]:
    """The report with exactly the sections the caller's agreement allows: no needs or
    SASH for a role without health information, no case notes or contacts for a role
    outside the case."""
    now = service.clock()
    care = casework.view(d, now)
    role = principal_of(request).role
    if role not in HEALTH_ROLES:
        care = {k: v for k, v in care.items() if k not in HEALTH_SECTIONS}
    kept = records.view(d, now)
    if role not in CASE_ROLES:
        kept = {k: v for k, v in kept.items() if k not in records.CASE_ONLY}
    return {**dossier.report(d, now, rs), "selection": signals.view(d, now, rs),
            "care": care, "records": kept}


@service.page("/people/{person_id}/reviews", owned_by=PERSON)
class Reviews(View):
    """A supervisor's review of the management report, with the finding."""

    @allow(CASE_ROLES)
    async def post(self, request: Request, person_id: str) -> Response:
        as_json = request.content_type == "application/json"
        check_person(request, cases.get(person_id.encode()), person_id)
        try:
            review = forms.review_from_input(await read_form(request))
        except forms.FieldErrors as exc:
            if as_json:
                return self.json({"error": "invalid review", "fields": exc.errors}, status=422)
            return self.html(render.refused(422, str(exc)), status=422)
        d = cases.get(person_id.encode())
        case = d and d.get("case")
        if not case or case["state"] not in dossier.OPEN_STATES:
            why = f"person {person_id} is not on IOM: no management report to review"
            if as_json:
                return self.json({"error": why}, status=409)
            return self.html(render.refused(409, why), status=409)
        if review.get("reviewed_on") and review["reviewed_on"] > service.clock().date():
            if as_json:
                return self.json({"error": "invalid review", "fields": {
                    "reviewed_on": "is in the future"}}, status=422)
            return self.html(render.refused(422, "reviewed_on: is in the future"), status=422)
        command = {"command": "review", "person_id": person_id, **{
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in review.items()}}
        await service.send_json(COMMANDS, person_id.encode(), command, acknowledged=True)
        await audit(request, person_id, "ALTER", "supervisor review")
        if as_json:
            return self.json({"status": "recorded", "report": f"/people/{person_id}/report"},
                             status=202)
        return see_other(self, f"/people/{person_id}/report")


