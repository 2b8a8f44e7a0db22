"""The audit store: one DuckDB file (the embedded analytical store insights uses) holding
every AuditRecord read from ``iom.audit``, indexed by the person it concerns and by the
actor, and how far each partition of the topic has been read.

Loaded as insights loads its store (services/insights/store.py): a batch's records and where
the batch ended are written in one transaction, so a load stopped half way resumes where its
last batch ended; a record read twice (a load redone from older positions, a producer's
retry) is kept once (its ``audit_id``; a record never changes, so the first copy is kept).
Deleted, the store is rebuilt from the topic from its beginning.

``concerns`` has one row for each person a record concerns: its ``person_id`` and every
person of ``details.people`` (a list shown at once is one record naming them all), so who saw
a person finds the lists they were on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from iomkit.audittrail import kinds

TOPIC = "iom.audit"
CHUNK = 500  # rows a statement (a VALUES list: executemany runs a row at a time)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS audit (audit_id VARCHAR PRIMARY KEY, "
    "happened_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL, "
    "kind VARCHAR NOT NULL, "
    "purpose VARCHAR, service VARCHAR, person_id VARCHAR, recipient VARCHAR, role VARCHAR, "
    "path VARCHAR, refused BOOLEAN NOT NULL, people INTEGER NOT NULL, details VARCHAR)",
    "CREATE TABLE IF NOT EXISTS concerns (audit_id VARCHAR, person_id VARCHAR, "
    "happened_at TIMESTAMP NOT NULL, PRIMARY KEY (audit_id, person_id))",
    "CREATE INDEX IF NOT EXISTS concerns_person ON concerns (person_id)",
    "CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor)",
    "CREATE TABLE IF NOT EXISTS positions (topic VARCHAR, partition INTEGER, "
    "next_offset BIGINT, PRIMARY KEY (topic, partition))",
)
AUDIT_COLUMNS = 14


@dataclass(frozen=True)
class Rows:
    """One AuditRecord as the store keeps it: its row and one row per person concerned."""

    audit: tuple[Any, ...]
    concerns: tuple[tuple[str, str, datetime], ...]


def naive_utc(at: datetime) -> datetime:
    """DuckDB's TIMESTAMP, in UTC (TIMESTAMPTZ would hand back values in the session's zone
    and needs pytz)."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def rows_of(record: Mapping[str, Any]) -> Rows:
    """Pure: a decoded AuditRecord as the store's rows."""
    details: Mapping[str, str] = record.get("details") or {}
    at = naive_utc(record["at"])
    people = kinds.people_of(record.get("person_id"), details)
    row = (record["audit_id"], at, record["actor"], record["action"],
           kinds.kind_of(record["action"]), record.get("purpose"), record.get("service"),
           record.get("person_id"), record.get("recipient"), details.get("role"),
           details.get("path"), kinds.refused(details), len(people),
           orjson.dumps(dict(details), option=orjson.OPT_SORT_KEYS).decode())
    return Rows(row, tuple((record["audit_id"], p, at) for p in people))


class Store:
    """One connection, used under a lock. ``read_only``: the page's way in (the file is
    loaded by ``iom audit``, never by the page)."""

    def __init__(self, path: Path | None, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.lock = threading.Lock()
        self._db: duckdb.DuckDBPyConnection | None = None

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            if self.read_only:
                db = duckdb.connect(str(self.path), read_only=True)
            else:
                if self.path is not None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                db = duckdb.connect(str(self.path) if self.path else ":memory:")
                for statement in SCHEMA:
                    db.execute(statement)
            db.execute("SET TimeZone = 'UTC'")
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def positions(self, topic: str = TOPIC) -> dict[int, int]:
        rows = self.query("SELECT partition, next_offset FROM positions WHERE topic = ?",
                          [topic])
        return {int(p): int(o) for p, o in rows}

    def write(self, records: Iterable[Rows], positions: Mapping[int, int],
              topic: str = TOPIC) -> int:
        """A batch's records and where the batch ended, together or not at all; returns how
        many records of the batch were new."""
        batch = list({r.audit[0]: r for r in records}.values())
        concerns = [c for r in batch for c in r.concerns]
        with self.lock:
            db = self.db
            before = int(db.execute("SELECT count(*) FROM audit").fetchone()[0])  # type: ignore[index]
            db.execute("BEGIN TRANSACTION")
            try:
                _insert(db, "audit", [r.audit for r in batch], AUDIT_COLUMNS)
                _insert(db, "concerns", concerns, 3)
                if positions:
                    db.executemany("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)",
                                   [(topic, p, o) for p, o in positions.items()])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            after = int(db.execute("SELECT count(*) FROM audit").fetchone()[0])  # type: ignore[index]
        return after - before

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.execute(sql, params or []).fetchall()

    def count(self) -> int:
        return int(self.query("SELECT count(*) FROM audit")[0][0])


def _insert(db: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]],
            width: int) -> None:
    marks = "(" + ", ".join("?" for _ in range(width)) + ")"
    for at in range(0, len(rows), CHUNK):
        chunk = rows[at:at + CHUNK]
        # OR IGNORE: an audit record is never changed, the copy already kept is the record.
        db.execute(f"INSERT OR IGNORE INTO {table} VALUES {', '.join(marks for _ in chunk)}",
                   [v for row in chunk for v in row])
