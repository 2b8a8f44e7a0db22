"""The console's views: the page, its server-sent events, the hit list and detail, the
evidence map and qualifying a hit. Every route declares its rule (iomkit.identity.allow);
the guard answers 401 and 403 and audits them, and the routes check the person's force
themselves (Board.may_see)."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from iomkit import topics
from iomkit.identity import Forbidden, allow, principal_of, public
from iomkit.identity.isa import EVIDENCE_ROLES
from iomkit.identity.signin import SIGNIN
from services.notifications import evidence, mapsvg, pages
from services.notifications.console import (
    CONSOLE_ROLES,
    HIT_QUALIFIERS,
    hit_ruling_event,
    qualification_problem,
    sse,
)
from services.notifications.internal import QUALIFICATIONS
from services.notifications.runtime import board, crimes, notify, service, stopping, zones


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
    item = board.get(hit_id)
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
    return html(pages.console(principal_of(request), nonce, leaflet_vendored(),
                              notify.tile_url, notify.tile_attribution), nonce)


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
                item = board.get(getting.result())
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
            shown = board.card(item, principal, item.record.get("crime_ref") in crimes,
                               item.record.get("zone_id") in zones)
            await response.write(sse("card", shown, item.id))


@service.page("/api/hits")
@allow(CONSOLE_ROLES, scope="item")
async def hit_list(web: Any, request: Request) -> aioweb.Response:
    principal = principal_of(request)
    shown = [board.card(i, principal, i.record.get("crime_ref") in crimes,
                        i.record.get("zone_id") in zones)
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
    return json_response(board.card(item, principal_of(request),
                                    item.record.get("crime_ref") in crimes,
                                    item.record.get("zone_id") in zones))


@service.page("/console/hits/{hit_id}/map.svg")
@allow(EVIDENCE_ROLES, purpose=True, scope="item")
async def hit_map(web: Any, request: Request, hit_id: str) -> aioweb.Response:
    item = visible_hit(request, hit_id)
    if not board.card(item, principal_of(request), False)["map"]:
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
    risk service grades) or out (RULED_OUT: OffenderEvent HIT_RULED_OUT), with a reason."""

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
        if item.qualification is not None:
            # One decision per hit, whichever force makes it: the other force sees it.
            return json_response({"error": "the hit is already qualified",
                                  "qualification": item.qualification}, 409)
        now = service.clock()
        hit = item.record
        qualification = {"outcome": outcome, "reason": reason.strip(),
                         "by": principal.username, "force": principal.force,
                         "at": now.isoformat(), "revision": hit["revision"]}
        await service.publish(topics.OFFENDER_EVENTS, hit_ruling_event(
            hit, outcome, reason.strip(), principal, now), acknowledged=True)
        await service.send_json(QUALIFICATIONS, hit_id.encode(), qualification,
                                acknowledged=True)
        board.qualify(hit_id, qualification)
        await service.audit(request, "ALTER", f"hit qualified {outcome}",
                            person_id=hit["person_id"],
                            details={"item": hit_id, "outcome": outcome,
                                     "revision": str(hit["revision"]),
                                     "as": "investigating force" if board.investigating(
                                         principal, item) else "managing force"})
        service.log.info("hit.qualified", outcome=outcome, role=principal.role)
        return json_response(qualification)


# -- the evidence: Leaflet's map data, the evidence pack, breaches on the map ---------------

VENDORED = {"leaflet.js": "application/javascript", "leaflet.css": "text/css"}


def leaflet_vendored() -> bool:
    return all((notify.leaflet_dir / name).is_file() for name in VENDORED)


