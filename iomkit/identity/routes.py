"""Every route a service's web server answers, read from its router, with the rule each
declares: who may call what, for a review or a test that no route was missed.

    python -m iomkit.identity.routes services.referrals.app [...]   (JSON lines)
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import orjson


def routes(module_name: str) -> list[dict[str, Any]]:
    """Each (method, path) of the module's Faust app router, with its declared rule (None:
    not declared, so the guard answers 404)."""
    module = importlib.import_module(module_name)
    service = module.service
    router = service.app.web.web_app.router
    found = []
    for route in router.routes():
        method = route.method
        if method in ("HEAD", "OPTIONS", "*"):
            continue
        path = route.resource.canonical if route.resource is not None else ""
        rule = service.guard.routes.get((method, path))
        found.append({
            "service": service.name, "method": method, "path": path,
            "rule": None if rule is None else {
                "public": rule.public, "roles": sorted(rule.roles), "purpose": rule.purpose,
                "scope": rule.scope}})
    return found


def main(argv: list[str]) -> int:
    for name in argv:
        for route in routes(name):
            sys.stdout.write(orjson.dumps(route).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
