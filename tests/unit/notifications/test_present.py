"""What an officer reads: UK local time across both clock changes, distances with units,
labels in words, the lead officer or "not allocated"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications import present


@pytest.mark.parametrize(("utc", "shown"), [
    # spring forward, Sunday 29 March 2026: 01:00 GMT becomes 02:00 BST
    (datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), "Sun 29 Mar 2026, 00:59:59 GMT"),
    (datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), "Sun 29 Mar 2026, 02:00:00 BST"),
    # fall back, Sunday 25 October 2026: the hour from 01:00 happens twice, once each zone
    (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Sun 25 Oct 2026, 01:30:00 BST"),
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Sun 25 Oct 2026, 01:30:00 GMT"),
    # a summer evening is the next day in UTC terms no more: 23:30 UTC is 00:30 BST
    (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "Wed 1 Jul 2026, 00:30:00 BST"),
    # 29 February (2028) in winter: GMT, the same wall clock as UTC
    (datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC), "Tue 29 Feb 2028, 23:59:59 GMT"),
])
def test_uk_local_time_on_both_sides_of_the_clock_changes(utc: datetime, shown: str) -> None:
    assert present.when(utc, seconds=True) == shown


def test_times_from_every_contract_form_and_the_clock_alone() -> None:
    at = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    ms = int(at.timestamp() * 1000)
    assert present.when(ms) == present.when(at.isoformat()) == present.when(
        "2026-03-29T01:00:00Z") == "Sun 29 Mar 2026, 02:00 BST"
    assert present.clock(at - timedelta(seconds=1)) == "00:59:59 GMT"
    assert present.clock(at) == "02:00:00 BST"
    naive = datetime(2026, 7, 1, 12, 0)  # taken as UTC, never as the machine's zone
    assert present.clock(naive) == "13:00:00 BST"


@pytest.mark.parametrize(("metres", "text"), [
    (0.0, "0 m"), (0.4, "0 m"), (41.6, "42 m"), (999.4, "999 m"), (999.6, "1.0 km"),
    (1234.0, "1.2 km"), (9949.0, "9.9 km"), (9951.0, "10 km"), (12_345.0, "12 km"),
    (-3.0, "0 m"), (None, "not known"),
])
def test_distances_rounded_with_their_unit(metres: float | None, text: str) -> None:
    assert present.distance(metres) == text


def test_labels_and_values_in_words() -> None:
    rows = present.rows({"crime_ref": "44/X/26", "offence": "BURGLARY_DWELLING",
                         "status": "ACTIVE", "distance_m": 41.6, "lead_officer": None,
                         "rosh_level": "VERY_HIGH", "kind": "ENTERED_EXCLUSION",
                         "detected_at": datetime(2026, 8, 1, 9, 0, tzinfo=UTC),
                         "victim_safety": True})
    assert rows == [
        ("crime reference", "44/X/26"), ("offence", "burglary dwelling"),
        ("status", "active"), ("nearest distance to the crime", "42 m"),
        ("lead officer", "not allocated"), ("risk of serious harm (RoSH)", "very high"),
        ("what happened", "entered an exclusion zone"),
        ("detected", "Sat 1 Aug 2026, 10:00:00 BST"),
        ("victim safety", "a victim's exclusion zone")]
    assert all("_" not in label for label in present.LABELS.values())
    assert present.lead_officer("  DC Rivers ") == "DC Rivers"
    assert present.lead_officer("  ") == present.NOT_ALLOCATED == "not allocated"
    assert present.words("NEW_SYMBOL") == "new symbol"


def test_a_qualification_in_words() -> None:
    assert present.qualification_text(None) == "not yet qualified"
    text = present.qualification_text({"outcome": "RULED_OUT", "by": "pc.smith",
                                       "at": "2026-10-25T01:30:00+00:00",
                                       "reason": "at work, CCTV"})
    assert text == "ruled out by pc.smith on Sun 25 Oct 2026, 01:30 GMT: at work, CCTV"
