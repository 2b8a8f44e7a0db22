"""Sign-out everywhere: the sign-in service puts each ended session on a topic that every
service follows, so a token of an ended session is refused at once, not when it expires."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import orjson

from iomkit import kafka
from iomkit.identity.principal import Principal
from iomkit.settings import Settings
from iomkit.topics import IDENTITY_REVOCATIONS as REVOCATIONS


class Revocations:
    """Ended sessions, kept as long as a token of theirs could still be valid."""

    def __init__(self, keep_s: float) -> None:
        self.keep = timedelta(seconds=keep_s)
        self._ended: dict[str, datetime] = {}
        self.caught_up = asyncio.Event()

    def end(self, sid: str, at: datetime) -> None:
        self._ended[sid] = at
        if len(self._ended) > 10_000:
            cutoff = at - self.keep
            self._ended = {s: t for s, t in self._ended.items() if t > cutoff}

    def revoked(self, principal: Principal) -> bool:
        return bool(principal.session) and principal.session in self._ended

    @staticmethod
    def record(sid: str, at: datetime) -> tuple[bytes, dict[str, str]]:
        return sid.encode(), {"sid": sid, "at": at.isoformat()}

    async def follow(self, settings: Settings) -> None:
        def keep(key: bytes | None, value: bytes | None) -> None:
            if value is not None:
                ended = orjson.loads(value)
                self.end(ended["sid"], datetime.fromisoformat(ended["at"]))

        await kafka.follow(settings, REVOCATIONS.name, keep, self.caught_up)
