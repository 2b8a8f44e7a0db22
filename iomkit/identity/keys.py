"""The signing keys of the sign-in service and the public key set every service verifies
with.

The sign-in service keeps its private EC P-256 keys (ES256) in a folder of its own, one
PEM file per key id, readable by its owner only, and writes the public half of every key
it still honours to ``jwks.json`` beside them: the only file other services read. The key
made first on a fresh folder signs until :func:`rotate` makes a newer one; the old key
stays in the set (tokens it signed keep verifying until they expire) until
:func:`retire` drops it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS = "jwks.json"
_PRIVATE = "signing"
PEER_SECRET = "peer.secret"  # in the private folder, beside the signing keys


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: ec.EllipticCurvePrivateKey = field(repr=False)


def _folder(directory: Path) -> Path:
    folder = directory / _PRIVATE
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _new_kid(directory: Path) -> str:
    # a sequence number first, so the newest key sorts last whatever the clock says
    numbers = [int(p.stem.split("-")[0]) for p in _folder(directory).glob("*.pem")
               if p.stem.split("-")[0].isdigit()]
    return f"{max(numbers, default=0) + 1:06d}-{secrets.token_hex(4)}"


def _write_private(folder: Path, kid: str, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def peer_secret(directory: Path) -> bytes:
    """The deployment's secret for its workers' requests to each other (a gathered list's
    part, iomkit.routing), beside the signing keys: made by the first worker that asks
    (exclusive create, so two starting at once agree), read by the others."""
    path = _folder(directory) / PEER_SECRET
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the maker may not have written it yet
            secret = path.read_bytes()
            if len(secret) == 32:
                return secret
            time.sleep(0.02)
        raise RuntimeError(f"{path}: not a 32-byte secret") from None
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as out:
        out.write(secret)
    return secret


def _private_keys(directory: Path) -> list[SigningKey]:
    keys = []
    for path in sorted(_folder(directory).glob("*.pem")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        keys.append(SigningKey(path.stem, key))
    return keys


def public_jwk(kid: str, key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    jwk = json.loads(ECAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "alg": "ES256", "use": "sig"}


def _publish(directory: Path, keys: list[SigningKey]) -> None:
    document = {"keys": [public_jwk(k.kid, k.key.public_key()) for k in keys]}
    temporary = directory / f".{JWKS}.{secrets.token_hex(4)}"
    temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
    temporary.replace(directory / JWKS)  # readers never see half a file


def ensure(directory: Path) -> SigningKey:
    """The key that signs now: the newest, made on the first start of a fresh folder."""
    keys = _private_keys(directory)
    if not keys:
        kid = _new_kid(directory)
        _write_private(_folder(directory), kid, ec.generate_private_key(ec.SECP256R1()))
        keys = _private_keys(directory)
    _publish(directory, keys)
    return keys[-1]


def rotate(directory: Path) -> SigningKey:
    """A new signing key; the old ones stay in the public set until retired."""
    _write_private(_folder(directory), _new_kid(directory), ec.generate_private_key(ec.SECP256R1()))
    return ensure(directory)


def retire(directory: Path, kid: str) -> None:
    """Tokens signed with ``kid`` stop verifying (wait out the token lifetime first)."""
    keys = _private_keys(directory)
    if len(keys) < 2 or keys[-1].kid == kid:
        raise ValueError("the key that signs now cannot be retired: rotate first")
    (_folder(directory) / f"{kid}.pem").unlink()
    _publish(directory, _private_keys(directory))


class KeySet:
    """Public keys by key id, read from a JWKS document; read again when a token names a
    key id not seen yet (a rotation), at most once per ``min_reload_s``, so a flood of
    forged key ids cannot make a service read the file (or fetch the URL) in a loop."""

    def __init__(self, load: Callable[[], dict[str, Any]], min_reload_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._keys: dict[str, Any] = {}
        self._loaded_at: float | None = None
        self.min_reload_s = min_reload_s
        self.clock = clock

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> KeySet:
        return cls(lambda: json.loads(path.read_text(encoding="utf-8"))
                   if path.exists() else {"keys": []}, **kwargs)

    def reload(self) -> None:
        document = self._load()
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "EC" and jwk.get("kid"):
                keys[jwk["kid"]] = ECAlgorithm.from_jwk(json.dumps(jwk))
            elif jwk.get("kty") == "RSA" and jwk.get("kid"):  # an OpenID provider's
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        self._keys = keys
        self._loaded_at = self.clock()

    def get(self, kid: str) -> Any | None:
        if kid not in self._keys and (self._loaded_at is None or
                                      self.clock() - self._loaded_at >= self.min_reload_s):
            self.reload()
        return self._keys.get(kid)

