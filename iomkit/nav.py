"""One navigation bar on every page of every service (added by the guard to each HTML page
of a signed-in user), and a plain page for a JSON view opened in a browser. Pure."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

import orjson

from iomkit.identity.isa import DATA_PROTECTION, OPERATIONS, OPS_ROLES
from iomkit.identity.principal import ALL_FORCES, Principal

SIGNOUT = "/auth/signout"


def bar(principal: Principal) -> str:
    """Links to each service's pages (through the front door, one origin) and sign-out."""
    force = next((f for f in principal.forces if f != ALL_FORCES), "")
    links = [("Refer", "/referrals/new"), ("MACC panel", f"/panel?force={quote(force)}"),
             ("MAP pack", "/map"), ("Risk grades", "/grades"), ("Live hits", "/console"),
             ("Insights", "/insights")]
    if principal.role in OPS_ROLES:
        links.append(("Operations", "/ops"))
    if principal.role == OPERATIONS:  # runs the system: no person's page is theirs
        links = [("Operations", "/ops")]
    if principal.role == DATA_PROTECTION:  # the audit trail, nobody's case
        links = [("Audit trail", "/audit")]
    if principal.agency:
        links = [("My actions", f"/agencies/{quote(principal.agency)}/actions")]
    items = "".join(f'<a href="{escape(href)}">{escape(label)}</a> ' for label, href in links)
    # one form around the bar keeps it on one line with no style (a page's CSP may allow
    # no inline style at all)
    return (f'<nav id="throughcare-nav" aria-label="Throughcare"><form method="post" '
            f'action="{SIGNOUT}">{items}<span class="who">{escape(principal.username)} · '
            f'{escape(principal.role)}</span> <button type="submit">Sign out</button>'
            "</form></nav>")


def with_bar(html: str, principal: Principal) -> str:
    """The page with the bar first in its body (a page without a body is left alone)."""
    at = html.find("<body")
    if at < 0 or 'id="throughcare-nav"' in html:
        return html
    end = html.find(">", at)
    return html[:end + 1] + bar(principal) + html[end + 1:] if end > 0 else html


def json_page(title: str, document: Any) -> str:
    """A JSON view as a page, for a person following a link in a browser."""
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode()
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>Throughcare: {escape(title)}</title></head><body><main>"
            f"<h1>{escape(title)}</h1><pre id=\"document\">{escape(text)}</pre></main>"
            "</body></html>")


def wants_html(accept: str) -> bool:
    return "text/html" in accept and "application/json" not in accept
