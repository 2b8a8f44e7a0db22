"""What an officer reads: a hit with exactly the fields the role receives, each place with
its National Grid reference, and a person's trail as GeoJSON. Pure (the views in web.py
check who asks, gather the fixes and audit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from iomkit import grid
from iomkit.identity import isa
from services.gps_stream.geometry import haversine_m
from services.gps_stream.hitrule import Crime

#: A fix of a trail as the workers exchange it: recorded_at_ms, lat, lon, accuracy_m, device.
TrailFix = tuple[int, float, float, float, str]


def iso_of_ms(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()


def hit_document(hit: dict[str, Any], crime: Crime | None, role: str,
                 investigating: bool = False) -> dict[str, Any]:
    """The hit with exactly the fields the caller's role receives (isa.FIELDS): police get
    the evidence (fixes, the crime's place), probation that there was a hit and when; the
    police of the force investigating the crime what isa.INVESTIGATING gives them."""
    shown = set(isa.fields_of(role, isa.HIT, investigating))
    located = bool(shown & isa.LOCATION_FIELDS)
    # Officers read National Grid references: the crime's (first) and every fix's, OSTN15.
    points = ([] if crime is None or not located else [(crime.lat, crime.lon)]) + (
        [(f["lat"], f["lon"]) for f in hit["fixes"]] if located else [])
    references = grid.national_grid([p[0] for p in points], [p[1] for p in points])
    crime_grid = references.pop(0) if crime is not None and located else None
    return {
        **{k: v for k, v in hit.items() if k in shown
           and k not in ("fixes", "nearest_fix_at", "detected_at")},
        "nearest_fix_at": hit["nearest_fix_at"].isoformat(),
        "detected_at": hit["detected_at"].isoformat(),
        **({} if not located else {"fixes": [
            {**f, "recorded_at": f["recorded_at"].isoformat(), "national_grid": g}
            for f, g in zip(hit["fixes"], references, strict=True)]}),
        "crime": None if crime is None or not located else {
            "crime_ref": crime.crime_ref, "version": crime.version, "offence": crime.offence,
            "lat": crime.lat, "lon": crime.lon, "national_grid": crime_grid,
            "location_accuracy_m": crime.location_accuracy_m,
            "committed_from": iso_of_ms(crime.committed_from_ms),
            "committed_to": iso_of_ms(crime.committed_to_ms),
        },
    }


def trail_features(fixes: Sequence[TrailFix]) -> list[dict[str, Any]]:
    """GeoJSON features of a trail's fixes (in time order): each with its accuracy, and the
    gap and step since the previous fix."""
    features = []
    for i, (at, lat, lon, accuracy, device) in enumerate(fixes):
        previous = fixes[i - 1] if i else None
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "recorded_at": iso_of_ms(at), "device_id": device, "accuracy_m": accuracy,
                "gap_s": None if previous is None else (at - previous[0]) / 1000,
                "step_m": None if previous is None else haversine_m(previous[1], previous[2],
                                                                    lat, lon),
            },
        })
    return features
