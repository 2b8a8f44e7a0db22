"""Which workers of a service are alive, at what address, owning which partitions: each
worker announces itself on a compacted topic of the service's own and follows it, so a
view can gather what is spread over the workers' partitions (a person's trail)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from iomkit import kafka
from iomkit.settings import Settings
from iomkit.topics import TopicSpec

ALIVE_S = 60.0  # a worker not heard from for this long is taken to be gone
FORGET_S = 3600.0  # and forgotten after this: a new address each restart (a pod's) would
# otherwise add an entry for ever


class Peers:
    def __init__(self, settings: Settings, service: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.spec = TopicSpec(f"throughcare-{service}-peers", "url", None, compacted=True,
                              partitions=1)
        self.url = ""
        self._known: dict[str, dict[str, Any]] = {}

    async def announce(self, producer: AIOKafkaProducer, partitions: set[int]) -> None:
        if self.url:
            value = {"url": self.url, "partitions": sorted(partitions), "at": self.clock()}
            await producer.send(self.spec.name, orjson.dumps(value), key=self.url.encode())

    def others(self) -> list[str]:
        """Addresses of the other live workers."""
        now = self.clock()
        return sorted(url for url, peer in self._known.items()
                      if url != self.url and now - peer["at"] < ALIVE_S and peer["partitions"])

    def heard(self, url: str, announcement: dict[str, Any]) -> None:
        """An announcement read from the topic; peers silent for FORGET_S are forgotten."""
        self._known[url] = announcement
        now = self.clock()
        for gone in [u for u, peer in self._known.items() if now - peer["at"] >= FORGET_S]:
            del self._known[gone]

    def known(self) -> int:
        return len(self._known)

    async def follow(self) -> None:
        def keep(key: bytes | None, value: bytes | None) -> None:
            if key is not None and value is not None:
                self.heard(key.decode(), orjson.loads(value))

        await kafka.follow(self.settings, self.spec.name, keep)
