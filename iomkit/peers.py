"""Which workers of a service are alive, at what address, owning which partitions: each
worker announces itself on a compacted topic of the service's own and follows it, so a
view can gather what is spread over the workers' partitions (a person's trail)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from iomkit import kafka
from iomkit.settings import Settings
from iomkit.topics import TopicSpec

ALIVE_S = 60.0  # a worker not heard from for this long is taken to be gone


class Peers:
    def __init__(self, settings: Settings, service: str) -> None:
        self.settings = settings
        self.spec = TopicSpec(f"throughcare-{service}-peers", "url", None, compacted=True,
                              partitions=1)
        self.url = ""
        self._known: dict[str, dict[str, Any]] = {}

    async def announce(self, producer: AIOKafkaProducer, partitions: set[int]) -> None:
        if self.url:
            value = {"url": self.url, "partitions": sorted(partitions), "at": time.time()}
            await producer.send(self.spec.name, orjson.dumps(value), key=self.url.encode())

    def others(self) -> list[str]:
        """Addresses of the other live workers."""
        now = time.time()
        return sorted(url for url, peer in self._known.items()
                      if url != self.url and now - peer["at"] < ALIVE_S and peer["partitions"])

    async def follow(self) -> None:
        def keep(key: bytes | None, value: bytes | None, headers: object = ()) -> None:
            if key is not None and value is not None:
                self._known[key.decode()] = orjson.loads(value)

        await kafka.follow(self.settings, self.spec.name, keep)
