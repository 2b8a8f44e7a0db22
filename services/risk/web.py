"""risk's views: one person's grade with its reasons and history, and the grade list for
the MAP meeting. For POLICE, PROBATION and CENTRAL of the person's force; every disclosure
audited before the answer."""

from __future__ import annotations

from typing import Any

from iomkit import nav
from iomkit.identity import Forbidden, allow, check_force, principal_of
from iomkit.identity.isa import GRADE_ROLES
from services.risk.maplist import map_list
from services.risk.runtime import risk_settings, service, views


@service.page("/people/{person_id}/grade")
@allow(GRADE_ROLES)
async def person_grade(web: Any, request: Any, person_id: str) -> Any:
    document = views.get(person_id.encode())
    if document is None:
        return web.json({"error": f"no grade for person {person_id}"}, status=404)
    check_force(request, document["force"], person_id)
    await service.audit(request, "VIEW", "risk grade and its history", person_id=person_id)
    document = {**document, "rules": risk_settings.rules_file.name}
    if nav.wants_html(request.headers.get("Accept", "")):
        return web.html(nav.json_page(f"risk grade of {person_id}", document))
    return web.json(document)


@service.page("/grades")
@allow(GRADE_ROLES, scope="force")
async def grades(web: Any, request: Any) -> Any:
    """The grades of the caller's forces' people (or of the one force named, if theirs)."""
    rag = request.query.get("rag")
    force = request.query.get("force")
    principal = principal_of(request)
    if force and not principal.sees(force):
        raise Forbidden(f"the grades of a force not yours ({force[:64]})")
    rows = map_list(list(views.values()), principal.sees, rag, force)
    await service.audit(request, "VIEW", "grade list for the MAP meeting",
                        people=[row["person_id"] for row in rows])
    document = {"rag": rag, "force": force, "count": len(rows), "grades": rows}
    if nav.wants_html(request.headers.get("Accept", "")):
        return web.html(nav.json_page("risk grades", document))
    return web.json(document)
