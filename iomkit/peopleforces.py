"""Each person's force, followed from iom.people by a service that must check a caller's
force against a person it knows only by id (gps_stream's trails and hits)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from iomkit.topics import PEOPLE

if TYPE_CHECKING:
    from iomkit.service import Service


class PeopleForces:
    def __init__(self) -> None:
        self._force: dict[str, str] = {}
        self.caught_up = asyncio.Event()

    def get(self, person_id: str) -> str | None:
        return self._force.get(person_id)

    def keep(self, person: dict[str, Any]) -> None:
        self._force[person["person_id"]] = person["force"]

    async def follow(self, service: Service) -> None:
        """Through the service's kernel like every reader: a record that does not decode
        as a Person (or holds NaN) is skipped and counted, never applied; the services
        that own the topic dead-letter it."""
        await service.follow(PEOPLE, lambda _, person: self.keep(person), self.caught_up)
