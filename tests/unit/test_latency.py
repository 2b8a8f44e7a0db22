"""End-to-end latency: the message context every reader sets around a handler, and the two
histograms observed from it (since arrival on the bus, since the event itself)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from iomkit import kernel, metrics

NOW = datetime(2028, 2, 29, 23, 59, 30, tzinfo=UTC)  # a leap day's last minute


def count(name: str, path: str, le: str | None = None) -> float:
    labels = {"service": "test", "path": path}
    if le is None:
        return REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0
    return REGISTRY.get_sample_value(f"{name}_bucket", {**labels, "le": le}) or 0.0


def test_elapsed_is_never_negative_and_none_without_a_start():
    assert metrics.elapsed_s(1_000, 3_500) == 2.5
    assert metrics.elapsed_s(4_000, 3_500) == 0.0  # a producer's clock a little ahead
    assert metrics.elapsed_s(None, 3_500) is None


def test_arrival_on_the_wall_clock_and_event_time_on_the_services():
    arrival = "iom_arrival_to_output_seconds"
    event = "iom_event_to_output_seconds"
    before = (count(arrival, "p1", "0.5"), count(arrival, "p1", "0.25"),
              count(event, "p1", "86400.0"), count(event, "p1", "+Inf"))
    wall = 1_900_000_000_000.0
    # arrived 0.3 s ago on the machine's clock; the fix itself was recorded two days ago
    metrics.observe_latency("test", "p1", arrived_ms=wall - 300,
                            event_at=NOW - timedelta(days=2), now=NOW, wall_ms=wall)
    after = (count(arrival, "p1", "0.5"), count(arrival, "p1", "0.25"),
             count(event, "p1", "86400.0"), count(event, "p1", "+Inf"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 0, 0, 1]


def test_an_input_without_an_arrival_or_an_event_time_is_not_observed_there():
    arrival, event = "iom_arrival_to_output_seconds", "iom_event_to_output_seconds"
    metrics.observe_latency("test", "p2", arrived_ms=None, event_at=NOW, now=NOW)
    assert count(arrival, "p2") == 0 and count(event, "p2") == 1
    metrics.observe_latency("test", "p3", arrived_ms=1.0, event_at=None, now=NOW)
    assert count(arrival, "p3") == 1 and count(event, "p3") == 0
    # event time as epoch ms (how gps_stream's evidence carries it)
    metrics.observe_latency("test", "p4", arrived_ms=None,
                            event_at=NOW.timestamp() * 1000 - 20, now=NOW)
    assert count(event, "p4", "0.025") == 1 and count(event, "p4", "0.01") == 0


def test_the_message_context_is_the_handled_records_and_only_while_handled():
    assert kernel.arrived_ms() is None
    with kernel.handling(1_700_000_000_123.0):
        assert kernel.arrived_ms() == 1_700_000_000_123
        with kernel.handling(None):
            assert kernel.arrived_ms() is None
        assert kernel.arrived_ms() == 1_700_000_000_123
    assert kernel.arrived_ms() is None


async def test_concurrent_handlers_each_see_their_own_record():
    seen: dict[str, int | None] = {}

    async def handle(name: str, stamp: int) -> None:
        with kernel.handling(stamp):
            await asyncio.sleep(0.01)  # the other handler runs meanwhile
            seen[name] = kernel.arrived_ms()

    await asyncio.gather(handle("a", 1), handle("b", 2))
    assert seen == {"a": 1, "b": 2}


def test_sample_sum_adds_matching_samples_over_pages():
    page = ('# TYPE iom_records_in_total counter\n'
            'iom_records_in_total{service="risk",topic="iom.people"} 3.0\n'
            'iom_records_in_total{service="risk",topic="iom.offender.events"} 4.0\n')
    other = 'iom_records_in_total{service="gps_stream",topic="iom.people"} 5.0\n'
    assert metrics.sample_sum([page, other], "iom_records_in_total") == 12
    assert metrics.sample_sum([page, other], "iom_records_in_total", topic="iom.people") == 8
    assert metrics.sample_sum([page], "iom_records_in_total", service="nobody") == 0
