"""Sign-in sessions (idle timeout and absolute expiry), the login rate limit and the bounded
pool that checks passwords. Pure apart from the pool; time comes from an injected clock.

A session lives on the sign-in service only; what the other services see is the short
token it issues. A token is renewed from the session while the session is alive: used
within the idle timeout (counted from its last renewal) and not past its absolute end.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from iomkit.identity.users import User

Clock = Callable[[], datetime]
T = TypeVar("T")


def digest(sid: str) -> str:
    """What a session is known by outside the browser (tokens, the sessions topic,
    revocations): the cookie's secret never leaves the browser and the sign-in service."""
    return hashlib.sha256(sid.encode()).hexdigest()[:32]


@dataclass
class Session:
    key: str  # digest(sid)
    user: User
    started_at: datetime
    last_seen: datetime
    ends_at: datetime
    sid: str = field(default="", repr=False)  # the cookie's secret, on the worker that made it

    def record(self) -> dict[str, Any]:
        """The session as the sessions topic carries it (no secret in it)."""
        return {"username": self.user.username, "forces": list(self.user.forces),
                "role": self.user.role, "agency": self.user.agency,
                "started_at": self.started_at.isoformat(),
                "last_seen": self.last_seen.isoformat(), "ends_at": self.ends_at.isoformat()}


class Sessions:
    """In memory on every worker of the sign-in service, each change also put on a compacted
    topic the workers follow (:meth:`apply`), so a session opened on one worker is renewed
    or ended on any. A restart of them all signs everyone out: the safe failure."""

    def __init__(self, idle_s: float, absolute_s: float, clock: Clock) -> None:
        self.idle = timedelta(seconds=idle_s)
        self.absolute = timedelta(seconds=absolute_s)
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self, user: User) -> Session:
        now = self.clock()
        self._expire(now)
        sid = secrets.token_urlsafe(32)
        session = Session(digest(sid), user, now, now, now + self.absolute, sid)
        self._sessions[session.key] = session
        return session

    def touch(self, sid: str | None) -> Session | None:
        """The session, still alive, marked as used now; None when idle, ended or gone."""
        session = self.get(sid)
        if session is not None:
            session.last_seen = self.clock()
        return session

    def get(self, sid: str | None) -> Session | None:
        return self.by_key(digest(sid)) if sid else None

    def by_key(self, key: str) -> Session | None:
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self.clock()
        if now >= session.ends_at or now - session.last_seen >= self.idle:
            del self._sessions[key]
            return None
        return session

    def end(self, key: str | None) -> Session | None:
        return self._sessions.pop(key, None) if key else None

    def end_user(self, username: str) -> list[Session]:
        """Sign out everywhere: every session of the user."""
        ended = [s for s in self._sessions.values() if s.user.username == username]
        for session in ended:
            del self._sessions[session.key]
        return ended

    def apply(self, key: str, record: dict[str, Any] | None) -> None:
        """A change made by another worker (or this one, read back)."""
        if record is None:
            self._sessions.pop(key, None)
            return
        user = User(record["username"], "", tuple(record["forces"]), record["role"],
                    record.get("agency", ""))
        known = self._sessions.get(key)
        last_seen = datetime.fromisoformat(record["last_seen"])
        if known is not None:  # keep the secret this worker knows, and the latest use
            known.last_seen = max(known.last_seen, last_seen)
            return
        self._sessions[key] = Session(key, user, datetime.fromisoformat(record["started_at"]),
                                      last_seen, datetime.fromisoformat(record["ends_at"]))

    def _expire(self, now: datetime) -> None:
        for key in [s.key for s in self._sessions.values()
                    if now >= s.ends_at or now - s.last_seen >= self.idle]:
            del self._sessions[key]


class RateLimit:
    """At most ``limit`` failed logins per key (a username, an address) in ``window_s``:
    past that the key is refused without a password check until the window moves on."""

    def __init__(self, limit: int, window_s: float, clock: Clock) -> None:
        self.limit = limit
        self.window = timedelta(seconds=window_s)
        self.clock = clock
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str) -> deque[datetime]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        cutoff = self.clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self.limit

    def failed(self, key: str) -> None:
        self._recent(key)
        self._failures.setdefault(key, deque()).append(self.clock())
        if len(self._failures) > 100_000:  # a flood of made-up names must not fill memory
            oldest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[oldest]

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


class PasswordChecks:
    """argon2 off the event loop, on a small pool; when ``queue`` checks already wait, a
    login is turned away at once (503) instead of piling up memory-hard work."""

    def __init__(self, workers: int = 2, queue: int = 16) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(workers + queue)
        self._limit = workers + queue

    def busy(self) -> bool:
        return self._slots.locked()

    async def run(self, check: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._pool, check, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
