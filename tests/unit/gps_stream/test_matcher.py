"""services.gps_stream.matcher: readable scenarios of the hit rule as data arrives.

One crime in central London, committed 22:00-22:30; person P1 wears tag D1.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from services.gps_stream.hitrule import Crime, Enrolment, HitRuleSettings, hit_id, person_at
from services.gps_stream.matcher import ACTIVE, WITHDRAWN, HitMatcher, HitUpdate
from services.gps_stream.trail import Fix
from tests.unit.gps_stream.support import DAY, HOUR, MIN, T0, destination

LAT, LON = 51.5145, -0.1226
FROM, TO = T0, T0 + 30 * MIN
CRIME = Crime("MPS-1", 1, "ROBBERY", LAT, LON, 0.0, FROM, TO)
FITTED_P1 = Enrolment("E1", "D1", "P1", "FITTED", T0 - DAY)
HIT = hashlib.sha256(b"MPS-1|P1").hexdigest()[:32]


def fix(
    at_ms: int, metres: float, accuracy: float = 10.0, device: str = "D1", bearing: float = 45.0
) -> Fix:
    lat, lon = destination(LAT, LON, bearing, metres)
    return Fix(device, at_ms, lat, lon, accuracy)


def evidence_times(update: HitUpdate) -> list[int]:
    return [f.recorded_at_ms for f in update.fixes]


def test_hit_id_is_sha256_prefix() -> None:
    assert hit_id("MPS-1", "P1") == HIT
    assert len(HIT) == 32


def test_crime_after_fixes() -> None:
    m = HitMatcher()
    assert m.add_enrolment(FITTED_P1) == []
    near = fix(FROM + 5 * MIN, 50.0)
    assert m.add_fix(near) == []
    assert m.add_fix(fix(FROM - 16 * MIN, 20.0)) == []  # before the window
    assert m.add_fix(fix(FROM + 6 * MIN, 500.0)) == []  # too far
    [update] = m.add_crime(CRIME)
    assert update.hit_id == HIT
    assert (update.revision, update.status, update.person_id, update.device_id) == (
        1,
        ACTIVE,
        "P1",
        "D1",
    )
    assert (update.crime_ref, update.crime_version, update.offence) == ("MPS-1", 1, "ROBBERY")
    assert update.distance_m == pytest.approx(50.0, abs=1e-6)
    assert update.nearest_fix_at_ms == near.recorded_at_ms
    assert evidence_times(update) == [near.recorded_at_ms]
    assert update.fixes[0][1:4] == (near.lat, near.lon, near.accuracy_m)
    assert update.rule_version == 1


def test_fixes_after_crime_late_and_shuffled() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    fixes = [fix(FROM + i * MIN, 30.0 + i) for i in range(0, 40, 5)]  # 8 fixes, 5 in window+15
    fixes.append(fix(TO + 15 * MIN + 1000, 10.0))  # 1 s after the window: never evidence
    random.Random(4).shuffle(fixes)
    updates = [u for f in fixes for u in m.add_fix(f)]
    assert [u.revision for u in updates] == list(range(1, 9))
    assert {u.hit_id for u in updates} == {HIT}
    final = updates[-1]
    assert evidence_times(final) == [FROM + i * MIN for i in range(0, 40, 5)]
    assert final.distance_m == pytest.approx(30.0, abs=1e-6)  # the nearest of them


def test_window_edges_are_inclusive() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    assert m.add_fix(fix(FROM - 15 * MIN - 1, 10.0)) == []
    assert m.add_fix(fix(TO + 15 * MIN + 1, 10.0)) == []
    assert len(m.add_fix(fix(FROM - 15 * MIN, 10.0))) == 1
    assert len(m.add_fix(fix(TO + 15 * MIN, 10.0))) == 1


def test_enrolment_after_pings() -> None:
    m = HitMatcher()
    f = fix(FROM + MIN, 80.0)
    assert m.add_fix(f) == []
    assert m.add_crime(CRIME) == []  # nobody wears D1 yet, as far as we know
    [update] = m.add_enrolment(FITTED_P1)
    assert (update.hit_id, update.revision, update.status) == (HIT, 1, ACTIVE)
    assert evidence_times(update) == [f.recorded_at_ms]


def test_late_enrolment_moves_evidence_to_another_person() -> None:
    """D1 was refitted to P2 before the crime, but we learn it only after the hit."""
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    [first] = m.add_fix(fix(FROM + MIN, 20.0))
    assert (first.person_id, first.status) == ("P1", ACTIVE)
    updates = m.add_enrolment(Enrolment("E2", "D1", "P2", "FITTED", FROM - HOUR))
    by_person = {u.person_id: u for u in updates}
    assert (by_person["P1"].status, by_person["P1"].revision, by_person["P1"].fixes) == (
        WITHDRAWN,
        2,
        (),
    )
    assert (by_person["P2"].status, by_person["P2"].revision) == (ACTIVE, 1)
    assert by_person["P2"].hit_id == hit_id("MPS-1", "P2")


def test_duplicate_fix_changes_nothing() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    f = fix(FROM + MIN, 20.0)
    assert len(m.add_fix(f)) == 1
    assert m.add_fix(f) == []
    assert m.add_fix(Fix(f.device_id, f.recorded_at_ms, f.lat, f.lon, f.accuracy_m)) == []
    assert m.fix_count == 1
    assert m.add_enrolment(FITTED_P1) == []  # duplicate enrolment too


def test_crime_version_that_no_longer_matches_withdraws() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    m.add_fix(fix(FROM + MIN, 20.0))
    moved_lat, moved_lon = destination(LAT, LON, 180.0, 2_000.0)
    v2 = Crime("MPS-1", 2, "BURGLARY_DWELLING", moved_lat, moved_lon, 0.0, FROM, TO)
    [update] = m.add_crime(v2)
    assert (update.hit_id, update.revision, update.status) == (HIT, 2, WITHDRAWN)
    assert (update.crime_version, update.offence, update.fixes) == (2, "BURGLARY_DWELLING", ())
    assert m.add_crime(CRIME) == []  # an older version is ignored
    assert m.add_crime(Crime("MPS-1", 2, "ROBBERY", LAT, LON, 0.0, FROM, TO)) == []  # equal too
    [back] = m.add_crime(Crime("MPS-1", 3, "ROBBERY", LAT, LON, 0.0, FROM, TO))
    assert (back.revision, back.status, back.crime_version) == (3, ACTIVE, 3)


def test_crime_version_with_the_same_evidence_publishes_nothing() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    m.add_fix(fix(FROM + MIN, 20.0))
    assert m.add_crime(Crime("MPS-1", 2, "ROBBERY", LAT, LON, 0.0, FROM, TO + 5 * MIN)) == []


def test_new_evidence_is_revision_2_of_the_same_hit() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    [one] = m.add_fix(fix(FROM + MIN, 90.0))
    [two] = m.add_fix(fix(FROM + 2 * MIN, 40.0))
    assert (one.hit_id, one.revision) == (HIT, 1)
    assert (two.hit_id, two.revision, len(two.fixes)) == (HIT, 2, 2)
    assert two.distance_m == pytest.approx(40.0, abs=1e-6)
    assert two.nearest_fix_at_ms == FROM + 2 * MIN
    # A wider crime version brings a far fix in: revision 3.
    m.add_fix(fix(FROM + 3 * MIN, 180.0))
    [three] = m.add_crime(Crime("MPS-1", 2, "ROBBERY", LAT, LON, 100.0, FROM, TO))
    assert (three.revision, len(three.fixes)) == (3, 3)


def test_purge_makes_a_31_day_old_fix_unmatchable() -> None:
    now = T0 + 31 * DAY
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    old = fix(FROM + MIN, 20.0)
    m.add_fix(old)
    assert m.purge_before(now - 30 * DAY) == []
    assert m.fix_count == 0
    assert m.add_crime(CRIME) == []
    assert m.add_fix(old) == []  # a re-delivered purged fix stays purged
    assert m.fix_count == 0


def test_what_it_holds_for_the_store_gauges() -> None:
    m = HitMatcher()
    assert m.held() == {"fixes": 0, "crimes": 0, "hits": 0}
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    m.add_fix(fix(FROM + MIN, 20.0))
    m.add_fix(fix(FROM + MIN, 20.0))  # a duplicate is held once
    m.add_fix(fix(FROM + 2 * MIN, 900.0))
    assert m.held() == {"fixes": 2, "crimes": 1, "hits": 1}
    m.purge_before(T0 + 30 * DAY)
    assert m.held() == {"fixes": 0, "crimes": 0, "hits": 0}


def test_purge_keeps_published_evidence_while_the_crime_is_live() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    m.add_fix(fix(FROM + MIN, 20.0))
    m.purge_before(FROM + 2 * MIN)  # the fix is aged out, the crime's window is not
    assert m.fix_count == 0
    # A later version that still covers the aged-out fix does not withdraw the hit.
    assert m.add_crime(Crime("MPS-1", 2, "ROBBERY", LAT, LON, 5.0, FROM, TO)) == []
    assert set(m.active_hits()) == {HIT}


def test_purge_forgets_a_crime_past_retention_and_its_hits() -> None:
    """Bounded memory: a crime whose window ended before the cutoff goes with its hits
    and the fixes' links to them (they only grew, one entry a crime, before)."""
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    m.add_fix(fix(FROM + MIN, 20.0))
    live = Crime("MPS-2", 1, "ROBBERY", LAT, LON, 0.0, FROM + 30 * DAY, FROM + 30 * DAY + MIN)
    m.add_crime(live)
    m.purge_before(T0 + 30 * DAY)
    assert m.active_hits() == {}
    assert (set(m._crimes), m._hits, m._persons_of_crime, m._evidence_of_fix) == (
        {"MPS-2"}, {}, {}, {})
    # A later version of it meets no retained fix: nothing to say (and no withdrawal).
    assert m.add_crime(Crime("MPS-1", 2, "ROBBERY", LAT, LON, 5.0, FROM, TO)) == []
    m.purge_before(T0 + 30 * DAY)
    assert set(m._crimes) == {"MPS-2"}


