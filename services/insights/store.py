"""The analytical store: one DuckDB file with a table per topic (rows.py) and, in the same
file, how far each partition of each topic has been read. Rows and positions are written in
one transaction, so after a crash the store resumes exactly where its last batch ended (no
row lost, none counted twice); deleted, it is rebuilt from the topics from the beginning.

DuckDB is columnar and answers SQL, and writes Parquet without another library: the MI
filters and exports are queries; the outcome measures read the rows back as model values.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from services.insights import model
from services.insights.rows import TABLES, Row

POSITIONS = "positions"
CHUNK = 500  # rows a statement


def _create(table: str, columns: tuple[tuple[str, str], ...], key: int) -> str:
    cols = ", ".join(f"{name} {kind}" for name, kind in columns)
    keys = ", ".join(name for name, _ in columns[:key])
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols}, PRIMARY KEY ({keys}))"


class Store:
    """One connection, used from the event loop's thread and (for exports) under a lock:
    DuckDB's connection is not to be shared by threads without one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._db: duckdb.DuckDBPyConnection | None = None

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """Opened on first use, not at import: importing the app (to list its routes, say)
        must not take the file's lock from the worker that has it open."""
        if self._db is None:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = duckdb.connect(str(self.path) if self.path else ":memory:")
            for table, columns, key, _ in TABLES.values():
                db.execute(_create(table, columns, key))
            db.execute(f"CREATE TABLE IF NOT EXISTS {POSITIONS} (topic VARCHAR, "
                       "partition INTEGER, next_offset BIGINT, PRIMARY KEY (topic, partition))")
            db.execute("SET TimeZone = 'UTC'")
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def positions(self, topic: str) -> dict[int, int]:
        """Where to go on reading ``topic``: the next offset of each partition read."""
        rows = self.db.execute(f"SELECT partition, next_offset FROM {POSITIONS} "
                               "WHERE topic = ?", [topic]).fetchall()
        return {int(p): int(o) for p, o in rows}

    def write(self, topic: str, rows: Iterable[Row], positions: Mapping[int, int]) -> int:
        """A batch's rows and where the batch ended, together or not at all."""
        table, columns, _, _ = TABLES[topic]
        marks = ", ".join("?" for _ in columns)
        rows = list(rows)
        with self.lock:
            self.db.execute("BEGIN TRANSACTION")
            try:
                if rows:
                    # The same key twice in one statement is refused: the last one wins.
                    last = list({row[:TABLES[topic][2]]: row for row in rows}.values())
                    # Many rows a statement: DuckDB runs executemany a row at a time (~2 ms
                    # each), a VALUES list of a few hundred rows at once.
                    for at in range(0, len(last), CHUNK):
                        chunk = last[at:at + CHUNK]
                        values = ", ".join(f"({marks})" for _ in chunk)
                        self.db.execute(f"INSERT OR REPLACE INTO {table} VALUES {values}",
                                        [v for row in chunk for v in row])
                if positions:
                    self.db.executemany(
                        f"INSERT OR REPLACE INTO {POSITIONS} VALUES (?, ?, ?)",
                        [(topic, p, o) for p, o in positions.items()])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return len(rows)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock:
            yield self.db.cursor()

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.cursor() as cur:
            return cur.execute(sql, params or []).fetchall()

    @staticmethod
    def parquet(columns: list[str], rows: list[tuple[Any, ...]]) -> bytes:
        """A table as a Parquet file, written by DuckDB (a connection of its own: an export
        never waits for the store's lock)."""
        db = duckdb.connect(":memory:")
        try:
            kinds = [_kind([row[n] for row in rows]) for n in range(len(columns))]
            cols = ", ".join(f'"{name}" {kind}' for name, kind in zip(columns, kinds,
                                                                     strict=True))
            db.execute(f"CREATE TABLE export ({cols})")
            if rows:
                marks = ", ".join("?" for _ in columns)
                db.executemany(f"INSERT INTO export VALUES ({marks})", rows)
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "export.parquet"
                db.execute(f"COPY export TO '{path}' (FORMAT parquet)")
                return path.read_bytes()
        finally:
            db.close()

    def counts(self) -> dict[str, int]:
        return {table: int(self.query(f"SELECT count(*) FROM {table}")[0][0])
                for table, _, _, _ in TABLES.values()}

    # -- the outcome measures' input ------------------------------------------------------

    def history(self, force: str | None) -> model.History:
        """Every row of the people of ``force`` (all forces: None) as model values. A
        person's force is their latest iom.people record's."""
        where, params = ("WHERE p.force = ?", [force]) if force else ("", [])
        people = {r[0]: model.Person(r[0], r[1], r[2], r[3], r[4]) for r in self.query(
            f"SELECT person_id, force, date_of_birth, sex, current_offence FROM people p "
            f"{where}", params)}

        def of_people(sql: str) -> list[tuple[Any, ...]]:
            return [r for r in self.query(sql) if r[1] in people]

        return model.History(
            people=people,
            changes=[model.Change(r[1], r[2], r[3], _utc(r[4]), r[5], r[6]) for r in of_people(
                "SELECT change_id, person_id, change, cohort, effective_at, pathway, "
                "lead_officer FROM changes ORDER BY effective_at, change_id")],
            events=[model.Event(r[0], r[1], r[2], _utc(r[3]), r[4], r[5], r[6], r[7])
                    for r in of_people(
                        "SELECT event_id, person_id, type, occurred_at, offence, "
                        "offence_date, disposal, hit_id FROM events ORDER BY occurred_at")],
            grades=[model.Grade(r[0], r[1], r[2], _utc(r[3]), r[4], r[5], r[6])
                    for r in self.query(
                        "SELECT person_id, revision, rag, graded_at, static_score, p_one_year,"
                        " static_band FROM grades ORDER BY person_id, revision")
                    if r[0] in people],
            referrals=[model.Referral(r[0], r[1], r[2], _utc(r[3]), r[4]) for r in of_people(
                "SELECT referral_id, person_id, proposed_cohort, submitted_at, urgent "
                "FROM referrals ORDER BY submitted_at")],
            decisions=[model.Decision(r[0], r[1], r[2], r[3], r[4], _utc(r[5]), r[6], r[7])
                       for r in self.query(
                           "SELECT decision_id, referral_id, person_id, outcome, cohort, "
                           "decided_at, pathway, lead_officer FROM decisions "
                           "ORDER BY decided_at") if r[2] in people],
            hits=[model.Hit(r[0], r[1], r[2], r[3], _utc(r[4]), _utc(r[5]), _opt(r[6]), r[7])
                  for r in self.query(
                      "SELECT h.hit_id, h.person_id, h.status, h.crime_ref, h.detected_at, "
                      "first.detected_at, c.reported_at, coalesce(h.crime_force, c.force) "
                      "FROM hits h JOIN (SELECT hit_id, max(revision) AS revision, "
                      "min(detected_at) AS detected_at FROM hits GROUP BY hit_id) first "
                      "ON h.hit_id = first.hit_id AND h.revision = first.revision "
                      "LEFT JOIN crimes c ON c.crime_ref = h.crime_ref ORDER BY h.hit_id")
                  if r[1] in people or (force is not None and r[7] == force)],
            breaches=[model.Breach(r[0], r[1], r[2], _utc(r[3])) for r in of_people(
                "SELECT breach_id, person_id, kind, detected_at FROM breaches "
                "ORDER BY detected_at")],
            enrolments=[model.Enrolment(r[0], r[1], r[2], _utc(r[3])) for r in self.query(
                "SELECT device_id, person_id, status, effective_at FROM enrolments "
                "ORDER BY effective_at") if r[1] in people],
            tag_alerts=[model.TagAlert(r[0], r[1], _utc(r[2]), _utc(r[3]), r[4])
                        for r in self.query(
                            "SELECT a.device_id, a.kind, a.since, a.detected_at, "
                            "coalesce(a.person_id, e.person_id) FROM tag_alerts a LEFT JOIN "
                            "(SELECT device_id, any_value(person_id) AS person_id "
                            "FROM enrolments GROUP BY device_id) e "
                            "ON e.device_id = a.device_id ORDER BY a.detected_at")
                        if r[4] in people],
            case_alerts=[model.CaseAlert(r[0], r[1], r[2], _utc(r[3])) for r in self.query(
                "SELECT alert_id, person_id, kind, raised_at, force FROM case_alerts "
                "ORDER BY raised_at") if r[1] in people or r[4] == force],
            case_records=[model.CaseRecord(r[0], r[1], r[2], r[3], _utc(r[4]), r[5], r[6], r[7])
                          for r in of_people(
                              "SELECT record_id, person_id, kind, subject, recorded_at, agency,"
                              " due_on, done_on FROM case_records ORDER BY recorded_at")],
            notifications=[model.Notification(r[0], r[1], r[2], _utc(r[3]), _utc(r[4]), r[5])
                           for r in self.query(
                               "SELECT notification_id, kind, state, created_at, updated_at, "
                               "person_id FROM notifications ORDER BY created_at")
                           if r[5] in people],
        )


def _kind(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool)
                       for v in present):
        return "DOUBLE"
    return "VARCHAR"


def _opt(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
