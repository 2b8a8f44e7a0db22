"""The subscriptions file: who receives which kinds, for which forces, under which ISA role.
Validated once at start; any mistake stops the service with a message naming the file, the
recipient and the field. Secrets are never in the file: it names the environment variable
that holds each one. Pure (the environment is passed in).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from iomkit.forces import ENGLAND_AND_WALES_FORCES
from iomkit.identity.isa import (
    ACTION_KINDS,
    HIT,
    HIT_WITHDRAWN,
    KINDS,
    PARTNER_ROLES,
    ROLES,
    allows,
)

FORCES = ENGLAND_AND_WALES_FORCES  # a recipient or user names one of them (or extra forces)
ALL_FORCES = "*"
# What a recipient subscribes to; a HIT subscription includes the hit's withdrawal.
SUBSCRIBABLE = tuple(k for k in KINDS if k != HIT_WITHDRAWN)
_FIELDS = {"name", "description", "role", "kinds", "forces", "url", "secret_env", "email",
           "agreement", "max_attempts", "agency"}


class SubscriptionError(SystemExit):
    """A wrong subscriptions file: the service stops with this message."""


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class Recipient:
    name: str
    role: str
    kinds: frozenset[str]
    forces: frozenset[str]
    url: str
    secret: str = dataclasses.field(repr=False)  # never in a log line or a traceback
    agreement: str = ""
    description: str = ""
    email: str | None = None
    max_attempts: int | None = None  # None: the IOM_NOTIFY_MAX_ATTEMPTS setting
    agency: str = ""  # a partner's agency: told of the plan actions it owes, no other's

    def wants(self, kind: str, force: str | None, agency: str | None = None) -> bool:
        subscribed = HIT if kind == HIT_WITHDRAWN else kind
        if subscribed not in self.kinds:
            return False
        if kind in ACTION_KINDS and self.role in PARTNER_ROLES and \
                not same_agency(self.agency, agency):
            return False  # another agency's action
        return ALL_FORCES in self.forces or (force is not None and force in self.forces)


def same_agency(ours: str, theirs: str | None) -> bool:
    """Agency names as people type them: case and spacing do not matter (as the actions
    page matches them)."""
    return bool(ours.strip()) and theirs is not None and \
        ours.casefold().split() == theirs.casefold().split()


def load(path: Path, env: Mapping[str, str], extra_forces: Iterable[str] = ()
         ) -> list[Recipient]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SubscriptionError(f"{path}: cannot read the subscriptions file: "
                                f"{exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SubscriptionError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, env, str(path), extra_forces)


def parse(data: Mapping[str, Any], env: Mapping[str, str], where: str = "subscriptions",
          extra_forces: Iterable[str] = ()) -> list[Recipient]:
    unknown_top = set(data) - {"recipient"}
    if unknown_top:
        raise SubscriptionError(f"{where}: unknown section {sorted(unknown_top)[0]!r}; "
                                "expected [[recipient]] tables")
    entries = data.get("recipient", [])
    if not isinstance(entries, list) or not entries:
        raise SubscriptionError(f"{where}: no [[recipient]] tables")
    forces = set(FORCES) | set(extra_forces)
    seen: set[str] = set()
    recipients = []
    for number, entry in enumerate(entries, 1):
        name = entry.get("name")
        label = f"recipient {name!r}" if isinstance(name, str) and name else \
            f"recipient #{number}"

        def fail(field: str, problem: str, label: str = label) -> SubscriptionError:
            return SubscriptionError(f"{where}: {label}: field {field}: {problem}")

        for field in entry:
            if field not in _FIELDS:
                raise fail(field, f"unknown field; expected one of {', '.join(sorted(_FIELDS))}")
        if not isinstance(name, str) or not name.strip():
            raise fail("name", "missing")
        if name in seen:
            raise fail("name", "duplicate recipient: names must be unique")
        seen.add(name)
        role = entry.get("role")
        if role not in ROLES:
            raise fail("role", f"{role!r} is not a role; expected one of {', '.join(ROLES)}")
        kinds = _strings(entry.get("kinds"), lambda p: fail("kinds", p))
        for kind in kinds:
            if kind not in SUBSCRIBABLE:
                raise fail("kinds", f"unknown kind {kind!r}; expected any of "
                           f"{', '.join(SUBSCRIBABLE)}")
            if not allows(role, kind):
                raise fail("kinds", f"the agreement for role {role} does not allow {kind}")
        wanted = _strings(entry.get("forces"), lambda p: fail("forces", p))
        for force in wanted:
            if force != ALL_FORCES and force not in forces:
                raise fail("forces", f"unknown force {force!r} (a typo?)")
        url = entry.get("url")
        if not isinstance(url, str) or not url:
            raise fail("url", "missing: every recipient has a webhook")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise fail("url", f"{url!r} is not an http(s) URL")
        if parsed.scheme == "http" and parsed.hostname not in LOOPBACK:
            # personal data never crosses a network in clear: http only on this machine
            raise fail("url", f"{url!r}: https only (http only to 127.0.0.1 or localhost)")
        secret_env = entry.get("secret_env")
        if not isinstance(secret_env, str) or not secret_env:
            raise fail("secret_env", "missing: name the environment variable holding the "
                       "signing secret (never the secret itself)")
        secret = env.get(secret_env, "")
        if len(secret) < 16:
            raise fail("secret_env", f"environment variable {secret_env} is unset or shorter "
                       "than 16 characters")
        email = entry.get("email")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise fail("email", f"{email!r} is not an e-mail address")
        agency = entry.get("agency", "")
        if not isinstance(agency, str):
            raise fail("agency", "must be a string")
        if role in PARTNER_ROLES and set(kinds) & ACTION_KINDS and not agency.strip():
            raise fail("agency", f"a {role} recipient of plan actions names its agency "
                       "(it is told of that agency's actions only)")
        attempts = entry.get("max_attempts")
        if attempts is not None and (not isinstance(attempts, int) or not 1 <= attempts <= 100):
            raise fail("max_attempts", f"{attempts!r} is not a whole number from 1 to 100")
        recipients.append(Recipient(
            name=name, role=role, kinds=frozenset(kinds), forces=frozenset(wanted), url=url,
            secret=secret, agreement=str(entry.get("agreement", "")),
            description=str(entry.get("description", "")), email=email,
            max_attempts=attempts, agency=agency.strip(),
        ))
    return recipients


def _strings(value: Any, fail: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise fail("missing or empty: a list of names")
    if not all(isinstance(v, str) for v in value):
        raise fail("every entry must be a string")
    return list(value)


def route(recipients: Iterable[Recipient], kind: str, force: str | None,
          agency: str | None = None) -> list[Recipient]:
    """Every recipient the agreement lets have this kind, for this person's force (and, for
    a plan action, a partner only of the agency named on it)."""
    return [r for r in recipients if r.wants(kind, force, agency)]
