"""Sessions end when idle or at their absolute end; sign-out everywhere; the login rate
limit per user and per address. An injected clock, never the wall's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iomkit.identity.sessions import RateLimit, Sessions, digest
from iomkit.identity.users import User

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USER = User("hants", "$argon2id$x", ("Hampshire",), "POLICE")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def move(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_idle_timeout() -> None:
    clock = Clock()
    sessions = Sessions(idle_s=900, absolute_s=8 * 3600, clock=clock)
    session = sessions.create(USER)
    clock.move(899)
    assert sessions.touch(session.sid) is session  # used: the idle time starts again
    clock.move(899)
    assert sessions.get(session.sid) is session
    clock.move(1)
    assert sessions.get(session.sid) is None
    assert sessions.touch(session.sid) is None  # gone for good


def test_absolute_expiry_even_when_used() -> None:
    clock = Clock()
    sessions = Sessions(idle_s=900, absolute_s=3600, clock=clock)
    session = sessions.create(USER)
    for _ in range(7):
        clock.move(500)
        assert sessions.touch(session.sid) is session
    clock.move(100)  # 3600 s since sign-in
    assert sessions.touch(session.sid) is None


def test_sign_out_and_sign_out_everywhere() -> None:
    clock = Clock()
    sessions = Sessions(idle_s=900, absolute_s=3600, clock=clock)
    desk, phone = sessions.create(USER), sessions.create(USER)
    other = sessions.create(User("kent", "$argon2id$x", ("Kent",), "POLICE"))
    sessions.end(desk.key)
    assert sessions.get(desk.sid) is None and sessions.get(phone.sid) is phone
    assert [s.key for s in sessions.end_user("hants")] == [phone.key]
    assert sessions.get(phone.sid) is None and sessions.get(other.sid) is other
    assert desk.sid not in repr(desk)  # a session id is a secret: never in a log


def test_rate_limit_per_key_in_a_moving_window() -> None:
    clock = Clock()
    limit = RateLimit(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        assert not limit.blocked("hants")
        limit.failed("hants")
        clock.move(10)
    assert limit.blocked("hants") and not limit.blocked("kent")
    clock.move(30)  # the first failure is 60 s old: out of the window
    assert not limit.blocked("hants")
    limit.failed("hants")
    assert limit.blocked("hants")
    limit.succeeded("hants")
    assert not limit.blocked("hants")


def test_a_session_made_on_one_worker_is_renewed_or_ended_on_another() -> None:
    clock = Clock()
    here, there = (Sessions(idle_s=900, absolute_s=3600, clock=clock) for _ in range(2))
    session = here.create(USER)
    assert session.key == digest(session.sid) and session.sid not in str(session.record())
    there.apply(session.key, session.record())  # read from the sessions topic
    clock.move(600)
    renewed = there.touch(session.sid)  # the browser's cookie, at the other worker
    assert renewed is not None and renewed.user.forces == ("Hampshire",)
    assert renewed.sid == ""  # the other worker never learns the secret
    here.apply(session.key, renewed.record())
    clock.move(600)  # 1200 s since sign-in, 600 s since the renewal elsewhere
    assert here.get(session.sid) is session
    there.apply(session.key, None)  # ended on the first worker
    assert there.get(session.sid) is None
