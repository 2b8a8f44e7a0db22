"""Webhook signatures, as the common payment and code-hosting platforms do them. Pure.

``Throughcare-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. The
timestamp is inside the MAC, so a captured request cannot be replayed later than the
receiver's tolerance; several v1= values may be present while a secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Throughcare-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class SignatureError(ValueError):
    """Why a signature was refused (for the receiver's log; never echo the secret)."""


def mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={mac(secret, timestamp, body)}"


def verify(secret: str, header: str | None, body: bytes, now: float,
           tolerance_s: int = 300) -> int:
    """Check a signature header; returns its timestamp or raises SignatureError."""
    if not header:
        raise SignatureError(f"no {HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("timestamp is not an integer") from None
        elif name == "v1":
            candidates.append(value)
    if timestamp is None:
        raise SignatureError("no timestamp (t=)")
    if not candidates:
        raise SignatureError("no v1 signature")
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"timestamp outside the {tolerance_s} s tolerance")
    expected = mac(secret, timestamp, body)
    # compare_digest: the time taken must not tell an attacker how much of a guess matched
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("no signature matches")
    return timestamp
