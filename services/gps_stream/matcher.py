"""Incremental, order-independent hit detection. Pure: in-memory state, no I/O.

``HitMatcher`` holds one worker's fixes (its partitions' devices), their devices' enrolments
and every live crime, and after each record returns the ``HitUpdate``s to publish. Whatever
order the records arrive in, and however devices are spread over matchers, the ACTIVE hits
and their evidence end up as the contract's hit rule says (tests/unit/gps_stream/test_oracle).

State
- fixes: H3 cell (``geometry.RESOLUTION``) -> time-sorted trail, and device -> time-sorted
  trail (for enrolments that arrive after their pings);
- crimes: latest version per crime_ref, registered in every cell of the grid disk covering
  its largest possible radius (base + max fix accuracy + crime accuracy; ``geometry``
  proves the cover), each cell's entries sorted by window start so a fix bisects to the
  crimes whose window can hold it. A crime whose disk would exceed ``MAX_DISK_K`` (a huge
  location accuracy) is kept in one "wide" list that every fix checks and that checks
  every trail: exact, just slower, and rare;
- hits per (crime_ref, person_id): the evidence fixes with their distances, the revision
  and the last published status and evidence.

Publishing: a hit is published when its evidence (which fixes, and each one's distance to
the crime) or its status changes; the revision starts at 1 and goes up by one each time.
So a new crime version that matches the same fixes at the same place publishes nothing
(even if its offence or times changed); one that moves the crime republishes, so published
distances are never stale. A hit with no evidence left is WITHDRAWN (only if it was ever
published as ACTIVE); it can come back ACTIVE later.

Hit device: the device of the nearest evidence fix; ties by earliest recorded_at, then
smallest device_id (then lat, lon, accuracy), so it is deterministic.

Retention: ``purge_before(cutoff)`` drops fixes recorded before cutoff, refuses later fixes
older than it, and forgets crimes whose window ends before it (no fix can match them any
more) with their hits: all of such a hit's evidence is older than the cutoff, so no
retained fix can change it (``assembly.settled`` forgets it from the views by the same
rule), and a matcher rebuilt from the retained fixes and live crimes would not hold it
either; a later version of such a crime is matched afresh against the retained fixes. While
its crime is live a hit keeps the evidence it has: an aged-out fix is not "no longer
matching", so a later crime version re-checks it from the hit's own copy.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

from services.gps_stream.geometry import cell_of, cover_cells, disk_k, max_search_radius_m
from services.gps_stream.hitrule import (
    RULE_VERSION,
    Crime,
    Enrolment,
    HitRuleSettings,
    hit_id,
    is_evidence,
    person_at,
)
from services.gps_stream.trail import Fix

__all__ = ["ACTIVE", "MAX_DISK_K", "WITHDRAWN", "EvidenceFix", "HitMatcher", "HitUpdate"]

HitStatus = Literal["ACTIVE", "WITHDRAWN"]
ACTIVE: Final = "ACTIVE"
WITHDRAWN: Final = "WITHDRAWN"

MAX_DISK_K: Final = 20
"""Above this grid-disk size (1,261 cells, radius ~2 km at res 9) a crime goes to the wide list."""


class EvidenceFix(NamedTuple):
    """One entry of CrimeHit.fixes."""

    recorded_at_ms: int
    lat: float
    lon: float
    accuracy_m: float
    distance_m: float


@dataclass(frozen=True, slots=True)
class HitUpdate:
    """A CrimeHit to publish (detected_at is the publisher's to stamp)."""

    hit_id: str
    revision: int
    status: HitStatus
    crime_ref: str
    crime_version: int
    offence: str
    person_id: str
    device_id: str
    distance_m: float
    nearest_fix_at_ms: int
    fixes: tuple[EvidenceFix, ...]
    rule_version: int = RULE_VERSION
    crime_force: str | None = None  # the force that reported the crime (contract 1.1)


class _Trail:
    """Fixes sorted by recorded_at_ms (parallel lists, so bisect needs no key function)."""

    __slots__ = ("fixes", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.fixes: list[Fix] = []

    def add(self, fix: Fix) -> bool:
        """Insert; False (and nothing changed) when an identical fix is already here."""
        times = self.times
        t = fix.recorded_at_ms
        if not times or times[-1] < t:
            times.append(t)
            self.fixes.append(fix)
            return True
        i = bisect_right(times, t)
        j = i
        fixes = self.fixes
        while j > 0 and times[j - 1] == t:
            j -= 1
            if fixes[j] == fix:
                return False
        times.insert(i, t)
        fixes.insert(i, fix)
        return True

    def between(self, lo: int, hi: int) -> list[Fix]:
        """Fixes with lo <= recorded_at_ms <= hi, in time order."""
        times = self.times
        return self.fixes[bisect_left(times, lo) : bisect_right(times, hi)]

    def drop_before(self, cutoff: int) -> None:
        i = bisect_left(self.times, cutoff)
        if i:
            del self.times[:i]
            del self.fixes[:i]


class _CrimeSlot:
    """Live crimes of one cell: (window start, window end, crime), sorted by window start."""

    __slots__ = ("entries", "los")

    def __init__(self) -> None:
        self.los: list[int] = []
        self.entries: list[tuple[int, int, Crime]] = []

    def add(self, entry: tuple[int, int, Crime]) -> None:
        i = bisect_right(self.los, entry[0])
        self.los.insert(i, entry[0])
        self.entries.insert(i, entry)

    def remove(self, lo: int, crime_ref: str) -> None:
        i = bisect_left(self.los, lo)
        while i < len(self.los) and self.los[i] == lo:
            if self.entries[i][2].crime_ref == crime_ref:
                del self.los[i]
                del self.entries[i]
                return
            i += 1

    def at(self, t: int, max_span: int) -> list[Crime]:
        """Crimes whose window holds t (a window is never longer than max_span)."""
        los = self.los
        entries = self.entries
        return [
            c
            for lo, hi, c in entries[bisect_left(los, t - max_span) : bisect_right(los, t)]
            if hi >= t
        ]


class _Hit:
    __slots__ = (
        "crime_ref",
        "device_id",
        "distance_m",
        "evidence",
        "hit_id",
        "nearest_fix_at_ms",
        "person_id",
        "published",
        "revision",
        "status",
    )

    def __init__(self, crime_ref: str, person_id: str) -> None:
        self.crime_ref = crime_ref
        self.person_id = person_id
        self.hit_id = hit_id(crime_ref, person_id)
        self.evidence: dict[Fix, float] = {}
        self.published: dict[Fix, float] = {}
        self.status: HitStatus | None = None
        self.revision = 0
        self.device_id = ""
        self.distance_m = math.inf
        self.nearest_fix_at_ms = 0


_Registration = tuple[int, int, tuple[str, ...] | None]  # window lo, hi, cells (None: wide)


class HitMatcher:
    """One worker's incremental hit detector; every method returns the updates to publish."""

    def __init__(self, settings: HitRuleSettings | None = None) -> None:
        self.settings = settings or HitRuleSettings()
        self._cells: dict[str, _Trail] = {}
        self._devices: dict[str, _Trail] = {}
        self._enrolments: dict[str, list[Enrolment]] = {}
        self._crimes: dict[str, Crime] = {}
        self._registered: dict[str, _Registration] = {}
        self._crime_cells: dict[str, _CrimeSlot] = {}
        self._wide = _CrimeSlot()
        self._max_span = 0
        self._hits: dict[tuple[str, str], _Hit] = {}
        self._persons_of_crime: dict[str, set[str]] = {}
        self._evidence_of_fix: dict[Fix, dict[str, str]] = {}
        self._watermark = -(2**63)

    def held(self) -> dict[str, int]:
        """What it holds, for the store gauges: fixes (each once), live crimes, hits."""
        return {"fixes": self.fix_count, "crimes": len(self._crimes), "hits": len(self._hits)}

    # -- inputs -------------------------------------------------------------------------

    def add_fix(self, fix: Fix) -> list[HitUpdate]:
        """A TagPing. O(log n) when no live crime covers its cell; duplicates change nothing."""
        t = fix.recorded_at_ms
        if t < self._watermark:
            return []
        cell = cell_of(fix.lat, fix.lon)
        trail = self._cells.get(cell)
        if trail is None:
            trail = self._cells[cell] = _Trail()
        if not trail.add(fix):
            return []
        trail = self._devices.get(fix.device_id)
        if trail is None:
            trail = self._devices[fix.device_id] = _Trail()
        trail.add(fix)
        slot = self._crime_cells.get(cell)
        if slot is None and not self._wide.los:
            return []
        crimes = slot.at(t, self._max_span) if slot is not None else []
        if self._wide.los:
            crimes += self._wide.at(t, self._max_span)
        if not crimes:
            return []
        touched: set[tuple[str, str]] = set()
        enrolments = self._enrolments.get(fix.device_id, ())
        for crime in crimes:
            self._evaluate(fix, crime, enrolments, touched)
        return self._flush(touched)

    def add_enrolment(self, enrolment: Enrolment) -> list[HitUpdate]:
        """A TagEnrolment: re-checks the device's fixes whose person it can change."""
        known = self._enrolments.setdefault(enrolment.device_id, [])
        if enrolment in known:
            return []
        known.append(enrolment)
        trail = self._devices.get(enrolment.device_id)
        if trail is None:
            return []
        lo = enrolment.effective_at_ms
        # Fixes from its effective_at up to (not including) the next later enrolment.
        later = [e.effective_at_ms for e in known if e.effective_at_ms > lo]
        hi = min(later) - 1 if later else 2**63
        touched: set[tuple[str, str]] = set()
        for fix in trail.between(lo, hi):
            crimes = self._candidate_crimes(fix)
            for crime in crimes:
                self._evaluate(fix, crime, known, touched)
        return self._flush(touched)

    def add_crime(self, crime: Crime) -> list[HitUpdate]:
        """A CrimeReported version; a version not above the known one is ignored."""
        ref = crime.crime_ref
        old = self._crimes.get(ref)
        if old is not None and crime.version <= old.version:
            return []
        self._crimes[ref] = crime
        self._unregister(ref)
        lo, hi = crime.window_ms(self.settings)
        cells = self._register(crime, lo, hi)
        candidates: dict[Fix, None] = {}
        if cells is None:
            for trail in self._cells.values():
                candidates.update(dict.fromkeys(trail.between(lo, hi)))
        else:
            for cell in cells:
                trail = self._cells.get(cell)
                if trail is not None:
                    candidates.update(dict.fromkeys(trail.between(lo, hi)))
        for person in self._persons_of_crime.get(ref, ()):
            candidates.update(dict.fromkeys(self._hits[(ref, person)].evidence))
        touched: set[tuple[str, str]] = set()
        for fix in candidates:
            self._evaluate(fix, crime, self._enrolments.get(fix.device_id, ()), touched)
        return self._flush(touched)

    def purge_before(self, cutoff_ms: int) -> list[HitUpdate]:
        """Retention: forget fixes recorded before cutoff_ms. Never publishes (returns [])."""
        self._watermark = max(self._watermark, cutoff_ms)
        for index in (self._cells, self._devices):
            for key, trail in list(index.items()):
                trail.drop_before(cutoff_ms)
                if not trail.times:
                    del index[key]
        cutoff = self._watermark
        for ref, crime in list(self._crimes.items()):
            if crime.window_ms(self.settings)[1] < cutoff:
                self._forget_crime(ref)
        return []

    # -- read side (tests, metrics) ------------------------------------------------------

    def active_hits(self) -> dict[str, frozenset[Fix]]:
        """hit_id -> published evidence fixes of every hit whose last status is ACTIVE."""
        return {
            h.hit_id: frozenset(h.published) for h in self._hits.values() if h.status == ACTIVE
        }

    def snapshot(self) -> list[HitUpdate]:
        """Every hit as it stands (no revision moves): after a rebuild, so that evidence
        found before a crash but never delivered is delivered now (the receiver dedupes)."""
        return [self._update(hit) for _, hit in sorted(self._hits.items())
                if hit.status is not None]

    def person_of(self, device_id: str, at_ms: int) -> str | None:
        """Who the device was fitted to at ``at_ms`` (condition 1), if anyone."""
        return person_at(self._enrolments.get(device_id, ()), at_ms)

    def trail(self, person_id: str, lo: int, hi: int) -> list[Fix]:
        """The person's fixes recorded in [lo, hi] on every device fitted to them then,
        in time order (the evidence view of an officer ruling a person in or out)."""
        fixes = []
        for device, enrolments in self._enrolments.items():
            trail = self._devices.get(device)
            if trail is None or not any(e.person_id == person_id for e in enrolments):
                continue
            fixes += [f for f in trail.between(lo, hi)
                      if person_at(enrolments, f.recorded_at_ms) == person_id]
        return sorted(fixes, key=lambda f: (f.recorded_at_ms, f.device_id))

    @property
    def fix_count(self) -> int:
        return sum(len(t.times) for t in self._cells.values())

    # -- internals -------------------------------------------------------------------------

    def _register(self, crime: Crime, lo: int, hi: int) -> tuple[str, ...] | None:
        """Index a crime by the cells of its search disk; None when it went to the wide list."""
        radius = max_search_radius_m(crime.location_accuracy_m, self.settings)
        wide = not math.isfinite(radius) or disk_k(radius) > MAX_DISK_K
        cells = (
            None
            if wide
            else tuple(cover_cells(crime.lat, crime.lon, radius))
        )
        if hi < self._watermark or hi < lo:
            return cells  # no retained or future fix can be in its window
        self._max_span = max(self._max_span, hi - lo)
        entry = (lo, hi, crime)
        if cells is None:
            self._wide.add(entry)
        else:
            for cell in cells:
                slot = self._crime_cells.get(cell)
                if slot is None:
                    slot = self._crime_cells[cell] = _CrimeSlot()
                slot.add(entry)
        self._registered[crime.crime_ref] = (lo, hi, cells)
        return cells

    def _unregister(self, ref: str) -> None:
        reg = self._registered.pop(ref, None)
        if reg is None:
            return
        lo, _hi, cells = reg
        if cells is None:
            self._wide.remove(lo, ref)
            return
        for cell in cells:
            slot = self._crime_cells[cell]
            slot.remove(lo, ref)
            if not slot.los:
                del self._crime_cells[cell]

    def _forget_crime(self, ref: str) -> None:
        """A crime past retention, its hits and their evidence links (module doc)."""
        self._unregister(ref)
        del self._crimes[ref]
        for person in self._persons_of_crime.pop(ref, ()):
            hit = self._hits.pop((ref, person))
            for fix in {**hit.evidence, **hit.published}:
                current = self._evidence_of_fix.get(fix)
                if current is not None and current.pop(ref, None) is not None and not current:
                    del self._evidence_of_fix[fix]

    def _candidate_crimes(self, fix: Fix) -> list[Crime]:
        """Live crimes a fix can be evidence for, plus those it already is evidence for."""
        t = fix.recorded_at_ms
        slot = self._crime_cells.get(cell_of(fix.lat, fix.lon))
        crimes = slot.at(t, self._max_span) if slot is not None else []
        if self._wide.los:
            crimes += self._wide.at(t, self._max_span)
        current = self._evidence_of_fix.get(fix)
        if current:
            seen = {c.crime_ref for c in crimes}
            crimes += [self._crimes[ref] for ref in current if ref not in seen]
        return crimes

    def _evaluate(
        self,
        fix: Fix,
        crime: Crime,
        enrolments: Sequence[Enrolment],
        touched: set[tuple[str, str]],
    ) -> None:
        """Make the hit state agree with the rule for one (fix, crime) pair."""
        result = is_evidence(fix, crime, enrolments, self.settings)
        ref = crime.crime_ref
        current = self._evidence_of_fix.get(fix)
        if current is not None:
            old_person = current.get(ref)
            if old_person is not None and (result is None or result[0] != old_person):
                key = (ref, old_person)
                del self._hits[key].evidence[fix]
                touched.add(key)
                del current[ref]
                if not current:
                    del self._evidence_of_fix[fix]
        if result is None:
            return
        person, distance = result
        key = (ref, person)
        hit = self._hits.get(key)
        if hit is None:
            hit = self._hits[key] = _Hit(ref, person)
            self._persons_of_crime.setdefault(ref, set()).add(person)
        if hit.evidence.get(fix) != distance:
            hit.evidence[fix] = distance
            touched.add(key)
        self._evidence_of_fix.setdefault(fix, {})[ref] = person

    def _flush(self, touched: set[tuple[str, str]]) -> list[HitUpdate]:
        updates: list[HitUpdate] = []
        for key in sorted(touched):
            hit = self._hits[key]
            if hit.evidence:
                if hit.status == ACTIVE and hit.evidence == hit.published:
                    continue
                hit.status = ACTIVE
                hit.published = dict(hit.evidence)
                nearest, distance = min(
                    hit.evidence.items(),
                    key=lambda item: (
                        item[1],
                        item[0].recorded_at_ms,
                        item[0].device_id,
                        item[0].lat,
                        item[0].lon,
                        item[0].accuracy_m,
                    ),
                )
                hit.device_id = nearest.device_id
                hit.distance_m = distance
                hit.nearest_fix_at_ms = nearest.recorded_at_ms
            elif hit.status == ACTIVE:
                hit.status = WITHDRAWN
                hit.published = {}
            else:
                if hit.status is None:  # never published, nothing left: forget it
                    del self._hits[key]
                    persons = self._persons_of_crime[key[0]]
                    persons.discard(key[1])
                    if not persons:
                        del self._persons_of_crime[key[0]]
                continue
            hit.revision += 1
            updates.append(self._update(hit))
        return updates

    def _update(self, hit: _Hit) -> HitUpdate:
        crime = self._crimes[hit.crime_ref]
        fixes = tuple(
            sorted(
                EvidenceFix(f.recorded_at_ms, f.lat, f.lon, f.accuracy_m, d)
                for f, d in hit.evidence.items()
            )
        )
        return HitUpdate(
            hit_id=hit.hit_id,
            revision=hit.revision,
            status=ACTIVE if hit.status == ACTIVE else WITHDRAWN,
            crime_ref=hit.crime_ref,
            crime_version=crime.version,
            offence=crime.offence,
            person_id=hit.person_id,
            device_id=hit.device_id,
            distance_m=hit.distance_m,
            nearest_fix_at_ms=hit.nearest_fix_at_ms,
            fixes=fixes,
            crime_force=crime.force,
        )
