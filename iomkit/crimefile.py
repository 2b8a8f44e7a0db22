"""Police daily crime files: parse, validate and version them (pure; no I/O).

The file is the one forces already send to the national electronic-monitoring
crime-matching service (contract, "Crime files"): CSV, no header row, exactly 13 columns.
``parse`` turns it into ``CrimeReported`` values (without ``version``) ready for fastavro,
and a ``Refusal`` for every problem of every refused row; ``assign_versions`` decides which
of the accepted crimes are new, changed (a higher version) or unchanged (not published).

Times
    Columns 5 and 6 are ``yyyyMMddHHmmss`` wall-clock times in Europe/London. In the autumn
    fold (01:00-01:59 on the last Sunday of October happens twice) the **first** occurrence
    is taken (``fold=0``, British Summer Time, UTC+1), so a file always gives the same
    instant. A spring-gap time (01:00-01:59 on the last Sunday of March) never happened in
    London and is refused.

Positions
    Exactly one coordinate pair is used: easting/northing (British National Grid, OSGB36)
    or latitude/longitude (WGS84). The datum column chooses when both are filled; blank
    means whichever pair is filled, and a blank datum with both pairs filled is ambiguous
    and refused. A latitude/longitude must be inside Great Britain: latitude 49.8..60.9,
    longitude -8.7..1.8. Grid references are converted with OSTN15 (``iomkit.grid``), all
    of a file's in one call after its rows are read: easting 0..700000, northing
    0..1250000 (the OSTN15 grid), and a point outside what OSTN15 covers (off Great
    Britain and the Isle of Man, on or around Ireland) is refused with the reason, never
    shifted. An Irish Grid datum (TM65, TM75, ITM) is refused by name: it is not the
    National Grid.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from iomkit import grid
from iomkit.forces import ENGLAND_AND_WALES_FORCES

LONDON = ZoneInfo("Europe/London")
COLUMNS = 13
MAX_WINDOW = timedelta(hours=12)


# Crime type id (column 1) -> CrimeReported.offence.
OFFENCES: dict[str, str] = {
    "RB": "ROBBERY",
    "BIAD": "BURGLARY_DWELLING",
    "AB": "AGGRAVATED_BURGLARY",
    "BOTD": "BURGLARY_NON_DWELLING",
    "TOMV": "THEFT_OF_VEHICLE",
    "TFP": "THEFT_FROM_PERSON",
    "TFMV": "THEFT_FROM_VEHICLE",
}

# Column index -> name, as the contract's table names them.
COLUMN_NAMES: tuple[str, ...] = (
    "police force", "crime type id", "crime type description", "batch id",
    "crime reference", "committed from", "committed to", "easting", "northing",
    "latitude", "longitude", "datum", "crime text",
)
(FORCE, TYPE_ID, TYPE_DESCRIPTION, BATCH_ID, CRIME_REF, COMMITTED_FROM, COMMITTED_TO,
 EASTING, NORTHING, LATITUDE, LONGITUDE, DATUM, CRIME_TEXT) = range(COLUMNS)

GB_LAT = (49.8, 60.9)
GB_LON = (-8.7, 1.8)
BNG_EASTING = grid.GRID_EASTING
BNG_NORTHING = grid.GRID_NORTHING

# Datum column values that mean the Irish Grid (TM65, TM75) or Irish Transverse Mercator:
# named in the refusal, since their numbers look like National Grid ones and are not.
IRISH_DATUMS = frozenset({"IRISH GRID", "IRISH", "IG", "TM65", "TM75", "ITM", "IRENET95",
                          "EPSG:29900", "EPSG:29901", "EPSG:29902", "EPSG:29903",
                          "EPSG:2157"})

TIME_FORMAT = re.compile(r"\d{14}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The facts of a crime: a change in any of them is a new version. reported_at and batch_id
# say when and how it was sent, not what happened, so they are left out.
FACTS: tuple[str, ...] = (
    "force", "offence", "committed_from", "committed_to", "lat", "lon",
    "location_accuracy_m", "type_description", "crime_text",
)


def column_label(index: int) -> str:
    """How a refusal names a column: its index and the contract's name, e.g. "5 committed
    from"."""
    return f"{index} {COLUMN_NAMES[index]}"


ROW = "row"  # the column of a refusal about the whole row (its number of columns)


