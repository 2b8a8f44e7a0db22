"""Sign-in sessions (idle timeout and absolute expiry), the login rate limit and the bounded
pool that checks passwords. Pure apart from the pool; time comes from an injected clock.

A session lives on the sign-in service only; what the other services see is the short
token it issues. A token is renewed from the session while the session is alive: used
within the idle timeout (counted from its last renewal) and not past its absolute end.
"""

from __future__ import annotations

import asyncio
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


@dataclass
class Session:
    sid: str = field(repr=False)
    user: User
    started_at: datetime
    last_seen: datetime
    ends_at: datetime


class Sessions:
    """In memory: a restart of the sign-in service signs everyone out (the safe failure)."""

    def __init__(self, idle_s: float, absolute_s: float, clock: Clock) -> None:
        self.idle = timedelta(seconds=idle_s)
        self.absolute = timedelta(seconds=absolute_s)
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self, user: User) -> Session:
        now = self.clock()
        self._expire(now)
        session = Session(secrets.token_urlsafe(32), user, now, now, now + self.absolute)
        self._sessions[session.sid] = session
        return session

    def touch(self, sid: str | None) -> Session | None:
        """The session, still alive, marked as used now; None when idle, ended or gone."""
        session = self.get(sid)
        if session is not None:
            session.last_seen = self.clock()
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        now = self.clock()
        if now >= session.ends_at or now - session.last_seen >= self.idle:
            del self._sessions[sid]
            return None
        return session

    def end(self, sid: str | None) -> Session | None:
        return self._sessions.pop(sid, None) if sid else None

    def end_user(self, username: str) -> list[Session]:
        """Sign out everywhere: every session of the user."""
        ended = [s for s in self._sessions.values() if s.user.username == username]
        for session in ended:
            del self._sessions[session.sid]
        return ended

    def _expire(self, now: datetime) -> None:
        for sid in [s.sid for s in self._sessions.values()
                    if now >= s.ends_at or now - s.last_seen >= self.idle]:
            del self._sessions[sid]


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
