"""A partition's fixes and enrolments on local disk (RocksDB via rocksdict), written in one
batch per consumer batch together with the offsets they reach.

A worker that gets a partition back after a restart loads it from here and replays only
the tail of the pings topic after the stored offsets; a worker new to the partition (an
empty store) replays the whole retained topic, which is the changelog of this store.
Fixes older than the retention are range-deleted (tombstones) on every purge.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import orjson
from rocksdict import Options, Rdict, WriteBatch

from services.gps_stream.hitrule import Enrolment
from services.gps_stream.trail import Fix

FIX = b"f"  # f + recorded_at (big-endian, sign-flipped: byte order = time order) + fix
ENROLMENT = b"e"  # e + enrolment id -> JSON
OFFSET = b"o"  # o + topic -> next offset to read
_TIME = struct.Struct(">Q")
_POSITION = struct.Struct(">ddd")


def _time_key(at_ms: int) -> bytes:
    return _TIME.pack(at_ms + (1 << 63))


def _options() -> Options:
    # A worker holds one store per partition: small memtables keep their sum well inside
    # the worker's memory budget (the defaults would allow 128 MiB each).
    options = Options(raw_mode=True)
    options.set_write_buffer_size(8 * 1024 * 1024)
    options.set_max_write_buffer_number(2)
    return options


class FixStore:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._db = Rdict(str(folder), _options())
        self._batch = WriteBatch(raw_mode=True)
        self._pending = 0

    def add_fix(self, fix: Fix) -> None:
        key = (FIX + _time_key(fix.recorded_at_ms)
               + _POSITION.pack(fix.lat, fix.lon, fix.accuracy_m) + fix.device_id.encode())
        self._batch.put(key, b"")
        self._pending += 1

    def add_enrolment(self, e: Enrolment) -> None:
        value = [e.enrolment_id, e.device_id, e.person_id, e.status, e.effective_at_ms,
                 e.monitoring_ends_at_ms]
        self._batch.put(ENROLMENT + e.enrolment_id.encode() + b"|" + e.device_id.encode()
                        + b"|" + str(e.effective_at_ms).encode(), orjson.dumps(value))
        self._pending += 1

    def reached(self, topic: str, next_offset: int) -> None:
        self._batch.put(OFFSET + topic.encode(), str(next_offset).encode())
        self._pending += 1

    def commit(self) -> None:
        """Write everything of this batch at once (before the consumer commits)."""
        if self._pending:
            self._db.write(self._batch)
            self._batch = WriteBatch(raw_mode=True)
            self._pending = 0

    def offset(self, topic: str) -> int | None:
        value = self._db.get(OFFSET + topic.encode())
        return None if value is None else int(value)

    def enrolments(self) -> Iterator[Enrolment]:
        for key, value in self._db.items(from_key=ENROLMENT):
            if not key.startswith(ENROLMENT):
                break
            e = orjson.loads(value)
            yield Enrolment(e[0], e[1], e[2], e[3], e[4], e[5])

    def fixes(self, since_ms: int) -> Iterator[Fix]:
        for key, _ in self._db.items(from_key=FIX + _time_key(since_ms)):
            if not key.startswith(FIX):
                break
            at = _TIME.unpack_from(key, 1)[0] - (1 << 63)
            lat, lon, accuracy = _POSITION.unpack_from(key, 9)
            yield Fix(key[33:].decode(), at, lat, lon, accuracy)

    def purge_before(self, cutoff_ms: int) -> None:
        self._db.delete_range(FIX + _time_key(-(1 << 63)), FIX + _time_key(cutoff_ms))

    def close(self) -> None:
        self.commit()
        self._db.close()
