"""Throughput benchmarks against a real Kafka broker: ``python -m bench``.

A suite is a module of this package with ``async def run(ctx: Context) -> SuiteResult``
(see ``bench.report``), listed in ``SUITES``; ``__main__`` starts one broker, runs the
selected suites in order and prints all their rows in one table.
"""

from __future__ import annotations

from dataclasses import dataclass

from iomkit.settings import Settings

# suite name -> module (imported only when selected)
SUITES: dict[str, str] = {
    "foundation": "bench.foundation",
    "risk": "bench.risk",
    "gps": "bench.gps",
    "notifications": "bench.notifications",
    "grid": "bench.grid",
}


@dataclass(frozen=True)
class Context:
    settings: Settings  # points at the benchmark's broker
    n: int  # records pushed through the broker
    codec_n: int  # records for the CPU-only (codec) measures
    repeats: int = 3  # CPU-only measures report the best of this many runs
