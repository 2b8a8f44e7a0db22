"""What every page module shares: reading a request (JSON or a form), answering it,
auditing a disclosure, and checking that the caller may see the person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from faust.web import Request, Response, View

from iomkit.identity import check_force, principal_of
from services.referrals.runtime import cases, dossiers, service
from services.referrals.web import forms


def wants_json(request: Request) -> bool:
    return request.query.get("format") == "json" or \
        "application/json" in request.headers.get("Accept", "")


async def read_form(request: Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise forms.FieldErrors({"body": "expected a JSON object"})
        return body
    return dict(await request.post())


async def audit(request: Request, person_id: str | None, action: str, purpose: str,
                 details: dict[str, str] | None = None) -> None:
    """Acknowledged by the broker before the page is answered; the actor is the token's."""
    await service.audit(request, action, purpose, person_id=person_id, details=details)


async def audit_list(request: Request, people: list[str], action: str, purpose: str,
                     details: dict[str, str] | None = None) -> None:
    """One record for a page that lists many people."""
    await service.audit(request, action, purpose, details=details,
                        people=sorted(set(people)))


def force_of(d: dict[str, Any] | None) -> str | None:
    return ((d or {}).get("person") or {}).get("force")


def check_person(request: Request, d: dict[str, Any] | None, person_id: str) -> None:
    """403 unless the person is one of the caller's forces' people. A dossier whose person
    is not known yet (a grade or a hit came first) is nobody's to see: 404, as if absent."""
    if d is None:
        return
    force = force_of(d)
    if force is None:
        raise web.HTTPNotFound(text=orjson.dumps(
            {"error": f"no IOM record for person {person_id} yet"}).decode(),
            content_type="application/json")
    check_force(request, force, person_id)


async def gathered(request: Request, listed: Callable[[dict[str, Any]], bool] = lambda d: True
                   ) -> list[dict[str, Any]]:
    """The dossiers a view lists (``listed``), from every worker holding some of them
    (iomkit.Service.gather): a list over one worker's partitions would leave people out."""
    return await service.gather(request, cases, lambda: [d for d in dossiers() if listed(d)])


def mine(request: Request, d: dict[str, Any]) -> bool:
    """Whether a dossier may be listed for the caller (lists keep their forces' only)."""
    return principal_of(request).sees(force_of(d))


def html_page(web: Any, text: str, status: int = 200) -> Response:
    return web.html(text, status=status)


def see_other(view: View, location: str) -> Response:
    """After a form POST, the browser goes to the page that shows the result."""
    return view.html(f'<a href="{location}">{location}</a>', status=303,
                     headers={"Location": location})
