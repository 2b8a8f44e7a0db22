"""Throughput benchmarks against a real Kafka broker: ``python -m bench``.

A suite is a module of this package with ``async def run(ctx: Context) -> SuiteResult``
(see ``bench.report``), listed in ``SUITES``; ``__main__`` starts one broker, runs the
selected suites in order and prints all their rows in one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from iomkit.settings import Settings

if TYPE_CHECKING:
    from bench.broker import BenchBroker

# suite name -> module (imported only when selected)
SUITES: dict[str, str] = {
    "foundation": "bench.foundation",
    "risk": "bench.risk",
    "gps": "bench.gps",
    "notifications": "bench.notifications",
    "grid": "bench.grid",
    "insights": "bench.insights",
}


@dataclass(frozen=True)
class Context:
    settings: Settings  # the benchmark's broker, SASL_SSL, as the operator
    n: int  # records pushed through the broker
    codec_n: int  # records for the CPU-only (codec) measures
    repeats: int = 3  # CPU-only measures report the best of this many runs
    broker: BenchBroker | None = None  # service principals; the plaintext listener

    async def service_env(self, name: str) -> dict[str, str]:
        """IOM_BOOTSTRAP_SERVERS and IOM_KAFKA_CLIENT_CONFIG for a service worker: its own
        principal, as in production."""
        assert self.broker is not None
        return await self.broker.service_env(name)