@dataclass(frozen=True)
class Refusal:
    """One problem of a refused row: its 1-based line number in the file (the line where
    the row starts), its crime reference ("" when it has none), the column ("5 committed
    from", or "row") and the reason."""

    line: int
    crime_ref: str
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: crime {self.crime_ref}: column {self.column}: {self.reason}"


@dataclass
class ParsedFile:
    """The accepted rows as CrimeReported values (without ``version``), in file order, and
    every problem of every refused row. A row is refused when it has any problem; each
    problem is one ``Refusal``, so a row may have several."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def refused_lines(self) -> list[int]:
        """Line numbers of the refused rows, each once, in file order."""
        return list(dict.fromkeys(r.line for r in self.refused))


class _Row:
    """Collects the problems of one row."""

    def __init__(self, line: int, cells: list[str]) -> None:
        self.line = line
        self.cells = cells
        self.crime_ref = cells[CRIME_REF].strip() if len(cells) > CRIME_REF else ""
        self.problems: list[Refusal] = []
        self.position: tuple[float, float] = (math.nan, math.nan)  # (lat, lon) when known
        self.grid_reference: tuple[float, float] | None = None  # (easting, northing) to convert

    def refuse(self, column: int | str, reason: str) -> None:
        label = column if isinstance(column, str) else column_label(column)
        self.problems.append(Refusal(self.line, self.crime_ref, label, reason))

    def text(self, column: int) -> str:
        return self.cells[column].strip()


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        yield line.removeprefix("\ufeff") if first else line
        first = False


def parse(
    text: str | Iterable[str],
    now: datetime,
    forces: Iterable[str] = ENGLAND_AND_WALES_FORCES,
    force_accuracy_m: Mapping[str, float] | None = None,
) -> ParsedFile:
    """Parse a crime file.

    ``now`` (timezone-aware) is when the file was received: it becomes every crime's
    ``reported_at`` and no committed time may be later. ``forces`` are the forces whose
    crimes are accepted (matched case-insensitively, trimmed; the canonical name given here
    is what ``force`` holds). ``force_accuracy_m`` gives a force (any case) a default
    ``location_accuracy_m``; otherwise it is 0.

    Blank lines are skipped. Every other row is either accepted or refused with every
    problem it has (columns that depend on a broken one are not judged).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    reported_at = now.astimezone(UTC)
    known = {_norm(f): f for f in forces}
    accuracy = {_norm(f): float(m) for f, m in (force_accuracy_m or {}).items()}
    # Rows are judged first and their grid references converted afterwards, all at once
    # (one OSTN15 call per file, not per row); then each row is accepted or refused.
    rows: list[tuple[_Row, dict[str, Any] | None]] = []
    # a text, or its lines as they arrive (an upload streamed from disk, never read whole)
    lines = io.StringIO(text.removeprefix("\ufeff"), newline="") if isinstance(text, str) \
        else _without_bom(text)
    reader = csv.reader(lines, strict=True)
    while True:
        line = reader.line_num + 1  # where the next row starts
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # the reader carries on with the next line
            hint = " (a quote that is never closed?)" if "end of data" in str(exc) else ""
            broken = _Row(line, [])
            broken.problems.append(Refusal(line, "", ROW, f"not valid CSV: {exc}{hint}"))
            rows.append((broken, None))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        row = _Row(line, cells)
        rows.append((row, _row(row, reported_at, known, accuracy)))
    _convert_grid_references(row for row, _ in rows)
    result = ParsedFile()
    for row, value in rows:
        if row.problems or value is None:
            result.refused += row.problems
        else:
            result.accepted.append({**value, "lat": row.position[0], "lon": row.position[1]})
    return result


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _row(
    row: _Row, reported_at: datetime, known: Mapping[str, str], accuracy: Mapping[str, float]
) -> dict[str, Any] | None:
    if len(row.cells) != COLUMNS:
        row.refuse(ROW, f"has {len(row.cells)} columns, expected {COLUMNS}")
        return None

    force = known.get(_norm(row.cells[FORCE]))
    if not row.text(FORCE):
        row.refuse(FORCE, "blank")
    elif force is None:
        row.refuse(FORCE, f"unknown police force {row.text(FORCE)!r}")

    type_id = row.text(TYPE_ID).upper()
    offence = OFFENCES.get(type_id)
    if not type_id:
        row.refuse(TYPE_ID, "blank")
    elif offence is None:
        row.refuse(TYPE_ID, f"unknown crime type id {row.text(TYPE_ID)!r}; "
                            f"known: {', '.join(OFFENCES)}")

    if not row.crime_ref:
        row.refuse(CRIME_REF, "blank")

    committed = _times(row, reported_at)
    if not _position(row) or force is None or offence is None or committed is None:
        return None
    return {
        "crime_ref": row.crime_ref,
        "offence": offence,
        "location_accuracy_m": accuracy.get(_norm(force), 0.0),
        "committed_from": committed[0],
        "committed_to": committed[1],
        "reported_at": reported_at,
        "force": force,
        "type_description": _kept(row.cells[TYPE_DESCRIPTION]),
        "batch_id": _kept(row.cells[BATCH_ID]),
        "crime_text": _kept(row.cells[CRIME_TEXT]),
    }


