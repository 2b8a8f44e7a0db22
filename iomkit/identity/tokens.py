"""Short-lived signed tokens (JWT, ES256) naming a user, their forces and ISA role.

The sign-in service issues them; every service verifies them locally against the public
key set. Time is the caller's (an injected clock), never the library's: expiry is checked
here so tests and drills can move time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from iomkit.identity.keys import KeySet, SigningKey
from iomkit.identity.principal import Principal

ISSUER = "throughcare"
AUDIENCE = "throughcare"
ALGORITHMS = ("ES256",)


class InvalidToken(Exception):
    """Not a token we accept: bad signature, unknown key, expired, revoked or malformed.
    The message says which, for the audit; the caller answers 401 whatever it is."""


@dataclass(frozen=True)
class Claims:
    """Where a foreign issuer's token carries force and role (OpenID Connect)."""

    forces: str = "forces"
    role: str = "role"
    agency: str = "agency"
    username: str = "sub"


def issue(key: SigningKey, principal: Principal, now: datetime, ttl_s: float,
          not_after: datetime | None = None) -> tuple[str, datetime]:
    """A token for ``principal``, valid ``ttl_s`` from ``now`` but never past
    ``not_after`` (the session's absolute end). Returns the token and its expiry."""
    iat = int(now.timestamp())
    exp = iat + int(ttl_s)
    if not_after is not None:
        exp = min(exp, int(not_after.timestamp()))
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": principal.username,
              "forces": list(principal.forces), "role": principal.role,
              "agency": principal.agency, "sid": principal.session,
              "iat": iat, "nbf": iat, "exp": exp, "jti": secrets.token_hex(8)}
    token = jwt.encode(claims, key.key, algorithm="ES256", headers={"kid": key.kid})
    return token, datetime.fromtimestamp(exp, now.tzinfo)


def unverified_issuer(token: str) -> str:
    """Which issuer a token claims to be from, to pick the keys that must verify it."""
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed: {exc}") from None
    return issuer if isinstance(issuer, str) else ""


def verify(token: str, keys: KeySet, now: datetime, *, issuer: str = ISSUER,
           audience: str | None = AUDIENCE, algorithms: tuple[str, ...] = ALGORITHMS,
           claims: Claims = Claims(), leeway_s: int = 0) -> Principal:
    """The principal a valid token names, or :class:`InvalidToken`."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed: {exc}") from None
    if header.get("alg") not in algorithms:
        raise InvalidToken(f"algorithm {header.get('alg')!r} not accepted")
    key = keys.get(str(header.get("kid", "")))
    if key is None:
        raise InvalidToken("signed with an unknown key")
    try:
        payload: dict[str, Any] = jwt.decode(
            token, key, algorithms=list(algorithms), audience=audience, issuer=issuer,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                     "verify_aud": audience is not None,
                     "require": ["exp", "iat", "sub", "iss"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    at = now.timestamp()
    if at >= float(payload["exp"]) + leeway_s:
        raise InvalidToken("expired")
    if at + leeway_s < float(payload.get("nbf", payload["iat"])):
        raise InvalidToken("not valid yet")
    forces = payload.get(claims.forces)
    if isinstance(forces, str):
        forces = [f.strip() for f in forces.split(",") if f.strip()]
    role = payload.get(claims.role)
    if isinstance(role, list):  # providers often send roles as a list: the first ISA one
        role = next((r for r in role if isinstance(r, str) and r.isupper()), None)
    if not forces or not isinstance(role, str) or not role:
        raise InvalidToken("no force or no role in the token")
    return Principal(str(payload.get(claims.username) or payload["sub"]),
                     tuple(str(f) for f in forces), role,
                     str(payload.get(claims.agency) or ""), str(payload.get("sid") or ""),
                     issuer, float(payload["exp"]))