def test_accuracy_over_200_is_not_evidence() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    assert m.add_fix(fix(FROM + MIN, 10.0, accuracy=200.1)) == []
    [update] = m.add_fix(fix(FROM + 2 * MIN, 10.0, accuracy=200.0))
    assert update.fixes[0].accuracy_m == 200.0


def test_distance_edge_is_inclusive_of_both_accuracies() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(Crime("MPS-1", 1, "ROBBERY", LAT, LON, 30.0, FROM, TO))
    assert m.add_fix(fix(FROM + MIN, 100 + 50 + 30 + 0.5, accuracy=50.0)) == []
    assert len(m.add_fix(fix(FROM + 2 * MIN, 100 + 50 + 30 - 0.5, accuracy=50.0))) == 1


def test_removed_tag_is_not_evidence() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_enrolment(Enrolment("E2", "D1", "P1", "REMOVED", FROM - MIN))
    m.add_crime(CRIME)
    assert m.add_fix(fix(FROM + MIN, 10.0)) == []


def test_monitoring_end() -> None:
    m = HitMatcher()
    m.add_enrolment(Enrolment("E1", "D1", "P1", "FITTED", T0 - DAY, FROM + 10 * MIN))
    m.add_crime(CRIME)
    assert len(m.add_fix(fix(FROM + 10 * MIN, 10.0))) == 1  # ends_at >= recorded_at
    assert m.add_fix(fix(FROM + 10 * MIN + 1, 10.0)) == []


