"""What an officer reads of a hit and a trail: the role's fields only, National Grid
references for every place shown, gaps and steps between fixes; and which published hits
the views may forget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.gps_stream.assembly import settled
from services.gps_stream.evidence_pack import hit_document, iso_of_ms, trail_features
from services.gps_stream.geometry import haversine_m
from services.gps_stream.hitrule import Crime
from services.gps_stream.trail import epoch_ms

AT = datetime(2026, 11, 1, 21, 40, tzinfo=UTC)
CRIME = Crime("44/1/26", 2, "ROBBERY", 50.9097, -1.4044, 25.0,
              epoch_ms(AT - timedelta(minutes=10)), epoch_ms(AT + timedelta(minutes=10)))


def hit() -> dict[str, Any]:
    fixes = [{"recorded_at": AT + timedelta(minutes=m), "lat": 50.9097 + 0.0002 * m,
              "lon": -1.4044, "accuracy_m": 10.0, "distance_m": 22.0 * m + 5} for m in (0, 3)]
    return {"hit_id": "h1", "revision": 1, "status": "ACTIVE", "crime_ref": CRIME.crime_ref,
            "crime_version": 2, "offence": "ROBBERY", "person_id": "P-1",
            "device_id": "TAG-1", "distance_m": 5.0, "nearest_fix_at": AT, "fixes": fixes,
            "detected_at": AT + timedelta(hours=1), "rule_version": 1}


def test_police_read_the_evidence_with_grid_references() -> None:
    document = hit_document(hit(), CRIME, "POLICE")
    assert document["device_id"] == "TAG-1" and document["distance_m"] == 5.0
    assert document["nearest_fix_at"] == AT.isoformat()
    assert [f["recorded_at"] for f in document["fixes"]] == [
        AT.isoformat(), (AT + timedelta(minutes=3)).isoformat()]
    assert all(f["national_grid"]["reference"].startswith("SU ") for f in document["fixes"])
    crime = document["crime"]
    assert crime["crime_ref"] == "44/1/26" and crime["version"] == 2
    assert crime["national_grid"]["reference"].startswith("SU ")
    assert crime["committed_from"] == (AT - timedelta(minutes=10)).isoformat()
    assert crime["committed_to"] == (AT + timedelta(minutes=10)).isoformat()


def test_probation_read_that_there_was_a_hit_and_when_not_where() -> None:
    document = hit_document(hit(), CRIME, "PROBATION")
    assert "fixes" not in document and "device_id" not in document
    assert "distance_m" not in document and document["crime"] is None
    assert document["hit_id"] == "h1" and document["detected_at"] == (
        AT + timedelta(hours=1)).isoformat()


def test_a_crime_no_longer_held_is_shown_as_none() -> None:
    document = hit_document(hit(), None, "POLICE")
    assert document["crime"] is None and len(document["fixes"]) == 2


def test_trail_features_carry_gap_and_step() -> None:
    t0 = epoch_ms(AT)
    fixes = [(t0, 50.9, -1.4, 10.0, "TAG-1"), (t0 + 90_000, 50.901, -1.4, 12.0, "TAG-1")]
    first, second = trail_features(fixes)
    assert first["geometry"] == {"type": "Point", "coordinates": [-1.4, 50.9]}
    assert first["properties"]["gap_s"] is None and first["properties"]["step_m"] is None
    assert second["properties"]["recorded_at"] == iso_of_ms(t0 + 90_000)
    assert second["properties"]["gap_s"] == 90.0
    assert second["properties"]["step_m"] == haversine_m(50.9, -1.4, 50.901, -1.4)
    assert trail_features([]) == []


def test_iso_of_ms_is_exact() -> None:
    assert iso_of_ms(0) == "1970-01-01T00:00:00+00:00"
    assert iso_of_ms(epoch_ms(AT) + 1) == (AT + timedelta(milliseconds=1)).isoformat()


def test_a_hit_is_settled_once_its_crime_is_gone_and_its_fixes_past_retention() -> None:
    cutoff = AT + timedelta(days=30)
    published = {
        b"live-crime": {**hit(), "crime_ref": "kept"},
        b"recent-fix": {**hit(), "crime_ref": "gone", "nearest_fix_at": cutoff},
        b"settled": {**hit(), "crime_ref": "gone"},
    }
    assert settled(published, {"kept"}, cutoff) == [b"settled"]
