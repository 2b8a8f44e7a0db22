"""insights' views: the page, its figures as JSON, every table as CSV or Parquet, and a
printable monthly pack. For POLICE, PROBATION and CENTRAL: an officer sees their own force's
figures as they are; a view that leaves a force (all forces, or a force seen from outside
it) has its small counts suppressed. Each answer is audited (consultation of the cohort's
figures, no person named)."""

from __future__ import annotations

import asyncio
import inspect
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import duckdb
from prometheus_client import Gauge

from iomkit import prometheus
from iomkit.audittrail.store import Store as AuditStore
from iomkit.identity import Forbidden, allow, principal_of
from iomkit.identity.isa import AUDIT_ROLES, CENTRAL, OPS_ROLES, POLICE, PROBATION
from iomkit.identity.principal import ALL_FORCES
from iomkit.opsfigures import ALL_FIGURES
from services.insights import dpo, ops, page, report
from services.insights.runtime import insights_settings, service, store, unit_costs

INSIGHTS_ROLES = frozenset({POLICE, PROBATION, CENTRAL})
FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
COHORT = Gauge("iom_insights_cohort_people", "People in the IOM cohort now, by force, cohort "
               "type and rag", ["force", "cohort", "rag"])
REOFFENDING = Gauge("iom_insights_proven_reoffending_ratio", "Proven reoffending (binary) "
                    "of the latest complete quarterly cohort, by force", ["force"])
ROWS = Gauge("iom_insights_store_rows", "Rows in the analytical store, by table", ["table"])


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class Scope:
    force: str | None  # None: every force
    start: datetime
    end: datetime
    suppressed: bool  # the figures leave the force: small counts are not shown
    as_of: datetime  # the outcomes as known then (the end of that day; now by default)

    def describe(self) -> dict[str, Any]:
        return {"force": self.force or "all forces", "from": self.start.date().isoformat(),
                "to": (self.end - timedelta(days=1)).date().isoformat(),
                "as_of": self.as_of.isoformat(),
                "suppressed_below": insights_settings.suppress_below if self.suppressed
                else None}


def _day(text: str | None, default: date, name: str) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} must be a date, YYYY-MM-DD") from None


def scope_of(request: Any, days: tuple[date, date] | None = None) -> Scope:
    """The force asked for (the caller's own by default) and the range [from, to] (``days``,
    or the query's): the last twelve months to today by default."""
    principal = principal_of(request)
    force = request.query.get("force") or None
    if force is None and ALL_FORCES not in principal.forces:
        force = principal.forces[0] if principal.forces else None
    if force is None and ALL_FORCES not in principal.forces:
        raise Forbidden("the figures of every force")
    if force is not None and not principal.sees(force):
        raise Forbidden(f"the figures of a force not yours ({force[:64]})")
    today = service.clock().date()
    last = days[1] if days else _day(request.query.get("to"), today, "to")
    first = days[0] if days else _day(request.query.get("from"), _year_before(last), "from")
    if first > last:
        raise BadRequest("from must not be after to")
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    now = service.clock()
    day = _day(request.query.get("as_of"), now.date(), "as_of")
    as_of = now if day == now.date() else datetime.combine(day, time.max, UTC)
    return Scope(force, start, end, force is None or force not in principal.forces, as_of)


