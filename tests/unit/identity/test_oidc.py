"""A force's provider without the network: its discovery and keys served by functions, its
tokens made by the library with an RSA key. Keys are read again for an unknown key id (a
rotation at the provider); force and role come from the configured claims; the PKCE state
is single-use and its challenge is the verifier's S256."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from iomkit.identity import oidc, tokens

ISSUER = "https://id.hampshire.example/realms/iom"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Force:
    def __init__(self) -> None:
        self.keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.fetched: list[str] = []
        self.rotate()

    def rotate(self) -> None:
        self.keys.append((f"k{len(self.keys)}", rsa.generate_private_key(65537, 2048)))

    def fetch(self, url: str) -> dict:
        self.fetched.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": ISSUER + "/certs",
                    "authorization_endpoint": ISSUER + "/auth",
                    "token_endpoint": ISSUER + "/token",
                    "end_session_endpoint": ISSUER + "/logout"}
        return {"keys": [{**json.loads(RSAAlgorithm.to_jwk(k.public_key())), "kid": kid,
                          "alg": "RS256"} for kid, k in self.keys]}

    def token(self, role: object = "POLICE", at: datetime = T0, **extra: object) -> str:
        kid, key = self.keys[-1]
        claims = {"iss": ISSUER, "aud": "throughcare", "sub": "uuid-1",
                  "preferred_username": "pc-ada", "forces": "Hampshire", "role": role,
                  "iat": int(at.timestamp()), "exp": int(at.timestamp()) + 300, **extra}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def provider(force: Force) -> oidc.Provider:
    return oidc.Provider(ISSUER, "throughcare", "throughcare",
                         tokens.Claims(forces="forces", role="role",
                                       username="preferred_username"), fetch=force.fetch)


def test_tokens_mapped_by_the_configured_claims() -> None:
    force = Force()
    got = provider(force).verify(force.token(["default-roles-iom", "POLICE"]), T0)
    assert (got.username, got.forces, got.role, got.issuer) == (
        "pc-ada", ("Hampshire",), "POLICE", ISSUER)
    with pytest.raises(tokens.InvalidToken, match="no force or no role"):
        provider(force).verify(force.token(role=["offline_access"]), T0)
    with pytest.raises(tokens.InvalidToken, match="expired"):
        provider(force).verify(force.token(), T0 + timedelta(seconds=400))
    with pytest.raises(tokens.InvalidToken):
        provider(force).verify(force.token(aud="someone-else"), T0)


def test_keys_read_again_when_the_provider_rotates() -> None:
    force = Force()
    them = provider(force)
    them.verify(force.token(), T0)
    reads = force.fetched.count(ISSUER + "/certs")
    force.rotate()
    them.keys.min_reload_s = 0  # the next unknown key id may be looked up at once
    them.verify(force.token(), T0)  # a key id not seen yet: the set is read again
    assert force.fetched.count(ISSUER + "/certs") == reads + 1


def test_pkce_state_is_single_use_and_the_challenge_is_s256() -> None:
    flow = oidc.PkceFlow(provider(Force()), clock=lambda: 0.0)
    where = flow.start("https://door.example/auth/oidc/callback", "/console")
    query = {k: v[0] for k, v in parse_qs(urlsplit(where).query).items()}
    assert where.startswith(ISSUER + "/auth?")
    assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
    pending = flow.take(query["state"])
    assert pending is not None and flow.take(query["state"]) is None  # replayed: nothing
    digest = hashlib.sha256(pending.verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert flow.token_request(pending, "c")["code_verifier"] == pending.verifier
    assert pending.verifier not in repr(pending)
