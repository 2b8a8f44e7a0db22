"""gps_stream's views: a police force's crime file upload, a hit's evidence and a person's
trail (gathered from every worker). Who may call each is declared with @allow; the force
check and the audit are here, what is shown is evidence_pack.py's."""

from __future__ import annotations

import asyncio
import io
import tempfile
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from faust.web import Request, Response, View
from yarl import URL

from iomkit import crimeupload, evidential, nav
from iomkit.identity import allow, check_force, isa, principal_of, purpose_of
from iomkit.identity.guard import PURPOSE_HEADER, TOKEN_COOKIE, TooLarge
from iomkit.identity.isa import CRIME_UPLOAD_ROLES, EVIDENCE_ROLES
from iomkit.identity.principal import ALL_FORCES
from services.gps_stream.evidence_pack import hit_document, iso_of_ms, trail_features
from services.gps_stream.runtime import gps, matchers, peers, people, published, service, settings
from services.gps_stream.trail import epoch_ms

# -- police without Kafka: the daily crime file ------------------------------------------


@service.page("/crimes/upload")
class CrimesUpload(View):
    """POST the 13-column crime file, unchanged: accepted rows are published (a crime sent
    again unchanged is not), and every refused row is listed with line, column and reason.
    Only a police upload account, and only its own force's rows (others are refused)."""

    @allow(CRIME_UPLOAD_ROLES, scope="force", max_body=gps.crime_file_max_bytes)
    async def post(self, request: Request) -> Response:
        principal = principal_of(request)
        with tempfile.TemporaryFile() as spooled:
            size = 0
            # streamed to disk in chunks: a large file never sits whole in memory
            async for chunk in request.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > gps.crime_file_max_bytes:
                    raise TooLarge(f"a crime file is at most {gps.crime_file_max_bytes} bytes")
                await asyncio.to_thread(spooled.write, chunk)
            spooled.seek(0)
            lines = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
            try:
                report = await crimeupload.upload(
                    settings, service.codec, lines, service.clock(),
                    forces=[f for f in principal.forces if f != ALL_FORCES])
            except UnicodeDecodeError:
                return self.json({"error": "the crime file is not UTF-8 text"}, status=400)
            finally:
                lines.detach()
        await service.audit(request, "COLLECT", "crime file upload",
                            details={"accepted": str(report.accepted),
                                     "refused": str(report.refused_rows)})
        return self.json({
            "accepted": report.accepted,
            "published": [{"crime_ref": ref, "version": v} for ref, v in report.published],
            "unchanged": report.unchanged,
            "refused": [{"line": r.line, "crime_ref": r.crime_ref, "column": r.column,
                         "reason": r.reason} for r in report.refused],
            "summary": report.summary(),
        }, status=200 if not report.refused else 422)


# -- evidence views --------------------------------------------------------------------


@service.page("/hits/{hit_id}")
@allow(EVIDENCE_ROLES, purpose=True)
async def hit_view(web: Any, request: Any, hit_id: str) -> Any:
    """The hit with exactly the fields the caller's role receives (isa.FIELDS): police get
    the evidence (fixes, the crime's place), probation that there was a hit and when."""
    hit = published.get(hit_id.encode())
    if hit is not None:  # evidence past its period is not shown, even before the purge
        hit = evidential.current(hit, evidential.cutoff(service.clock(),
                                                        settings.evidence_days))
    if hit is None:
        return web.json({"error": f"no hit {hit_id}"}, status=404)
    principal = principal_of(request)
    # The police of the force that reported the crime see it too, as its investigators.
    investigating = principal.investigates(isa.HIT, people.get(hit["person_id"]),
                                           hit.get("crime_force"))
    if not investigating:
        check_force(request, people.get(hit["person_id"]), hit["person_id"])
    crime = matchers.crimes.get(hit["crime_ref"])
    await service.audit(request, "CONSULT", "hit evidence", person_id=hit["person_id"],
                        details={"hit_id": hit_id, "as": "investigating force"
                                 if investigating else "managing force"})
    # the managing force, for the investigating force to contact (routing context, as a
    # notification carries it)
    document = hit_document({**hit, "force": people.get(hit["person_id"])}, crime,
                            principal.role, investigating)
    if nav.wants_html(request.headers.get("Accept", "")):
        return web.html(nav.json_page(f"hit {hit_id}", document))
    return web.json(document)


@service.page("/people/{person_id}/trail")
@allow(EVIDENCE_ROLES, purpose=True)
async def trail_view(web: Any, request: Any, person_id: str) -> Any:
    """Where a person was: police and probation of their force, with a stated purpose."""
    check_force(request, people.get(person_id), person_id)
    now = service.clock()
    try:
        lo = _parse(request.query.get("from"), now - timedelta(days=1))
        hi = _parse(request.query.get("to"), now)
    except ValueError as exc:
        return web.json({"error": str(exc)}, status=400)
    lo = max(lo, matchers.cutoff_ms())  # purged fixes can no longer be read
    found = [[f.recorded_at_ms, f.lat, f.lon, f.accuracy_m, f.device_id]
             for m in list(matchers.matchers.values()) for f in m.trail(person_id, lo, hi)]
    if service.asked_by_peer(request):  # a peer gathering a trail: this worker's part only
        return web.json({"fixes": found})
    # A person's devices may sit on other workers' partitions: gather from every worker.
    # The peer checks the caller's own token and purpose again, and that a worker asks.
    forwarded = {"Authorization": f"Bearer {_token_of(request)}",
                 PURPOSE_HEADER: purpose_of(request)}
    for answer in await asyncio.gather(*(
        _peer_trail(url, person_id, lo, hi, forwarded) for url in peers.others()
    )):
        found += answer
    features = trail_features(sorted({tuple(f) for f in found}))
    await service.audit(request, "CONSULT", "trail", person_id=person_id,
                        details={"from": iso_of_ms(lo), "to": iso_of_ms(hi)})
    return web.json({"type": "FeatureCollection", "person_id": person_id,
                     "from": iso_of_ms(lo), "to": iso_of_ms(hi), "features": features})


def _token_of(request: Any) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else \
        request.cookies.get(TOKEN_COOKIE, "")


async def _peer_trail(url: str, person_id: str, lo: int, hi: int,
                      headers: dict[str, str]) -> list[list[Any]]:
    target = URL(url).with_path(f"/people/{person_id}/trail").with_query(
        {"from": iso_of_ms(lo), "to": iso_of_ms(hi)})
    try:
        async with service.peer_http().get(target, headers=service.as_peer("GET", target, headers),
                                           timeout=aiohttp.ClientTimeout(total=5)) as answer:
            return list((await answer.json())["fixes"])
    except (aiohttp.ClientError, TimeoutError, KeyError) as exc:
        service.log.warning("peer.unreachable", peer=url, error=type(exc).__name__)
        return []


def _parse(text: str | None, default: datetime) -> int:
    if not text:
        return epoch_ms(default)
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z for UTC")
    return epoch_ms(at)
