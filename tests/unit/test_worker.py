"""The worker's stop is bounded from the first signal on, whatever Faust is waiting for."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from iomkit import worker
from iomkit.service import Service


def test_every_service_runs_the_bounded_worker() -> None:
    service = Service("risk")
    assert service.app.conf.Worker is worker.Worker
    assert service.app.shutdown_grace_s == service.settings.shutdown_grace_s


def test_the_first_signal_sets_one_deadline_and_it_ends_the_process(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    left = threading.Event()
    calls: list[float] = []

    def leave(grace: float) -> None:
        calls.append(grace)
        left.set()

    monkeypatch.setattr(worker, "_leave", leave)
    stopping = worker.Worker.__new__(worker.Worker)
    stopping.app = SimpleNamespace(shutdown_grace_s=0.2)
    started = time.monotonic()
    stopping._bound_shutdown()
    stopping._bound_shutdown()  # a second Ctrl-C neither restarts nor doubles the deadline
    assert left.wait(5)
    assert time.monotonic() - started >= 0.2
    time.sleep(0.3)
    assert calls == [0.2]