def _kept(cell: str) -> str | None:
    """A free-text column as sent, or None when blank."""
    return cell if cell.strip() else None


# -- times ------------------------------------------------------------------------------------


def london_to_utc(text: str) -> datetime:
    """``yyyyMMddHHmmss`` Europe/London wall-clock time as an aware UTC datetime.

    Ambiguous (autumn fold) times take the first occurrence, BST (``fold=0``). Raises
    ValueError, with the reason, for a malformed, impossible or non-existent (spring gap)
    time."""
    if not TIME_FORMAT.fullmatch(text):
        raise ValueError(f"{text!r} is not a time yyyyMMddHHmmss")
    try:
        wall = datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                        int(text[10:12]), int(text[12:14]), tzinfo=LONDON, fold=0)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid time: {exc}") from None
    utc = wall.astimezone(UTC)
    if utc.astimezone(LONDON).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise ValueError(f"{text!r} does not exist in UK local time "
                         "(the clocks went forward an hour)")
    return utc


def _times(row: _Row, now: datetime) -> tuple[datetime, datetime] | None:
    found: list[datetime | None] = []
    for column in (COMMITTED_FROM, COMMITTED_TO):
        text = row.text(column)
        if not text:
            row.refuse(column, "blank")
            found.append(None)
            continue
        try:
            at = london_to_utc(text)
        except ValueError as exc:
            row.refuse(column, str(exc))
            found.append(None)
            continue
        if at > now:
            row.refuse(column, f"{text} is in the future (received {_local(now)})")
            found.append(None)
            continue
        found.append(at)
    start, end = found
    if start is None or end is None:
        return None
    if end < start:
        row.refuse(COMMITTED_TO, f"{row.text(COMMITTED_TO)} is before committed from "
                                 f"{row.text(COMMITTED_FROM)}")
        return None
    if end - start > MAX_WINDOW:
        row.refuse(COMMITTED_TO, f"window of {end - start} is longer than 12 hours")
        return None
    return start, end


