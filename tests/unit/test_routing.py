"""What a forwarded request carries to the worker that holds the person, and back."""

from __future__ import annotations

from pathlib import Path

from multidict import CIMultiDict

from iomkit.identity.keys import PEER_SECRET, peer_secret
from iomkit.routing import (
    FORWARDED,
    GATHER,
    from_a_peer,
    gather_proof,
    request_headers,
    response_headers,
    same_worker,
)


def test_the_callers_own_credentials_go_with_the_request_and_it_is_marked() -> None:
    sent = request_headers(CIMultiDict({
        "Authorization": "Bearer t", "Cookie": "iom_token=t", "X-IOM-Purpose": "enquiry",
        "Content-Type": "application/json", "Host": "127.0.0.1:6061", "Connection": "close",
        "Content-Length": "12", "Transfer-Encoding": "chunked"}))
    assert sent["Authorization"] == "Bearer t" and sent["Cookie"] == "iom_token=t"
    assert sent["X-IOM-Purpose"] == "enquiry" and sent["Content-Type"] == "application/json"
    assert sent[FORWARDED] == "1"
    # hop-by-hop, and what the client library sets for the body it sends
    assert not {"Host", "Connection", "Content-Length", "Transfer-Encoding"} & set(sent)


def test_a_request_claiming_to_be_forwarded_is_marked_once() -> None:
    sent = request_headers(CIMultiDict({FORWARDED: "yes", "Accept": "text/html"}))
    assert sent.getall(FORWARDED) == ["1"]


def test_the_owners_answer_keeps_its_type_redirect_and_every_cookie() -> None:
    back = response_headers(CIMultiDict([
        ("Content-Type", "text/html; charset=utf-8"), ("Location", "/people/P-1/report"),
        ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Server", "Python/3.11"),
        ("Content-Length", "99"), ("Date", "Wed, 02 Dec 2026 04:00:00 GMT")]))
    assert back["Content-Type"].startswith("text/html") and back["Location"].endswith("report")
    assert back.getall("Set-Cookie") == ["a=1", "b=2"]
    assert not {"Server", "Content-Length", "Date"} & set(back)


def test_the_same_worker_is_the_same_host_and_port() -> None:
    assert same_worker("http://127.0.0.1:6061", "http://127.0.0.1:6061/")
    assert not same_worker("http://127.0.0.1:6061", "http://127.0.0.1:6062")
    assert not same_worker("http://10.0.0.1:6061", "http://10.0.0.2:6061")


def test_a_lists_part_is_given_only_with_a_workers_proof_for_this_request() -> None:
    secret = bytes(range(32))
    caller = {"Authorization": "Bearer abc", "Cookie": ""}
    proof = gather_proof(secret, "GET", "/panel?force=Hampshire", caller)
    asked = {**caller, GATHER: proof}
    assert from_a_peer(secret, "GET", "/panel?force=Hampshire", asked)
    assert not from_a_peer(secret, "GET", "/panel?force=Kent", asked)  # another request
    assert not from_a_peer(secret, "POST", "/panel?force=Hampshire", asked)
    assert not from_a_peer(secret, "GET", "/panel?force=Hampshire",
                           {**asked, "Authorization": "Bearer other"})  # another caller
    assert not from_a_peer(bytes(32), "GET", "/panel?force=Hampshire", asked)  # other secret
    assert not from_a_peer(secret, "GET", "/panel?force=Hampshire", {**caller, GATHER: "1"})
    assert GATHER not in request_headers(asked)  # never passed on as it came


def test_the_peer_secret_is_made_once_and_shared(tmp_path: Path) -> None:
    first = peer_secret(tmp_path)
    assert len(first) == 32 and peer_secret(tmp_path) == first
    assert (tmp_path / "signing" / PEER_SECRET).stat().st_mode & 0o077 == 0
