"""The one sign-in page, served by the service that holds the users file (notifications):

    GET  /auth/signin?next=URL   the form; or, with a live session, a fresh token and back
    POST /auth/signin            username and password from the form: session and token
    POST /auth/token             the same as JSON, for API clients: a Bearer token
    POST /auth/signout           ends the session (``everywhere``: every session of the user)
    GET  /auth/jwks.json         the public keys tokens are verified with

A page elsewhere that finds its token expired sends the browser here; while the session
is alive (used within the idle timeout, not past its absolute end) the browser comes
straight back with a new token, so a user signs in once for every service.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from html import escape
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import orjson
from aiohttp import web
from faust.web import View

from iomkit import kafka
from iomkit.identity import keys as signing_keys
from iomkit.identity import oidc, tokens, users
from iomkit.identity.guard import SESSION_COOKIE, TOKEN_COOKIE, cookie_flags, public
from iomkit.identity.revocations import REVOCATIONS, Revocations
from iomkit.identity.sessions import PasswordChecks, RateLimit, Session, Sessions, digest
from iomkit.topics import IDENTITY_SESSIONS

SIGNIN = "/auth/signin"
# Sessions by digest, for every worker of the sign-in service (compacted: the latest state).
SESSIONS = IDENTITY_SESSIONS
DEFAULT_NEXT = "/console"


def page_csp(nonce: str) -> str:
    return (f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


def form(nonce: str, next_url: str, error: str = "", with_provider: bool = False) -> str:
    message = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    start = "/auth/oidc/start?next=" + quote(next_url, safe="")
    provider = (f'<p><a id="oidc" href="{escape(start)}">Sign in with your force\'s '
                "account</a></p>") if with_provider else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Throughcare: sign in</title>
<style nonce="{nonce}">body{{font:14px/1.4 system-ui,sans-serif;margin:0;background:#fafafa}}
form{{display:grid;gap:8px;max-width:320px;margin:40px auto}} .error{{color:#b00020}}</style>
</head><body><form method="post" action="{SIGNIN}"><h1>Throughcare</h1>{message}
<input type="hidden" name="next" value="{escape(next_url)}">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
 required></label><button type="submit">Sign in</button>{provider}</form></body></html>"""


