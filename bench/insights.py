"""Insights suite: how fast the analytical store takes a history and how long one page's
figures take, on a synthetic history (``deploy/demo_history.py``, seeded). CPU and local
disk only (no broker: the readers' cost is the store's; reading the topics is measured by
the foundation suite).

* load: the history's rows written to a DuckDB file the way the readers write a batch
  (``Store.write``: a few multi-row statements); baseline: DuckDB's ``executemany``, a
  statement a row (the first version), on the smaller history in the same run.
* a page: one force's history read back (``Store.history``) and every figure computed
  (``report.build``), as ``GET /insights`` does; target: a second.
* facts: records, file size, bytes a record, peak RSS of this process.
"""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import Context
from bench.report import Row, SuiteResult, progress
from deploy import demo_history
from iomkit.settings import ROOT
from services.insights import report, rows
from services.insights.config import unit_costs
from services.insights.store import Store

NAME = "insights"
PEOPLE = 3_000
BASELINE_PEOPLE = 300
MONTHS = 36
END = datetime(2026, 6, 30, 12, tzinfo=UTC)


def load(store: Store, made: dict[str, list[dict]]) -> tuple[int, float]:
    records = 0
    started = time.perf_counter()
    for name, values in made.items():
        _, _, _, row_of = rows.TABLES[name]
        store.write(name, [row_of(v) for v in values], {0: len(values)})
        records += len(values)
    return records, time.perf_counter() - started


def row_at_a_time(store: Store, made: dict[str, list[dict]]) -> tuple[int, float]:
    records = 0
    started = time.perf_counter()
    for name, values in made.items():
        table, columns, _, row_of = rows.TABLES[name]
        marks = ", ".join("?" for _ in columns)
        store.db.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})",
                             [row_of(v) for v in values])
        records += len(values)
    return records, time.perf_counter() - started


async def run(ctx: Context) -> SuiteResult:
    result = SuiteResult(NAME)
    costs = unit_costs(ROOT / "deploy" / "insights" / "unit_costs.toml")
    with tempfile.TemporaryDirectory() as folder:
        made = demo_history.history(7, END, people=PEOPLE, months=MONTHS)
        store = Store(Path(folder) / "insights.duckdb")
        records, seconds = load(store, made)
        progress(f"insights: {records:,} records loaded in {seconds:.2f} s")
        small = demo_history.history(7, END, people=BASELINE_PEOPLE, months=MONTHS)
        old = Store(Path(folder) / "baseline.duckdb")
        old_records, old_seconds = row_at_a_time(old, small)
        progress(f"insights: baseline {old_records:,} records in {old_seconds:.2f} s")
        page_ms = []
        for _ in range(ctx.repeats):
            started = time.perf_counter()
            report.build(store.history("Hampshire"), start=datetime(2025, 7, 1, tzinfo=UTC),
                         end=datetime(2026, 7, 1, tzinfo=UTC), as_of=END, costs=costs)
            page_ms.append((time.perf_counter() - started) * 1000)
        store.db.execute("CHECKPOINT")
        size = (Path(folder) / "insights.duckdb").stat().st_size
    result.rows = [
        Row(f"insights: store load, {PEOPLE:,} people x {MONTHS} months", records / seconds,
            old_records / old_seconds, target=10_000,
            note="baseline: executemany, a statement a row (the first version)"),
        Row(f"insights: one page's figures, {PEOPLE:,} people", min(page_ms), None,
            target=1_000, unit="ms", lower_is_better=True),
    ]
    result.facts.update({
        "records": records, "file_bytes": size, "bytes_per_record": round(size / records, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    })
    return result
