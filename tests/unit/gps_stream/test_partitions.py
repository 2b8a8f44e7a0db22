"""PartitionMatchers' memory follows retention: crimes whose window has passed are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import Settings
from services.gps_stream.config import GpsSettings
from services.gps_stream.hitrule import Crime
from services.gps_stream.partitions import PartitionMatchers, crime_of
from services.gps_stream.trail import epoch_ms

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)


def crime(ref: str, days_ago: float) -> Crime:
    at = NOW - timedelta(days=days_ago)
    return crime_of({"crime_ref": ref, "version": 1, "offence": "ROBBERY", "lat": 50.9,
                     "lon": -1.4, "location_accuracy_m": 0.0, "committed_from": at,
                     "committed_to": at + timedelta(minutes=30)})


def test_crimes_whose_window_ended_before_the_retention_cutoff_are_forgotten() -> None:
    gps = GpsSettings()
    matchers = PartitionMatchers(Settings(), Codec(SchemaRegistry(ROOT / "schemas")),
                                 gps.rule(), gps.retention_ms, lambda: NOW)
    for ref, days in (("old", 40), ("edge", 29.9), ("new", 1)):
        matchers.add_crime(crime(ref, days))
    matchers.purge()
    assert set(matchers.crimes) == {"edge", "new"}
    cutoff = epoch_ms(NOW) - gps.retention_ms
    assert all(c.window_ms(gps.rule())[1] >= cutoff for c in matchers.crimes.values())


def test_a_crime_the_hit_rule_cannot_place_is_refused_with_the_field() -> None:
    import math

    import pytest

    from services.gps_stream.partitions import InvalidCrime

    good = {"crime_ref": "44/1/26", "version": 1, "offence": "ROBBERY", "lat": 50.9,
            "lon": -1.4, "location_accuracy_m": 0.0, "committed_from": NOW,
            "committed_to": NOW + timedelta(minutes=5)}
    for change, field in [({"lat": math.nan}, "lat"), ({"lon": 181.0}, "lon"),
                          ({"location_accuracy_m": -1.0}, "location_accuracy_m"),
                          ({"committed_to": NOW - timedelta(minutes=1)}, "committed_to"),
                          ({"crime_ref": "  "}, "crime_ref")]:
        with pytest.raises(InvalidCrime, match=field):
            crime_of({**good, **change})
    assert crime_of(good).crime_ref == "44/1/26"


def test_a_fix_from_the_future_is_refused_and_one_past_retention_passed_over() -> None:
    import pytest

    from services.gps_stream.trail import InvalidFix

    gps = GpsSettings()
    matchers = PartitionMatchers(Settings(), Codec(SchemaRegistry(ROOT / "schemas")),
                                 gps.rule(), gps.retention_ms, lambda: NOW,
                                 future_tolerance_ms=600_000)
    matchers.partitions[0] = matchers._new_partition(0)

    def ping(at: datetime) -> dict[str, object]:
        return {"device_id": "TAG-1", "recorded_at": at, "lat": 50.9, "lon": -1.4,
                "accuracy_m": 10.0}

    with pytest.raises(InvalidFix, match="in the future"):
        matchers.device_input(0, 1, "TagPing", ping(NOW + timedelta(minutes=11)))
    assert matchers.device_input(0, 2, "TagPing", ping(NOW + timedelta(minutes=9))) == (
        [], [], [])  # within the tolerance: kept (no crime, nothing to say)
    assert matchers.partitions[0].matcher.fix_count == 1
    matchers.device_input(0, 3, "TagPing", ping(NOW - timedelta(days=31)))
    assert matchers.partitions[0].matcher.fix_count == 1  # older than trails are kept
    # the store gauges: fixes summed over partitions, each live crime once (all hold it)
    matchers.partitions[1] = matchers._new_partition(1)
    matchers.device_input(1, 1, "TagPing", {**ping(NOW - timedelta(minutes=3)),
                                             "device_id": "TAG-2"})
    matchers.add_crime(crime("live", 0.5))
    assert (matchers.held("fixes"), matchers.held("crimes"), matchers.held("hits")) == (2, 1, 0)
