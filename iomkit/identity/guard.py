"""Every request to every service passes here: Host allowlist, body size, sign-in, role,
purpose and cross-site checks, then the route's own force check, and security headers on
every answer. Each route declares its rule where it is defined (:func:`allow`,
:func:`public`); a route without one is not served (404), so Faust's own routes and any
route added carelessly stay closed.

Refusals are 401 (not signed in) or 403 (not allowed), audited with the actor the token
names, never an empty answer.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import orjson
from aiohttp import web

from iomkit import nav
from iomkit.identity.principal import Principal
from iomkit.identity.tokens import InvalidToken

TOKEN_COOKIE = "tc_token"
SESSION_COOKIE = "tc_session"
PURPOSE_HEADER = "X-IOM-Purpose"
PRINCIPAL = web.RequestKey("principal", Principal)  # who is asking, once verified
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
METHODS = ("get", "post", "put", "patch", "delete")
F = TypeVar("F", bound=Callable[..., Any])
# Pages that set no policy of their own: nothing from elsewhere, inline styles only.
DEFAULT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def script_csp(nonce: str, images: str | None = None) -> str:
    """A page with a script and style of its own (``nonce``) that asks only its own service
    (``connect-src 'self'``), and shows images from ``images`` (a source list) or none."""
    img = f"img-src {images}; " if images else ""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            f"connect-src 'self'; {img}form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")


@dataclass(frozen=True)
class Rule:
    """Who may call a route: the roles, whether a purpose must be stated, and what the
    handler checks the caller's force against (``scope``: "person", "force", "agency",
    "item", or "" when the route names nobody). ``public`` routes need no sign-in."""

    roles: frozenset[str] = frozenset()
    purpose: bool = False
    scope: str = "person"
    public: bool = False
    max_body: int | None = None  # None: the service's max_body_bytes

    def describe(self) -> str:
        if self.public:
            return "public"
        return (f"roles={','.join(sorted(self.roles))} scope={self.scope or '-'}"
                + (" purpose" if self.purpose else ""))


def allow(roles: frozenset[str] | set[str], *, purpose: bool = False, scope: str = "person",
          max_body: int | None = None) -> Callable[[F], F]:
    """Declare who may call the decorated handler (a page function or a View method)."""
    rule = Rule(frozenset(roles), purpose, scope, False, max_body)

    def mark(fun: F) -> F:
        fun.__rule__ = rule  # type: ignore[attr-defined]
        return fun
    return mark


def public(fun: F) -> F:
    """Open to anyone: the sign-in page, /health, /metrics. Carries no personal data."""
    fun.__rule__ = Rule(public=True, scope="")  # type: ignore[attr-defined]
    return fun


def rules_of(view: Any) -> dict[str, Rule]:
    """method -> rule for a page function or View class; a handler without a rule is a
    mistake caught at import, not a route left open."""
    if not inspect.isclass(view):
        rule = getattr(view, "__rule__", None)
        if rule is None:
            raise TypeError(f"{view.__name__}: no access rule (iomkit.identity.allow)")
        return {"GET": rule}
    found: dict[str, Rule] = {}
    for name in METHODS:
        method = view.__dict__.get(name)
        if method is None:
            continue
        rule = getattr(method, "__rule__", None)
        if rule is None:
            raise TypeError(f"{view.__name__}.{name}: no access rule (iomkit.identity.allow)")
        found[name.upper()] = rule
    return found


class Refusal(Exception):
    """Raised by a handler (or the guard) to refuse: answered and audited by the guard."""

    status = 403

    def __init__(self, why: str, person_id: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.person_id = person_id


class NotSignedIn(Refusal):
    status = 401


class Forbidden(Refusal):
    status = 403


class TooLarge(Refusal):
    status = 413


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def check_force(request: web.Request, force: str | None, person_id: str | None = None) -> None:
    """The caller must be of the person's force (a person of no known force: nobody's)."""
    if not principal_of(request).sees(force):
        raise Forbidden("not a person of your force", person_id)


def purpose_of(request: web.Request) -> str:
    return (request.query.get("purpose") or request.headers.get(PURPOSE_HEADER, "")).strip()


Audit = Callable[..., Awaitable[None]]
Verify = Callable[[str], Principal]


def declared_path(request: web.Request) -> str | None:
    """The path a request matched as it was declared (``/people/{person_id}/report``), or
    None when it matched no route."""
    resource = getattr(getattr(request.match_info, "route", None), "resource", None)
    return None if resource is None else resource.canonical


@dataclass
class Guard:
    service: str
    hosts: frozenset[str]
    max_body: int
    verify: Verify
    audit: Audit
    signin_url: str
    tls: bool = False
    is_revoked: Callable[[Principal], bool] = lambda principal: False
    routes: dict[tuple[str, str], Rule] = field(default_factory=dict)

    def declare(self, path: str, view: Any) -> None:
        for method, rule in rules_of(view).items():
            self.routes[(method, path)] = rule

    def rule_for(self, request: web.Request) -> Rule | None:
        path = declared_path(request)
        if path is None:
            return None
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        return self.routes.get((method, path))

    # -- the middleware ------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        try:
            response = await self._checked(request, handler)
        except Refusal as refusal:
            response = await self.refuse(request, refusal)
        except web.HTTPException as exc:
            if exc.status == 413:
                response = await self.refuse(request, TooLarge("the body is too large"))
            else:
                self.headers(exc)  # an answer raised by a view (Service.gather) is one too
                raise
        principal = request.get(PRINCIPAL)
        if principal is not None and isinstance(response, web.Response) and \
                not response.prepared and response.content_type == "text/html" and \
                response.text is not None:
            response.text = nav.with_bar(response.text, principal)
        self.headers(response)
        return response

    async def _checked(self, request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
        host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in self.hosts:
            raise Forbidden(f"host {host[:64]!r} is not served here")
        if request.method in STATE_CHANGING:
            origin = request.headers.get("Origin")
            if origin is not None and not self._our_origin(origin):
                raise Forbidden("a request from another site")
        rule = self.rule_for(request)
        if rule is None:
            # Faust's own routes (/table, /router, its index) and anything undeclared.
            return self._answer(request, 404, "not found")
        limit = rule.max_body or self.max_body
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
        if rule.public:
            return await handler(request)
        principal, by_cookie = self._principal(request)
        request[PRINCIPAL] = principal
        if request.method in STATE_CHANGING and by_cookie and \
                request.headers.get("Origin") is None:
            # A browser always sends Origin on a POST; its absence with a cookie is a
            # forged or very old client.
            raise Forbidden("a state-changing request without its Origin")
        if principal.role not in rule.roles:
            raise Forbidden(f"role {principal.role} may not use this")
        if rule.purpose and len(purpose_of(request)) < 3:
            raise Forbidden("state the purpose (?purpose=... or X-IOM-Purpose)")
        return await handler(request)

    def _principal(self, request: web.Request) -> tuple[Principal, bool]:
        header = request.headers.get("Authorization", "")
        by_cookie = False
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        else:
            token = request.cookies.get(TOKEN_COOKIE, "")
            by_cookie = True
        if not token:
            raise NotSignedIn("not signed in")
        try:
            principal = self.verify(token)
        except InvalidToken as exc:
            raise NotSignedIn(f"token refused: {exc}") from None
        if self.is_revoked(principal):
            raise NotSignedIn("signed out")
        return principal, by_cookie

    def _our_origin(self, origin: str) -> bool:
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in self.hosts

    # -- answers -------------------------------------------------------------------------

    async def refuse(self, request: web.Request, refusal: Refusal,
                     status: int | None = None) -> web.StreamResponse:
        status = status or refusal.status
        principal: Principal | None = request.get(PRINCIPAL)
        await self.audit(
            actor=principal.username if principal else "anonymous", action="VIEW",
            purpose="refused: " + refusal.why, person_id=refusal.person_id,
            details={"path": request.path[:512], "method": request.method,
                     "outcome": "REFUSED", "status": str(status),
                     **({"role": principal.role} if principal else {})})
        return self._answer(request, status, refusal.why)

    def _answer(self, request: web.Request, status: int, why: str) -> web.Response:
        if "text/html" not in request.headers.get("Accept", "") or request.method != "GET":
            return web.Response(body=orjson.dumps({"error": why}), status=status,
                                content_type="application/json")
        # Behind the front door the sign-in page is on this origin: back to this path.
        back = request.path_qs if self.signin_url.startswith("/") else str(request.url)
        signin = self.signin_url + "?next=" + quote(back, safe="")
        refresh = (f'<meta http-equiv="refresh" content="0;url={escape(signin)}">'
                   if status == 401 else "")
        body = (f"<!doctype html><html lang=en><head><meta charset=utf-8>{refresh}"
                f"<title>Throughcare: {status}</title></head><body><h1>{status}</h1>"
                f"<p id=refused>{escape(why)}</p><p><a href=\"{escape(signin)}\">Sign in"
                "</a></p></body></html>")
        return web.Response(text=body, status=status, content_type="text/html")

    def headers(self, response: web.StreamResponse) -> None:
        # Referrer-Policy same-origin, not no-referrer: under no-referrer Chromium sends
        # "Origin: null" with a form POST, and the Origin check would refuse our own forms.
        if response.prepared:
            return  # a stream (server-sent events) set its own before it started
        set_default(response.headers, {
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY", "Cache-Control": "no-store",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Content-Security-Policy": DEFAULT_CSP,
            **({"Strict-Transport-Security": "max-age=31536000"} if self.tls else {})})


def set_default(headers: Any, values: Mapping[str, str]) -> None:
    for name, value in values.items():
        if name not in headers:
            headers[name] = value


def cookie_flags(tls: bool) -> dict[str, Any]:
    """Every cookie we set: not for scripts, never sent by another site, Secure on TLS."""
    return {"httponly": True, "samesite": "Strict", "secure": tls}