def test_two_devices_one_person_device_is_the_nearest_fix() -> None:
    m = HitMatcher()
    m.add_enrolment(Enrolment("E1", "D1", "P1", "FITTED", T0 - DAY))
    m.add_enrolment(Enrolment("E2", "D1", "P1", "REMOVED", FROM + 5 * MIN))
    m.add_enrolment(Enrolment("E3", "D2", "P1", "FITTED", FROM + 6 * MIN))
    m.add_crime(CRIME)
    [a] = m.add_fix(fix(FROM + MIN, 60.0, device="D1"))
    [b] = m.add_fix(fix(FROM + 7 * MIN, 30.0, device="D2"))
    assert (a.device_id, b.device_id, b.revision, b.hit_id) == ("D1", "D2", 2, HIT)
    # Same distance: the earlier fix wins the tie, whichever device it came from.
    [c] = m.add_fix(fix(FROM - MIN, 30.0, device="D1"))
    assert (c.device_id, c.nearest_fix_at_ms) == ("D1", FROM - MIN)


def test_person_at_ties_and_order() -> None:
    a = Enrolment("E1", "D1", "P1", "FITTED", 100)
    b = Enrolment("E2", "D1", "P2", "FITTED", 100)
    assert person_at([a, b], 100) == person_at([b, a], 100) == "P2"  # greater enrolment_id
    assert person_at([a, b], 99) is None


