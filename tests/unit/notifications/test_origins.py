"""The origins kept for the hit_to_webhook latency (a Recent with values): bounded, the
oldest dropped first."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notifications.recent import Recent

AT = datetime(2028, 2, 29, 12, tzinfo=UTC)


def test_taken_once_and_bounded_with_the_oldest_dropped_first():
    origins: Recent[tuple[int | None, datetime]] = Recent(limit=3)
    for n in range(5):
        origins.add(f"n{n}", (1000 + n, AT))
    assert len(origins) == 3
    assert origins.take("n0") is None and origins.take("n1") is None  # dropped, oldest first
    assert origins.take("n4") == (1004, AT)
    assert origins.take("n4") is None  # taken once: delivered or failed
    origins.add("n2", (2002, AT))  # again: now the newest
    origins.add("n5", (None, AT))
    origins.add("n6", (6, AT))
    assert origins.take("n3") is None and origins.take("n2") == (2002, AT)