async def vendored(name: str) -> aioweb.Response:
    path = notify.leaflet_dir / name
    if not path.is_file():
        raise aioweb.HTTPNotFound(text="Leaflet is not vendored here (make leaflet)")
    body = await asyncio.to_thread(path.read_bytes)
    return aioweb.Response(body=body, content_type=VENDORED[name], headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


@service.page("/console/vendor/leaflet.js")
@allow(CONSOLE_ROLES, scope="")
async def leaflet_js(web: Any, request: Request) -> aioweb.Response:
    """Leaflet, vendored from npm at build time: the console loads nothing from elsewhere."""
    return await vendored("leaflet.js")


@service.page("/console/vendor/leaflet.css")
@allow(CONSOLE_ROLES, scope="")
async def leaflet_css(web: Any, request: Request) -> aioweb.Response:
    return await vendored("leaflet.css")


def evidence_item(request: Request, hit_id: str) -> Any:
    """A hit whose evidence (where the person was) the caller's role receives."""
    item = visible_hit(request, hit_id)
    if item.kind != "HIT" or not board.card(item, principal_of(request), False)["map"]:
        raise Forbidden("your role does not receive location data", item.record["person_id"])
    return item


@service.page("/console/hits/{hit_id}/map.json")
@allow(EVIDENCE_ROLES, purpose=True, scope="item")
async def hit_map_data(web: Any, request: Request, hit_id: str) -> aioweb.Response:
    """The evidence map's data for Leaflet: crime, fixes, gaps (GeoJSON), in words."""
    item = evidence_item(request, hit_id)
    await service.audit(request, "VIEW", "hit evidence map", person_id=item.record["person_id"],
                        details={"item": hit_id, "revision": str(item.record["revision"])})
    return json_response(evidence.trail_geojson(item.record["fixes"],
                                                crimes.get(item.record["crime_ref"])))


def evidence_pack(request: Request, item: Any) -> dict[str, Any]:
    principal = principal_of(request)
    # the crime force's investigators get the evidence, not the case (lead officer, RoSH)
    subject = None if board.investigating(principal, item) else board.subject_of(item)
    return evidence.pack(
        item.record, crimes.get(item.record["crime_ref"]), item.qualification,
        force=board.force_of(item), lead_officer=subject.lead_officer if subject else None,
        rosh_level=subject.rosh_level if subject else None,
        made_for=f"{principal.username} ({principal.role}, {principal.force})",
        purpose=str(request.query.get("purpose", "")).strip()[:200], now=service.clock())


async def audited_pack(request: Request, hit_id: str, form: str) -> tuple[Any, dict[str, Any]]:
    """The hit and its evidence pack, the disclosure audited (acknowledged) before either
    leaves, in the ``form`` it is asked for (html, pdf)."""
    item = evidence_item(request, hit_id)
    await service.audit(request, "VIEW", "hit evidence pack", person_id=item.record["person_id"],
                        details={"item": hit_id, "revision": str(item.record["revision"]),
                                 "format": form})
    return item, evidence_pack(request, item)


@service.page("/console/hits/{hit_id}/pack.html")
@allow(EVIDENCE_ROLES, purpose=True, scope="item")
async def hit_pack_page(web: Any, request: Request, hit_id: str) -> aioweb.Response:
    """The evidence pack as one printable page (no script)."""
    _, pack = await audited_pack(request, hit_id, "html")
    nonce = secrets.token_urlsafe(16)
    return html(evidence.html(pack, nonce), nonce)


@service.page("/console/hits/{hit_id}/pack.pdf")
@allow(EVIDENCE_ROLES, purpose=True, scope="item")
async def hit_pack_pdf(web: Any, request: Request, hit_id: str) -> aioweb.Response:
    """The evidence pack as a PDF, to attach to a case file."""
    item, pack = await audited_pack(request, hit_id, "pdf")
    body = await asyncio.to_thread(evidence.pdf, pack)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", f"evidence-{item.record['crime_ref']}-{hit_id}")
    return aioweb.Response(body=body, content_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}.pdf"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def breach_zone(request: Request, breach_id: str) -> tuple[Any, dict[str, Any]]:
    item = visible_hit(request, breach_id)
    zone = zones.get(item.record.get("zone_id"))
    if item.kind != "ZONE_BREACH" or zone is None:
        raise aioweb.HTTPNotFound(text=orjson.dumps({"error": "no zone to draw"}).decode(),
                                  content_type="application/json")
    return item, zone


async def audit_breach_map(request: Request, item: Any) -> None:
    await service.audit(request, "VIEW", "zone breach map", person_id=item.record["person_id"],
                        details={"item": item.id, "zone": item.record["zone_id"]})


@service.page("/console/breaches/{breach_id}/map.json")
@allow(EVIDENCE_ROLES, purpose=True, scope="item")
async def breach_map_data(web: Any, request: Request, breach_id: str) -> aioweb.Response:
    """A zone breach on the map: the zone the person entered or left."""
    item, zone = breach_zone(request, breach_id)
    await audit_breach_map(request, item)
    return json_response(evidence.zone_geojson(zone, item.record))


@service.page("/console/breaches/{breach_id}/map.svg")
@allow(EVIDENCE_ROLES, purpose=True, scope="item")
async def breach_map_svg(web: Any, request: Request, breach_id: str) -> aioweb.Response:
    item, zone = breach_zone(request, breach_id)
    await audit_breach_map(request, item)
    colour = evidence.ZONE_COLOURS.get(zone["kind"], ("#e9a100", ""))[0]
    svg = mapsvg.render_zone(zone["polygon"], colour, evidence.zone_label(zone, item.record))
    return aioweb.Response(text=svg, content_type="image/svg+xml",
                           headers={"Cache-Control": "no-store"})