def test_crime_with_a_huge_location_accuracy() -> None:
    """A 5 km accuracy is beyond the disk limit: the crime is checked against every fix."""
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    before = fix(FROM + MIN, 4_000.0)
    m.add_fix(before)
    [one] = m.add_crime(Crime("MPS-1", 1, "ROBBERY", LAT, LON, 5_000.0, FROM, TO))
    [two] = m.add_fix(fix(FROM + 2 * MIN, 5_100.0, bearing=270.0))  # <= 100 + 10 + 5000
    assert (one.revision, two.revision, len(two.fixes)) == (1, 2, 2)
    assert m.add_fix(fix(FROM + 3 * MIN, 5_120.0)) == []


def test_other_settings() -> None:
    m = HitMatcher(HitRuleSettings(window_min=5, max_fix_accuracy_m=50.0, base_radius_m=20.0))
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    assert m.add_fix(fix(FROM - 6 * MIN, 5.0)) == []
    assert m.add_fix(fix(FROM + MIN, 5.0, accuracy=60.0)) == []
    assert m.add_fix(fix(FROM + MIN, 31.0, accuracy=10.0)) == []
    assert len(m.add_fix(fix(FROM + MIN, 29.0, accuracy=10.0))) == 1


def test_crime_moved_with_the_same_fixes_republishes_distances() -> None:
    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_crime(CRIME)
    m.add_fix(fix(FROM + MIN, 20.0))
    moved_lat, moved_lon = destination(LAT, LON, 45.0, 10.0)  # 10 m nearer the fix
    [update] = m.add_crime(Crime("MPS-1", 2, "ROBBERY", moved_lat, moved_lon, 0.0, FROM, TO))
    assert (update.revision, update.crime_version) == (2, 2)
    assert update.distance_m == pytest.approx(10.0, abs=1e-6)


def test_the_crime_force_travels_to_the_hit_and_does_not_change_it() -> None:
    """Contract 1.1: the reporting force is carried, never part of the rule."""
    from dataclasses import replace

    m = HitMatcher()
    m.add_enrolment(FITTED_P1)
    m.add_fix(fix(FROM + 5 * MIN, 50.0))
    [update] = m.add_crime(replace(CRIME, force="Thames Valley"))
    assert update.crime_force == "Thames Valley" and update.status == ACTIVE
    assert crime_of_value_force("Thames Valley") == "Thames Valley"
    assert crime_of_value_force("") is None  # an empty force is none


def crime_of_value_force(force: str) -> str | None:
    from datetime import UTC, datetime, timedelta

    from services.gps_stream.partitions import crime_of

    at = datetime(2028, 2, 29, 23, 50, tzinfo=UTC)
    return crime_of({"crime_ref": "TVP-1", "version": 1, "offence": "ROBBERY", "lat": LAT,
                     "lon": LON, "location_accuracy_m": 0.0, "committed_from": at,
                     "committed_to": at + timedelta(minutes=20), "force": force}).force