class SignIn:
    """Users, sessions, the rate limits and the signing key of one sign-in service."""

    def __init__(self, service: Any, extra_forces: tuple[str, ...] = ()) -> None:
        self.service = service
        settings = service.settings
        self.settings = settings
        self.users = users.load(settings.users_file, extra_forces)
        self.key = signing_keys.ensure(settings.identity_dir)
        service.keys.reload()  # our own key, just made, verifies at once
        self.sessions = Sessions(settings.idle_timeout_s, settings.session_max_s,
                                 service.clock)
        self.by_user = RateLimit(settings.login_limit_user, settings.login_window_s,
                                 service.clock)
        self.by_address = RateLimit(settings.login_limit_address, settings.login_window_s,
                                    service.clock)
        self.checks = PasswordChecks()
        self.caught_up = asyncio.Event()
        service.declare(SESSIONS)
        service.require_ready("sessions", self.caught_up)
        service.app.task(self.follow)
        # session key -> the provider's ID token, for signing out at the provider too
        self.provider_sessions: dict[str, str] = {}
        self.provider_logouts: dict[str, str] = {}  # one-time id -> the provider's sign-out
        self.revocations: Revocations = service.revocations

    # -- what the routes do --------------------------------------------------------------

    async def authenticate(self, request: web.Request, username: str, password: str
                           ) -> tuple[Session | None, str, int]:
        """A new session, or why not (and the status to answer with)."""
        address = client_address(request)
        if self.by_user.blocked(username) or self.by_address.blocked(address):
            await self._refused(request, username, "too many failed logins")
            return None, "Too many failed attempts: wait and try again.", 429
        if self.checks.busy():
            return None, "Busy: try again in a moment.", 503
        user = await self.checks.run(users.authenticate, self.users, username, password)
        if user is None:
            self.by_user.failed(username)
            self.by_address.failed(address)
            await self._refused(request, username, "login failed")
            return None, "Unknown user or wrong password.", 401
        self.by_user.succeeded(username)
        self.service.log.info("signed.in", role=user.role)
        session = self.sessions.create(user)
        await self.remember(session, acknowledged=True)
        return session, "", 200

    def token(self, session: Session) -> tuple[str, Any]:
        return tokens.issue(self.key, session.user.principal(session.key),
                            self.service.clock(), self.settings.token_ttl_s, session.ends_at)

    async def end(self, keys: list[str]) -> None:
        """Every service refuses these sessions' tokens from now on, and every worker of
        the sign-in service forgets them."""
        now = self.service.clock()
        for key in keys:
            self.sessions.end(key)
            self.revocations.end(key, now)
            topic_key, value = Revocations.record(key, now)
            await self.service.send_json(REVOCATIONS, topic_key, value, acknowledged=True)
            await self.service._send_raw(SESSIONS.name, key.encode(), None, [], True)

    async def remember(self, session: Session, acknowledged: bool) -> None:
        """Put a new or renewed session where the other workers read it."""
        await self.service.send_json(SESSIONS, session.key.encode(), session.record(),
                                     acknowledged=acknowledged)

    async def follow(self) -> None:
        def keep(key: bytes | None, value: bytes | None) -> None:
            if key is not None:
                self.sessions.apply(key.decode(), orjson.loads(value) if value else None)

        await kafka.follow(self.settings, SESSIONS.name, keep, self.caught_up)

    async def _refused(self, request: web.Request, username: str, why: str) -> None:
        await self.service._audit_refusal(
            actor=username[:64] or "anonymous", action="VIEW", purpose="refused: " + why,
            person_id=None, details={"path": request.path, "outcome": "REFUSED"})

    # -- answers -------------------------------------------------------------------------

    def signed_in(self, session: Session, next_url: str) -> web.Response:
        token, _ = self.token(session)
        response = web.Response(status=303, headers={"Location": next_url})
        flags = cookie_flags(self.settings.tls)
        response.set_cookie(TOKEN_COOKIE, token, max_age=int(self.settings.token_ttl_s),
                            path="/", **flags)
        if session.sid:  # a new sign-in (a renewal keeps the cookie the browser has)
            response.set_cookie(SESSION_COOKIE, session.sid, path="/auth",
                                max_age=int(self.settings.session_max_s), **flags)
        return response

    def page(self, next_url: str, error: str = "", status: int = 200) -> web.Response:
        nonce = secrets.token_urlsafe(16)
        return web.Response(
            text=form(nonce, next_url, error, bool(self.settings.oidc_issuer)),
            status=status, content_type="text/html",
            headers={"Content-Security-Policy": page_csp(nonce)})

    def safe_next(self, wanted: str | None) -> str:
        """Only back to a page of ours: a path, or a URL on an allowed host."""
        if not wanted:
            return DEFAULT_NEXT
        if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted:
            return wanted
        parts = urlsplit(wanted)
        if parts.scheme in ("http", "https") and (parts.hostname or "") in \
                self.settings.hosts():
            return wanted
        return DEFAULT_NEXT


def client_address(request: web.Request) -> str:
    # Behind the front door every request comes from loopback: the proxy names the client.
    remote = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if remote in ("127.0.0.1", "::1") and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return remote


