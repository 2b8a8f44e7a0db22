"""A web request about one person answered by the worker that holds the person.

A service's table is split by partition over its workers; a request can reach any of them
(the front door balances). A view about one person is declared with the table and the path
parameter it reads (``Service.page(path, owned_by=(table, "person_id"))``): a worker that
does not own the key's partition forwards the whole request — method, path, query, body,
the caller's own token and purpose — to the worker that does (Faust's assignor knows each
partition's worker by its ``canonical_url``), and hands back its answer. Faust's own router
forwards neither a body nor a POST.

The owner checks the token and purpose again and writes the audit record: forwarding
adds no access. A forwarded request is marked, and is never forwarded twice (an assignment
that moved meanwhile answers 503 and the caller tries again).

A list over the whole table (``Service.gather``) asks every other worker holding some of
its partitions for its part: the same request, marked ``GATHER`` with a proof that a worker
sent it (an HMAC, keyed by the deployment's peer secret, of the request and the caller's
credentials: a caller who set the header would otherwise get the raw rows, unaudited),
which the worker answers with the rows of its own partitions as JSON, after checking the
caller's token and purpose as for any request. The worker that was asked merges the parts,
renders and audits; if a part cannot be had it answers 503 rather than a list with people
missing from it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from multidict import CIMultiDict
from yarl import URL

FORWARDED = "X-IOM-Forwarded"
GATHER = "X-IOM-Gather"  # a peer gathering a list: answer with this worker's part only
# Hop-by-hop headers (RFC 9110 7.6.1) and those the client library sets from the body.
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length"}
# What goes back to the caller: the body's type, a redirect after a form, a new cookie.
_BACK = {"content-type", "location", "set-cookie", "cache-control",
         "content-security-policy", "x-content-type-options", "referrer-policy"}


def request_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The caller's headers for the owner: end-to-end ones only, marked as forwarded."""
    out: CIMultiDict[str] = CIMultiDict(
        (k, v) for k, v in headers.items()
        if k.lower() not in _HOP and k.lower() not in (FORWARDED.lower(), GATHER.lower()))
    out[FORWARDED] = "1"
    return out


def response_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The owner's headers for the caller (repeated ones, such as Set-Cookie, kept)."""
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() in _BACK)


def gather_proof(secret: bytes, method: str, path_qs: str, headers: Mapping[str, str]) -> str:
    """What marks a request for a list's part as sent by a worker of this deployment: bound
    to the method, path and query, and the caller's token or cookie."""
    message = "\n".join((method.upper(), path_qs, headers.get("Authorization", ""),
                         headers.get("Cookie", "")))
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def from_a_peer(secret: bytes, method: str, path_qs: str, headers: Mapping[str, str]) -> bool:
    return hmac.compare_digest(headers.get(GATHER, ""),
                               gather_proof(secret, method, path_qs, headers))


def same_worker(a: str, b: str) -> bool:
    """Whether two canonical URLs name the same worker (host and port)."""
    x, y = URL(a), URL(b)
    return (x.host, x.port) == (y.host, y.port)
