"""Each person's force, followed from iom.people by a service that must check a caller's
force against a person it knows only by id (gps_stream's trails and hits)."""

from __future__ import annotations

import asyncio

from iomkit import kafka
from iomkit.codec import Codec, DecodeError
from iomkit.settings import Settings
from iomkit.topics import PEOPLE


class PeopleForces:
    def __init__(self) -> None:
        self._force: dict[str, str] = {}
        self.caught_up = asyncio.Event()

    def get(self, person_id: str) -> str | None:
        return self._force.get(person_id)

    async def follow(self, settings: Settings, codec: Codec) -> None:
        def keep(key: bytes | None, value: bytes | None) -> None:
            if value is None:
                return
            try:
                person = codec.decode(value, expect="Person").value
            except DecodeError:
                return  # the owning services dead-letter what they cannot read
            self._force[person["person_id"]] = person["force"]

        await kafka.follow(settings, PEOPLE.name, keep, self.caught_up)
