"""Keys made on first use, rotated and retired; tokens verified against the public set,
refused when expired, tampered with, or signed by a key not in the set. Time is injected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iomkit.identity import keys, tokens
from iomkit.identity.principal import Principal

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFICER = Principal("hants", ("Hampshire",), "POLICE", session="s1")


def keyset(folder: Path) -> keys.KeySet:
    return keys.KeySet.from_file(folder / keys.JWKS, min_reload_s=0)


def test_a_token_names_the_user_forces_role_and_session(tmp_path: Path) -> None:
    key = keys.ensure(tmp_path)
    assert keys.ensure(tmp_path).kid == key.kid  # made once, kept
    token, expires = tokens.issue(key, OFFICER, T0, 300)
    assert expires == T0 + timedelta(seconds=300)
    got = tokens.verify(token, keyset(tmp_path), T0 + timedelta(seconds=299))
    assert (got.username, got.forces, got.role, got.session) == \
        ("hants", ("Hampshire",), "POLICE", "s1")
    private = list((tmp_path / "signing").glob("*.pem"))
    assert len(private) == 1 and private[0].stat().st_mode & 0o077 == 0
    published = json.loads((tmp_path / keys.JWKS).read_text())["keys"]
    assert [k["kid"] for k in published] == [key.kid] and "d" not in published[0]  # public


def test_expired_and_absolute_end(tmp_path: Path) -> None:
    key = keys.ensure(tmp_path)
    token, _ = tokens.issue(key, OFFICER, T0, 300)
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.verify(token, keyset(tmp_path), T0 + timedelta(seconds=300))
    # never past the session's absolute end
    _, expires = tokens.issue(key, OFFICER, T0, 300, not_after=T0 + timedelta(seconds=60))
    assert expires == T0 + timedelta(seconds=60)
    with pytest.raises(tokens.InvalidToken, match="not valid yet"):
        tokens.verify(token, keyset(tmp_path), T0 - timedelta(seconds=10))


def test_tampered_or_foreign_tokens_are_refused(tmp_path: Path) -> None:
    key = keys.ensure(tmp_path / "ours")
    token, _ = tokens.issue(key, OFFICER, T0, 300)
    head, _, signature = token.split(".")
    forged = tokens.issue(keys.ensure(tmp_path / "theirs"),
                          Principal("x", ("*",), "CENTRAL"), T0, 300)[0].split(".")[1]
    for bad in (f"{head}.{forged}.{signature}", token[:-4] + "AAAA", "not.a.token", ""):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify(bad, keyset(tmp_path / "ours"), T0)
    theirs, _ = tokens.issue(keys.ensure(tmp_path / "theirs"), OFFICER, T0, 300)
    with pytest.raises(tokens.InvalidToken, match="unknown key"):
        tokens.verify(theirs, keyset(tmp_path / "ours"), T0)
    assert tokens.unverified_issuer(token) == tokens.ISSUER


def test_rotation_keeps_old_tokens_until_retired(tmp_path: Path) -> None:
    old = keys.ensure(tmp_path)
    set_ = keyset(tmp_path)
    before, _ = tokens.issue(old, OFFICER, T0, 300)
    tokens.verify(before, set_, T0)
    new = keys.rotate(tmp_path)
    assert new.kid != old.kid and keys.ensure(tmp_path).kid == new.kid
    after, _ = tokens.issue(new, OFFICER, T0, 300)
    tokens.verify(after, set_, T0)  # an unknown key id: the set is read again
    tokens.verify(before, set_, T0)
    with pytest.raises(ValueError):
        keys.retire(tmp_path, new.kid)
    keys.retire(tmp_path, old.kid)
    set_.reload()
    with pytest.raises(tokens.InvalidToken, match="unknown key"):
        tokens.verify(before, set_, T0)
    tokens.verify(after, set_, T0)


def test_the_key_set_is_not_read_again_for_every_unknown_key() -> None:
    reads = []
    now = [0.0]
    set_ = keys.KeySet(lambda: reads.append(1) or {"keys": []}, min_reload_s=5,
                       clock=lambda: now[0])
    for _ in range(100):
        assert set_.get("forged") is None
    assert len(reads) == 1
    now[0] = 5.0
    set_.get("forged")
    assert len(reads) == 2
