"""The project's users: one file, read by the sign-in page. Pure apart from the argon2
hashing.

The users file (TOML) lists each user's username, argon2id hash, force (or forces) and
ISA role, and for a partner their agency; a user sees only their forces' people (the
central processing team, role CENTRAL, OPERATIONS, who see no person, and the data
protection officer, DATA_PROTECTION, who sees the audit trail, may have force "*") and only
the fields their role allows (isa.py).

    python -m iomkit.identity.users add FILE --username U --force F --role R [--agency A]
    (reads the password from stdin, or asks for it on a terminal)
"""

from __future__ import annotations

import argparse
import getpass
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from iomkit.forces import ENGLAND_AND_WALES_FORCES as FORCES
from iomkit.identity.isa import ALL_FORCE_ROLES, PARTNER_ROLES, ROLES
from iomkit.identity.principal import ALL_FORCES, Principal

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked when the username is unknown, so a refusal takes as long either way.
_DUMMY = _hasher.hash("not a password: timing only")


class UsersError(SystemExit):
    """A wrong users file: the service stops with this message."""


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str = field(repr=False)
    forces: tuple[str, ...]
    role: str
    agency: str = ""

    @property
    def force(self) -> str:
        return self.principal().force

    def principal(self, session: str = "") -> Principal:
        return Principal(self.username, self.forces, self.role, self.agency, session)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def load(path: Path, extra_forces: Iterable[str] = ()) -> dict[str, User]:
    """No file: no users (the console refuses every login)."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsersError(f"{path}: not valid TOML: {exc}") from None
    forces = set(FORCES) | set(extra_forces)
    users: dict[str, User] = {}
    for number, entry in enumerate(data.get("user", []), 1):
        name = entry.get("username")
        where = f"{path}: user {name!r}" if name else f"{path}: user #{number}"
        if not isinstance(name, str) or not name:
            raise UsersError(f"{where}: field username: missing")
        if name in users:
            raise UsersError(f"{where}: field username: duplicate")
        digest = entry.get("hash", "")
        if not isinstance(digest, str) or not digest.startswith("$argon2"):
            raise UsersError(f"{where}: field hash: not an argon2 hash")
        role = entry.get("role")
        if role not in ROLES:
            raise UsersError(f"{where}: field role: {role!r} is not one of {', '.join(ROLES)}")
        named = entry.get("forces", [entry.get("force")])
        if not isinstance(named, list) or not named:
            raise UsersError(f"{where}: field forces: a list of forces")
        for force in named:
            if force == ALL_FORCES and role not in ALL_FORCE_ROLES:
                raise UsersError(f"{where}: field force: only roles "
                                 f"{', '.join(sorted(ALL_FORCE_ROLES))} may see every force")
            if force != ALL_FORCES and force not in forces:
                raise UsersError(f"{where}: field force: unknown force {force!r}")
        agency = entry.get("agency", "")
        if role in PARTNER_ROLES and not (isinstance(agency, str) and agency):
            raise UsersError(f"{where}: field agency: a partner names their agency")
        users[name] = User(name, digest, tuple(named), role, agency or "")
    return users


def authenticate(users: dict[str, User], username: str, password: str) -> User | None:
    user = users.get(username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def add_user(path: Path, username: str, password: str, force: str, role: str,
             extra_forces: Iterable[str] = (), agency: str = "") -> None:
    users = load(path, extra_forces)
    if username in users:
        raise UsersError(f"{path}: user {username!r} exists")
    entry = (f'\n[[user]]\nusername = "{username}"\nhash = "{hash_password(password)}"\n'
             f'force = "{force}"\nrole = "{role}"\n')
    if agency:
        entry += f'agency = "{agency}"\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(entry)
    load(path, extra_forces)  # the file must still be valid with the new user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iomkit.identity.users")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user to a users file")
    add.add_argument("file", type=Path)
    add.add_argument("--username", required=True)
    add.add_argument("--force", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--agency", default="", help="a partner's agency")
    commands.add_parser("hash", help="hash a password read from stdin")
    args = parser.parse_args(argv)
    password = getpass.getpass("password: ") if sys.stdin.isatty() else \
        sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        sys.stderr.write("a password has at least 12 characters\n")
        return 2
    if args.command == "hash":
        sys.stdout.write(hash_password(password) + "\n")
        return 0
    add_user(args.file, args.username, password, args.force, args.role, agency=args.agency)
    sys.stdout.write(f"added {args.username} to {args.file}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
