"""Signatures (Stripe-style) and backoff with full jitter."""

from __future__ import annotations

import pytest

from services.notifications.backoff import Backoff
from services.notifications.signing import SignatureError, sign, verify

BODY = b'{"notification_id":"n1"}'


def test_a_signature_verifies() -> None:
    header = sign("secret", BODY, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify("secret", header, BODY, 1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize("header,body,secret,now,problem", [
    (None, BODY, "secret", 0, "no Throughcare-Signature"),
    ("v1=abc", BODY, "secret", 0, "no timestamp"),
    ("t=1,v2=abc", BODY, "secret", 1, "no v1"),
    ("t=x,v1=abc", BODY, "secret", 1, "not an integer"),
])
def test_malformed_headers_are_refused(header, body, secret, now, problem) -> None:
    with pytest.raises(SignatureError, match=problem):
        verify(secret, header, body, now)


def test_tampering_wrong_secret_and_replay_are_refused() -> None:
    header = sign("secret", BODY, 1000)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify("secret", header, BODY + b" ", 1000)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify("other", header, BODY, 1000)
    with pytest.raises(SignatureError, match="tolerance"):
        verify("secret", header, BODY, 1000 + 301)
    # the timestamp is inside the MAC: moving it forward breaks the signature
    forged = header.replace("t=1000", "t=2000")
    with pytest.raises(SignatureError, match="no signature matches"):
        verify("secret", forged, BODY, 2000)


def test_secret_rotation_accepts_any_v1() -> None:
    new = sign("new", BODY, 5).split("v1=")[1]
    header = sign("old", BODY, 5) + f",v1={new}"
    assert verify("new", header, BODY, 5) == 5
    assert verify("old", header, BODY, 5) == 5


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    top = Backoff(base_s=0.5, cap_s=10, max_attempts=5, random=lambda: 0.999999)
    assert [round(top.delay(n), 3) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert Backoff(random=lambda: 0.0).delay(3) == 0.0
    half = Backoff(base_s=1, cap_s=100, random=lambda: 0.5)
    assert half.delay(4) == 4.0
    assert not top.gives_up(4) and top.gives_up(5)