def _year_before(last: date) -> date:
    """The first day of the month eleven months before ``last``'s: twelve months shown."""
    month = last.year * 12 + last.month - 1 - 11
    return date(month // 12, month % 12 + 1, 1)


async def document_of(scope: Scope) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        history = store.history(scope.force)
        document = report.build(history, start=scope.start, end=scope.end,
                                as_of=scope.as_of, costs=unit_costs)
        if scope.suppressed:
            document = report.suppress(document, insights_settings.suppress_below)
        return {"scope": scope.describe(), "synthetic": insights_settings.synthetic,
                **document}
    return await asyncio.to_thread(build)


async def _audited(request: Any, what: str, days: tuple[date, date] | None = None
                   ) -> dict[str, Any]:
    scope = scope_of(request, days)
    await service.audit(request, "CONSULT", what, details={
        "force": scope.force or ALL_FORCES, "from": scope.start.date().isoformat(),
        "to": scope.end.date().isoformat()})
    return await document_of(scope)


async def _answer(web: Any, request: Any, what: str, render: Callable[[dict[str, Any]], Any],
                  days: tuple[date, date] | None = None) -> Any:
    """The audited document rendered (``render`` may be a coroutine function), or 400
    saying which parameter is wrong."""
    try:
        document = await _audited(request, what, days)
    except BadRequest as error:
        return web.json({"error": str(error)}, status=400)
    answer = render(document)
    return await answer if inspect.isawaitable(answer) else answer


# -- how the system is doing (ops) ----------------------------------------------------------


async def ops_document() -> dict[str, Any]:
    """The key figures and alerts as Prometheus has them now; what it said if it could not
    answer (the page says so rather than show zeros)."""
    base, http = service.settings.prometheus(), service.peer_http()
    try:
        vectors = await asyncio.gather(*(prometheus.instant(http, base, figure.expr)
                                         for figure in ALL_FIGURES))
        firing = await prometheus.alerts(http, base)
    except prometheus.Unavailable as error:
        return ops.document({}, [], service.clock(), str(error))
    answers = {figure.key: vector for figure, vector in zip(ALL_FIGURES, vectors, strict=True)}
    return ops.document(answers, firing, service.clock())


@service.page("/ops")
@allow(OPS_ROLES, scope="")
async def ops_page(web: Any, request: Any) -> Any:
    nonce = secrets.token_urlsafe(16)
    return web.html(ops.render(await ops_document(), nonce, service.settings.prometheus()),
                    headers={"Content-Security-Policy": ops.csp(nonce),
                             "Cache-Control": "no-store"})


@service.page("/ops/figures.json")
@allow(OPS_ROLES, scope="")
async def ops_figures(web: Any, request: Any) -> Any:
    return web.json(await ops_document(), headers={"Cache-Control": "no-store"})


# -- management information --------------------------------------------------------------


@service.page("/insights")
@allow(INSIGHTS_ROLES, scope="force")
async def insights_page(web: Any, request: Any) -> Any:
    return await _answer(web, request, "management information and outcomes",
                         lambda document: web.html(page.render(document,
                                                               request.query_string)))


@service.page("/insights/report.json")
@allow(INSIGHTS_ROLES, scope="force")
async def insights_report(web: Any, request: Any) -> Any:
    return await _answer(web, request, "management information and outcomes", web.json)


@service.page("/insights/tables/{file}")
@allow(INSIGHTS_ROLES, scope="force")
async def insights_table(web: Any, request: Any, file: str) -> Any:
    name, _, kind = file.rpartition(".")
    if kind not in FORMATS or name not in report.TABLE_NAMES:
        return web.json({"error": f"no table {file[:80]}; tables: "
                         f"{', '.join(report.TABLE_NAMES)}, as .csv or .parquet"}, status=404)

    def download(body: bytes) -> Any:
        return web.bytes(body, content_type=FORMATS[kind].split(";")[0], headers={
            "Content-Disposition": f'attachment; filename="{name}.{kind}"',
            "Cache-Control": "no-store"})

    async def table_of(document: dict[str, Any]) -> Any:
        table = report.tables(document)[name]
        return download(report.csv_bytes(table) if kind == "csv" else
                        await asyncio.to_thread(store.parquet, table.columns, table.rows))

    return await _answer(web, request, f"management information table {name}", table_of)


@service.page("/insights/pack")
@allow(INSIGHTS_ROLES, scope="force")
async def monthly_pack(web: Any, request: Any) -> Any:
    """One month's figures on one printable page (month=YYYY-MM, the last full month by
    default)."""
    month = request.query.get("month")
    try:
        first = (date.fromisoformat(f"{month}-01") if month
                 else (service.clock().date().replace(day=1) - timedelta(days=1)).replace(day=1))
    except ValueError:
        return web.json({"error": "month must be YYYY-MM"}, status=400)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return await _answer(web, request, "monthly management information pack",
                         lambda document: web.html(page.pack(document,
                                                             first.strftime("%B %Y"))),
                         (first, last))


# -- the data protection officer's audit trail ----------------------------------------------


def _audit_answer(q: dpo.Question | None) -> tuple[list[Any], datetime | None]:
    """From the audit store file, opened read only for this request (the operator's
    ``iom audit load`` holds it open for writing only while it loads)."""
    path = service.settings.audit_store_file()
    if not path.exists():
        return [], None
    loaded = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    if q is None:
        return [], loaded
    with AuditStore(path, read_only=True) as audit_store:
        return dpo.answer(audit_store, q), loaded


async def _audit(web: Any, request: Any, render: Callable[..., Any]) -> Any:
    try:
        q = dpo.question(dict(request.query))
    except dpo.BadQuestion as error:
        return render(None, [], None, str(error), 400)
    if q is not None:
        # the DPO's consultation of the trail is in the trail, before it is answered
        await service.audit(request, "CONSULT", "audit trail: " + (
            "who saw a person" if q.person else "what a user did"), person_id=q.person,
            details={k: v for k, v in {"user": q.user, "since": q.describe()["since"],
                                       "until": q.describe()["until"]}.items() if v})
    try:
        entries, loaded = await asyncio.to_thread(_audit_answer, q)
    except duckdb.IOException:  # the operator is loading it: a moment
        return web.json({"error": "the audit store is being loaded; try again"}, status=503,
                        headers={"Retry-After": "5"})
    return render(q, entries, loaded, "", 200)


@service.page("/audit")
@allow(AUDIT_ROLES, scope="")
async def audit_page(web: Any, request: Any) -> Any:
    """Who saw a person (``person``, ``since``, ``until``, ``kind``), what a user did
    (``user``, ``since``)."""
    return await _audit(web, request, lambda q, entries, loaded, error, status: web.html(
        dpo.page(q, entries, loaded, error), status=status,
        headers={"Cache-Control": "no-store"}))


@service.page("/audit.json")
@allow(AUDIT_ROLES, scope="")
async def audit_json(web: Any, request: Any) -> Any:
    def render(q: dpo.Question | None, entries: list[Any], loaded: datetime | None,
               error: str, status: int) -> Any:
        if error or q is None:
            return web.json({"error": error or "ask about a person (person, since) or a "
                             "user (user)"}, status=status if error else 400)
        return web.json(dpo.document(q, entries, loaded), headers={"Cache-Control": "no-store"})
    return await _audit(web, request, render)


async def refresh_gauges() -> None:
    """The headline figures for ops, by force: no person ids in any label."""
    def figures() -> tuple[dict[str, int], list[tuple[str, str, str, int]],
                           dict[str, float | None]]:
        history = store.history(None)
        return store.counts(), report.cohort_by_force(history, service.clock()), \
            report.latest_reoffending_by_force(history, service.clock())
    counts, cohort, reoffending = await asyncio.to_thread(figures)
    for table, n in counts.items():
        ROWS.labels(table).set(n)
    COHORT.clear()
    below = insights_settings.suppress_below
    for force, cohort_type, rag, n in cohort:
        if n >= below:  # ops dashboards leave the force: small groups are not shown
            COHORT.labels(force, cohort_type, rag).set(n)
    REOFFENDING.clear()
    for force, rate in reoffending.items():
        if rate is not None:
            REOFFENDING.labels(force).set(rate)