def install(service: Any, extra_forces: tuple[str, ...] = ()) -> SignIn:
    """Serve the sign-in routes from ``service`` (the one that holds the users file)."""
    signin = SignIn(service, extra_forces)

    @service.page(SIGNIN)
    class SignInPage(View):
        @public
        async def get(self, request: web.Request) -> web.Response:
            next_url = signin.safe_next(request.query.get("next"))
            session = signin.sessions.touch(request.cookies.get(SESSION_COOKIE))
            if session is not None:  # signed in already: a fresh token, and back
                await signin.remember(session, acknowledged=False)
                return signin.signed_in(session, next_url)
            return signin.page(next_url)

        @public
        async def post(self, request: web.Request) -> web.Response:
            data = await request.post()
            next_url = signin.safe_next(str(data.get("next", "")))
            session, error, status = await signin.authenticate(
                request, str(data.get("username", ""))[:128], str(data.get("password", "")))
            if session is None:
                return signin.page(next_url, error, status)
            return signin.signed_in(session, next_url)

    @service.page("/auth/token")
    class TokenPage(View):
        @public
        async def post(self, request: web.Request) -> web.Response:
            try:
                body = orjson.loads(await request.read())
                username, password = str(body["username"])[:128], str(body["password"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return _json({"error": "send {\"username\": ..., \"password\": ...}"}, 400)
            session, error, status = await signin.authenticate(request, username, password)
            if session is None:
                return _json({"error": error}, status)
            token, expires = signin.token(session)
            return _json({"access_token": token, "token_type": "Bearer",
                          "expires_at": expires.isoformat()}, 200)

    @service.page("/auth/signout")
    class SignOut(View):
        @public
        async def post(self, request: web.Request) -> web.Response:
            cookie = request.cookies.get(SESSION_COOKIE)
            key = digest(cookie) if cookie else ""
            bearer = request.headers.get("Authorization", "")
            token = bearer[7:].strip() if bearer.lower().startswith("bearer ") else \
                request.cookies.get(TOKEN_COOKIE, "")
            if token and not key:
                try:
                    key = service.verify(token).session
                except tokens.InvalidToken:
                    pass
            data = await request.post() if request.content_type.endswith("form-urlencoded") \
                else {}
            session = signin.sessions.by_key(key) if key else None
            ended = [key] if key else []
            if session is not None and data.get("everywhere"):
                ended += [s.key for s in signin.sessions.end_user(session.user.username)]
            await signin.end(sorted(set(ended)))
            location = SIGNIN
            id_token = signin.provider_sessions.pop(key, "")
            if id_token and service.provider is not None:
                # out at the force's provider too, then back to our sign-in page; by way of
                # a page of ours, since a page's CSP (form-action 'self') stops a form's
                # redirect to another origin
                leave = secrets.token_urlsafe(16)
                signin.provider_logouts[leave] = \
                    service.provider.discovery["end_session_endpoint"] + "?" + urlencode(
                        {"id_token_hint": id_token,
                         "post_logout_redirect_uri": origin_of(request) + SIGNIN})
                location = f"/auth/oidc/signout?leave={leave}"
            response = web.Response(status=303, headers={"Location": location})
            flags = cookie_flags(signin.settings.tls)
            response.set_cookie(TOKEN_COOKIE, "", max_age=0, path="/", **flags)
            response.set_cookie(SESSION_COOKIE, "", max_age=0, path="/auth", **flags)
            return response

    if service.provider is not None:
        install_oidc(service, signin, oidc.PkceFlow(service.provider))

    @service.page("/auth/jwks.json")
    @public
    async def jwks(web_: Any, request: web.Request) -> web.Response:
        document = json.loads((signin.settings.identity_dir / signing_keys.JWKS).read_text())
        return _json(document, 200)

    return signin


def origin_of(request: web.Request) -> str:
    """The origin the browser sees (the front door's, when behind it)."""
    proto = request.headers.get("X-Forwarded-Proto") or request.scheme
    return f"{proto}://{request.host}"


def install_oidc(service: Any, signin: SignIn, flow: oidc.PkceFlow) -> None:
    """Sign-in at the force's identity provider: authorisation code with PKCE."""
    provider = flow.provider

    @service.page("/auth/oidc/start")
    @public
    async def start(web_: Any, request: web.Request) -> web.Response:
        where = flow.start(origin_of(request) + "/auth/oidc/callback",
                           signin.safe_next(request.query.get("next")))
        return web.Response(status=303, headers={"Location": where})

    @service.page("/auth/oidc/signout")
    @public
    async def signout(web_: Any, request: web.Request) -> web.Response:
        where = escape(signin.provider_logouts.pop(request.query.get("leave", ""), SIGNIN))
        # A page, not a redirect: the form's navigation ends here, and this new one to the
        # provider is not the form's (form-action 'self' would stop it).
        return web.Response(
            text=f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                 f'<meta http-equiv="refresh" content="0;url={where}"><title>Signing out'
                 f'</title></head><body><p><a href="{where}">Sign out at your force\'s '
                 "identity provider</a></p></body></html>", content_type="text/html")

    @service.page("/auth/oidc/callback")
    @public
    async def callback(web_: Any, request: web.Request) -> web.Response:
        pending = flow.take(request.query.get("state", ""))
        if pending is None or "code" not in request.query:
            await signin._refused(request, "anonymous", "identity provider: unknown state")
            return signin.page(DEFAULT_NEXT, "That sign-in has expired: try again.", 401)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
                async with http.post(provider.discovery["token_endpoint"],
                                     data=flow.token_request(pending, request.query["code"]),
                                     allow_redirects=False) as answer:
                    issued = await answer.json(content_type=None)
            principal = provider.verify(str(issued.get("access_token", "")), service.clock())
            flow.check_id_token(str(issued.get("id_token", "")), pending)
        except (aiohttp.ClientError, TimeoutError, ValueError, tokens.InvalidToken) as exc:
            await signin._refused(request, "anonymous", f"identity provider: {exc}"[:200])
            return signin.page(pending.next_url, "The identity provider's answer was "
                               "refused.", 401)
        user = users.User(principal.username, "", principal.forces, principal.role,
                          principal.agency)
        session = signin.sessions.create(user)
        await signin.remember(session, acknowledged=True)
        signin.provider_sessions[session.key] = str(issued.get("id_token", ""))
        service.log.info("signed.in", role=user.role, via="oidc")
        return signin.signed_in(session, pending.next_url)


def _json(value: Any, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status,
                        content_type="application/json", headers={"Cache-Control": "no-store"})
