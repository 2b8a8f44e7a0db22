"""Benchmark results: rows, one aligned plain-text table, and JSON files.

Every suite returns a ``SuiteResult``; ``__main__`` prints all of them in one table and
saves each suite's result as ``bench/results/<suite>.json``. This is the only module that
writes to stdout/stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HEADERS = ("measure", "result", "baseline", "ratio", "target", "met", "unit")


@dataclass(frozen=True)
class Row:
    """One measure: records per second for Avro and for the JSON baseline."""

    measure: str
    avro: float | None
    json: float | None = None
    target: float | None = None  # records/s the Avro figure must reach
    note: str = ""
    unit: str = "rec/s"
    lower_is_better: bool = False  # latencies and memory: the target is a ceiling

    @property
    def ratio(self) -> float | None:
        if self.avro is None or not self.json:
            return None
        return self.avro / self.json

    @property
    def met(self) -> bool | None:
        if self.target is None or self.avro is None:
            return None
        return self.avro <= self.target if self.lower_is_better else self.avro >= self.target

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


@dataclass
class SuiteResult:
    suite: str
    rows: list[Row] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # sizes, settings, versions
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "seconds": round(self.seconds, 2),
            "facts": self.facts,
            "rows": [row.as_dict() for row in self.rows],
            "notes": self.notes,
        }


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _cells(row: Row) -> tuple[str, ...]:
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
    met = "-" if row.met is None else ("yes" if row.met else "no")
    return (row.measure, _rate(row.avro), _rate(row.json), ratio, _rate(row.target), met,
            row.unit)


def render_table(rows: Sequence[Row]) -> str:
    """Plain text, columns aligned: text left, numbers right."""
    table = [HEADERS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return " | ".join(parts).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(HEADERS), rule, *(line(cells) for cells in table[1:])])


def render(results: Sequence[SuiteResult], total_seconds: float | None = None) -> str:
    rows = [row for result in results for row in result.rows]
    out = [render_table(rows), ""]
    for result in results:
        for key, value in result.facts.items():
            out.append(f"{result.suite}.{key}: {value}")
        for note in result.notes:
            out.append(f"note: {note}")
    if total_seconds is not None:
        out.append(f"run time: {total_seconds:.1f} s")
    return "\n".join(out) + "\n"


def write(results: Sequence[SuiteResult], total_seconds: float | None = None) -> None:
    """The table and the facts of every suite, on stdout."""
    sys.stdout.write(render(results, total_seconds))
    sys.stdout.flush()


def save_json(result: SuiteResult, folder: Path = RESULTS_DIR) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.suite}.json"
    path.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return path


def progress(message: str) -> None:
    """What the benchmark is doing now, on stderr (stdout carries only the results)."""
    sys.stderr.write(f"bench: {message}\n")
    sys.stderr.flush()
