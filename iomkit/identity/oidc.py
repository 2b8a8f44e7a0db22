"""A force's own identity provider (OpenID Connect), named by IOM_OIDC_ISSUER.

Services accept the provider's tokens as Bearer tokens, verified with its published keys
(JWKS, cached, read again when a token names a key id not seen yet) and mapped to a
principal by the configured claims (IOM_OIDC_FORCES_CLAIM, IOM_OIDC_ROLE_CLAIM). The
sign-in page sends a browser to the provider (authorisation code with PKCE) and, on its
way back, opens a session of ours for the user the provider vouched for, so idle timeout
and sign-out everywhere work the same for both kinds of user.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import jwt

from iomkit.identity import tokens
from iomkit.identity.keys import KeySet
from iomkit.identity.principal import Principal

ALGORITHMS = ("RS256", "ES256", "PS256")
PENDING_S = 600.0  # a sign-in at the provider must come back within this


def fetch_json(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    # Blocking on purpose, and only rarely: at start, and at most once per KeySet interval
    # when a token names an unknown key (the provider rotated).
    with urllib.request.urlopen(url, timeout=timeout_s) as answer:
        document: dict[str, Any] = json.loads(answer.read())
    return document


@dataclass
class Provider:
    issuer: str
    client_id: str
    audience: str
    claims: tokens.Claims
    fetch: Callable[[str], dict[str, Any]] = fetch_json
    _discovery: dict[str, Any] | None = field(default=None, repr=False)
    _keys: KeySet | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Any) -> Provider:
        return cls(settings.oidc_issuer.rstrip("/"), settings.oidc_client_id,
                   settings.oidc_audience,
                   tokens.Claims(forces=settings.oidc_forces_claim,
                                 role=settings.oidc_role_claim,
                                 username="preferred_username"))

    @property
    def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            self._discovery = self.fetch(f"{self.issuer}/.well-known/openid-configuration")
        return self._discovery

    @property
    def keys(self) -> KeySet:
        if self._keys is None:
            self._keys = KeySet(lambda: self.fetch(self.discovery["jwks_uri"]))
        return self._keys

    def verify(self, token: str, now: datetime) -> Principal:
        return tokens.verify(token, self.keys, now, issuer=self.issuer,
                             audience=self.audience or None, algorithms=ALGORITHMS,
                             claims=self.claims, leeway_s=30)


@dataclass(frozen=True)
class Pending:
    """A browser sent to the provider: what must come back with it."""

    verifier: str = field(repr=False)
    nonce: str
    next_url: str
    redirect_uri: str
    at: float


class PkceFlow:
    """The authorisation code flow with PKCE (S256), state kept in memory for 10 minutes."""

    def __init__(self, provider: Provider, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.provider = provider
        self.clock = clock
        self._pending: dict[str, Pending] = {}

    def start(self, redirect_uri: str, next_url: str) -> str:
        """Where to send the browser."""
        now = self.clock()
        self._pending = {s: p for s, p in self._pending.items() if now - p.at < PENDING_S}
        state, verifier, nonce = (secrets.token_urlsafe(24), secrets.token_urlsafe(48),
                                  secrets.token_urlsafe(16))
        self._pending[state] = Pending(verifier, nonce, next_url, redirect_uri, now)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode({"response_type": "code", "client_id": self.provider.client_id,
                           "redirect_uri": redirect_uri, "scope": "openid", "state": state,
                           "nonce": nonce, "code_challenge": challenge,
                           "code_challenge_method": "S256"})
        return f"{self.provider.discovery['authorization_endpoint']}?{query}"

    def take(self, state: str) -> Pending | None:
        """The pending sign-in ``state`` names, once (a replayed state finds nothing)."""
        pending = self._pending.pop(state, None)
        if pending is None or self.clock() - pending.at >= PENDING_S:
            return None
        return pending

    def check_id_token(self, id_token: str, pending: Pending) -> None:
        """The ID token is the provider's, for us, and for this very sign-in (nonce)."""
        try:
            header = jwt.get_unverified_header(id_token)
            key = self.provider.keys.get(str(header.get("kid", "")))
            if key is None:
                raise tokens.InvalidToken("ID token signed with an unknown key")
            claims = jwt.decode(id_token, key, algorithms=list(ALGORITHMS),
                                audience=self.provider.client_id, issuer=self.provider.issuer,
                                options={"verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError as exc:
            raise tokens.InvalidToken(f"ID token: {exc}") from None
        if claims.get("nonce") != pending.nonce:
            raise tokens.InvalidToken("ID token: not for this sign-in (nonce)")

    def token_request(self, pending: Pending, code: str) -> dict[str, str]:
        return {"grant_type": "authorization_code", "code": code,
                "redirect_uri": pending.redirect_uri, "client_id": self.provider.client_id,
                "code_verifier": pending.verifier}
