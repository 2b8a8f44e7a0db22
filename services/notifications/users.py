"""Console users and their sessions. Pure apart from the argon2 hashing.

The users file (TOML) lists each user's username, argon2id hash, force and ISA role; a
user sees only their force's people (the central processing team, role CENTRAL, may have
force "*") and only the fields their role allows (minimise.py). Sessions are random
tokens with an absolute expiry: a stolen cookie stops working when the shift ends.

    python -m services.notifications.users add FILE --username U --force F --role R
    (reads the password from stdin, or asks for it on a terminal)
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.notifications.minimise import CENTRAL, ROLES
from services.notifications.subscriptions import ALL_FORCES, FORCES

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked when the username is unknown, so a refusal takes as long either way.
_DUMMY = _hasher.hash("not a password: timing only")


class UsersError(SystemExit):
    """A wrong users file: the service stops with this message."""


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    force: str
    role: str

    def sees(self, force: str | None) -> bool:
        return self.force == ALL_FORCES or (force is not None and force == self.force)


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
        force = entry.get("force")
        if force == ALL_FORCES and role != CENTRAL:
            raise UsersError(f"{where}: field force: only role {CENTRAL} may see every force")
        if force != ALL_FORCES and force not in forces:
            raise UsersError(f"{where}: field force: unknown force {force!r}")
        users[name] = User(name, digest, force, role)
    return users


def authenticate(users: dict[str, User], username: str, password: str) -> User | None:
    user = users.get(username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


@dataclass(frozen=True)
class Session:
    token: str
    user: User
    expires_at: float


class Sessions:
    """Tokens in memory: a restart logs everyone out, which is the safe failure."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic,
                 token: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.token = token
        self._sessions: dict[str, Session] = {}

    def create(self, user: User) -> Session:
        self._expire()
        session = Session(self.token(), user, self.clock() + self.ttl_s)
        self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        if self.clock() >= session.expires_at:
            del self._sessions[token]
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._sessions.items() if now >= s.expires_at]:
            del self._sessions[token]


def add_user(path: Path, username: str, password: str, force: str, role: str,
             extra_forces: Iterable[str] = ()) -> None:
    users = load(path, extra_forces)
    if username in users:
        raise UsersError(f"{path}: user {username!r} exists")
    entry = (f'\n[[user]]\nusername = "{username}"\nhash = "{hash_password(password)}"\n'
             f'force = "{force}"\nrole = "{role}"\n')
    with path.open("a", encoding="utf-8") as out:
        out.write(entry)
    load(path, extra_forces)  # the file must still be valid with the new user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.notifications.users")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user to a users file")
    add.add_argument("file", type=Path)
    add.add_argument("--username", required=True)
    add.add_argument("--force", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
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
    add_user(args.file, args.username, password, args.force, args.role)
    sys.stdout.write(f"added {args.username} to {args.file}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
