"""What every soak test asserts: each sampled size grew while the retention window filled,
then stayed flat (the maximum over the last days is within ``SLACK`` of the maximum over
the days just after the window first filled, or ``NOISE`` more for small sizes)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

SLACK = 1.1
NOISE = 5  # a handful more is noise, not growth, for small sizes (what is in flight)


class Sizes:
    """Per simulated day, the largest size seen of each structure."""

    def __init__(self, probes: Mapping[str, Callable[[], int]]) -> None:
        self.probes = dict(probes)
        self.daily: dict[str, dict[int, int]] = defaultdict(dict)

    def sample(self, day: int) -> None:
        for name, probe in self.probes.items():
            size = probe()
            if size > self.daily[name].get(day, -1):
                self.daily[name][day] = size

    def peak(self, name: str, days: range) -> int:
        return max(self.daily[name].get(d, 0) for d in days)

    def assert_flat(self, early: range, full: range, late: range,
                    grows: tuple[str, ...] | None = None) -> dict[str, tuple[int, int]]:
        """Each structure in ``grows`` (default: all) held more at ``full`` than at
        ``early`` (so it did fill: the test could fail), and every structure's peak over
        ``late`` is at most SLACK x its peak over ``full`` (or NOISE more).
        Returns name -> (full, late)."""
        figures = {}
        for name in self.probes:
            at_full, at_late = self.peak(name, full), self.peak(name, late)
            figures[name] = (at_full, at_late)
            if grows is None or name in grows:
                assert at_full > self.peak(name, early), (
                    f"{name} did not grow: {self.peak(name, early)} -> {at_full}")
            assert at_late <= max(SLACK * at_full, at_full + NOISE), (
                f"{name} keeps growing: peak {at_full} on days {full.start}-{full.stop - 1}, "
                f"{at_late} on days {late.start}-{late.stop - 1}")
        return figures

    def report(self, title: str, figures: Mapping[str, tuple[int, int]]) -> None:
        """Printed under ``pytest -s``: the figures the README quotes."""
        print(f"\n{title}")
        for name, (full, late) in figures.items():
            print(f"  {name:<40} {full:>9,} -> {late:>9,}")
