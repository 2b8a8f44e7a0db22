"""The Faust worker every service runs: Faust's own, with a bound on how long it may take
to stop.

SIGTERM (or Ctrl-C) stops a worker within ``shutdown_grace_s`` whatever the broker's state.
Faust's shutdown waits on a broker that has gone for longer than orchestrators wait before
SIGKILL (10-30 s), and a signal that arrives while the worker is still starting (its
producer or consumer waiting for a broker that went away) was not bounded at all when the
bound was an app task, which runs only once the app has started. The worker's own signal
handlers are installed before anything waits on the broker, so the bound is set there.
What was not committed by then is read again at the next start (at-least-once).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import faust

from iomkit import log as logging

_log = logging.get("iomkit.worker")


class Worker(faust.Worker):
    def _on_sigterm(self) -> None:
        self._bound_shutdown()
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._bound_shutdown()
        super()._on_sigint()

    def _bound_shutdown(self) -> None:
        if getattr(self, "_shutdown_bound", None) is not None:
            return
        grace: float = getattr(self.app, "shutdown_grace_s", 8.0)
        timer = threading.Timer(grace, _leave, (grace,))
        timer.daemon = True
        timer.start()
        self._shutdown_bound = timer


def _leave(grace: Any) -> None:
    _log.error("shutdown.forced", after_s=grace,
               reason="the worker did not stop in time (broker gone or slow); records not "
               "committed are read again at the next start")
    os._exit(0)