def _local(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%Y%m%d%H%M%S")


# -- positions --------------------------------------------------------------------------------


def _convert_grid_references(rows: Iterable[_Row]) -> None:
    """Every row's grid reference to WGS84 with OSTN15 in one call; a point OSTN15 does not
    cover refuses its row (with any other problems the row has)."""
    waiting = [(row, row.grid_reference) for row in rows if row.grid_reference is not None]
    if not waiting:
        return
    eastings = [easting for _, (easting, _) in waiting]
    northings = [northing for _, (_, northing) in waiting]
    converted = grid.grid_to_wgs84(eastings, northings)
    for i, (row, _) in enumerate(waiting):
        why = converted.refused[i]
        if why is None:
            row.position = (float(converted.lat[i]), float(converted.lon[i]))
        else:
            row.refuse(EASTING, f"{eastings[i]:g}, {northings[i]:g} is {why}")


def _number(row: _Row, column: int, other: int) -> float | None:
    text = row.text(column)
    if not text:
        row.refuse(column, f"blank, but {COLUMN_NAMES[other]} is filled")
        return None
    try:
        value = float(text)
    except ValueError:
        row.refuse(column, f"{text!r} is not a number")
        return None
    if not math.isfinite(value):
        row.refuse(column, f"{text!r} is not a finite number")
        return None
    return value


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _position(row: _Row) -> bool:
    """Judge the position columns: True when the row has a position, or a grid reference
    still to be converted (``_convert_grid_references``), and no problems so far."""
    before = len(row.problems)
    has_grid = bool(row.text(EASTING) or row.text(NORTHING))
    has_wgs = bool(row.text(LATITUDE) or row.text(LONGITUDE))
    datum = row.text(DATUM).upper()
    if datum in IRISH_DATUMS:
        row.refuse(DATUM, f"{row.text(DATUM)!r} is the Irish Grid, not the British National "
                          "Grid: OSTN15 covers Great Britain and the Isle of Man only; send "
                          "WGS84 latitude/longitude")
        return False
    if datum not in ("", "WGS84", "OSGB36"):
        row.refuse(DATUM, f"{row.text(DATUM)!r} is not WGS84, OSGB36 or blank")
        return False
    if not datum:
        if has_grid and has_wgs:
            row.refuse(DATUM, "blank, but both easting/northing and latitude/longitude are "
                              "filled: ambiguous, say which (WGS84 or OSGB36)")
            return False
        if not has_grid and not has_wgs:
            row.refuse(EASTING, "no position: easting/northing and latitude/longitude "
                                "are all blank")
            return False
        datum = "OSGB36" if has_grid else "WGS84"
    elif datum == "OSGB36" and not has_grid:
        row.refuse(DATUM, "OSGB36, but easting and northing are blank")
        return False
    elif datum == "WGS84" and not has_wgs:
        row.refuse(DATUM, "WGS84, but latitude and longitude are blank")
        return False

    if datum == "OSGB36":
        easting = _number(row, EASTING, NORTHING)
        northing = _number(row, NORTHING, EASTING)
        if easting is None or northing is None:
            return False
        if not _inside(easting, BNG_EASTING):
            row.refuse(EASTING, f"{easting:g} is outside the British National Grid "
                                f"as OSTN15 covers it (0..{BNG_EASTING[1]:.0f})")
        if not _inside(northing, BNG_NORTHING):
            row.refuse(NORTHING, f"{northing:g} is outside the British National Grid "
                                 f"as OSTN15 covers it (0..{BNG_NORTHING[1]:.0f})")
        if len(row.problems) > before:
            return False
        row.grid_reference = (easting, northing)
        return True

    lat = _number(row, LATITUDE, LONGITUDE)
    lon = _number(row, LONGITUDE, LATITUDE)
    if lat is None or lon is None:
        return False
    swapped = _inside(lon, GB_LAT) and _inside(lat, GB_LON)
    hint = " (latitude and longitude swapped?)" if swapped else ""
    if not _inside(lat, GB_LAT):
        row.refuse(LATITUDE, f"{lat:g} is outside Great Britain "
                             f"({GB_LAT[0]}..{GB_LAT[1]}){hint}")
    if not _inside(lon, GB_LON):
        row.refuse(LONGITUDE, f"{lon:g} is outside Great Britain "
                              f"({GB_LON[0]}..{GB_LON[1]}){hint}")
    if len(row.problems) > before:
        return False
    row.position = (lat, lon)
    return True


# -- versions ---------------------------------------------------------------------------------


def _millis(at: datetime | int) -> int:
    if isinstance(at, int):
        return at
    return (at - _EPOCH) // timedelta(milliseconds=1)


def fingerprint(value: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the facts of a crime (``FACTS``): a CrimeReported value, parsed or
    decoded, with times as aware datetimes (or epoch milliseconds)."""
    facts = [
        value["force"],
        value["offence"],
        _millis(value["committed_from"]),
        _millis(value["committed_to"]),
        float(value["lat"]),
        float(value["lon"]),
        float(value["location_accuracy_m"]),
        value.get("type_description"),
        value.get("crime_text"),
    ]
    encoded = json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def assign_versions(
    accepted: Iterable[Mapping[str, Any]], known: Mapping[str, tuple[int, str]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Which accepted crimes to publish, with their version, and which are unchanged.

    ``known`` maps crime_ref -> (latest published version, ``fingerprint`` of its facts).
    A new crime is version 1; a known one whose facts changed is its latest version + 1;
    one whose facts did not change is not published and its reference is listed as
    unchanged. When the same crime reference is accepted more than once in one file, the
    **later row wins**: only it is considered, so the crime gets one version at most.

    Returns (values to publish, each a copy with ``version``; unchanged references), both
    in the order of the winning rows in the file.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for value in accepted:
        latest.pop(value["crime_ref"], None)  # keep the later row's place in the order
        latest[value["crime_ref"]] = value
    to_publish: list[dict[str, Any]] = []
    unchanged: list[str] = []
    for ref, value in latest.items():
        previous = known.get(ref)
        if previous is None:
            to_publish.append({**value, "version": 1})
        elif previous[1] == fingerprint(value):
            unchanged.append(ref)
        else:
            to_publish.append({**value, "version": previous[0] + 1})
    return to_publish, unchanged
