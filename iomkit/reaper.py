"""`make run`'s reaper: a process of its own that outlives ``deploy/run.py`` and, when that
dies without cleaning up (SIGKILL, a crash, a second Ctrl-C in the wrong place), stops what
it had started: the services' process groups, the front door, the broker.

``deploy/run.py`` writes what it starts to a ledger file (``Ledger``) and removes the file
once it has stopped everything itself; the reaper watches run.py's pid and, when it is
gone, stops whatever the ledger still names.

    python -m iomkit.reaper PID LEDGER
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from iomkit.processes import KAFKA_SH, Ledger, alive, stop_groups


def reap(ledger: Ledger, within: float = 10.0) -> list[str]:
    """Stop what ``ledger`` names; what was done, a line each."""
    entry = ledger.read()
    if entry is None:
        return []
    done = []
    groups = [int(g) for g in entry.get("groups", [])]
    if groups:
        left = stop_groups(groups, within)
        done.append(f"stopped {len(groups) - len(left)} process groups"
                    + (f", killed {len(left)}" if left else ""))
    broker = entry.get("broker")
    if broker:
        subprocess.run([str(KAFKA_SH), "stop"], env={**os.environ, **broker}, check=False)
        done.append("stopped the broker")
    ledger.clear()
    return done


def main(argv: list[str]) -> int:
    parent, ledger = int(argv[0]), Ledger(Path(argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is for run.py, not for us
    while alive(parent):
        time.sleep(0.5)
    for line in reap(ledger):
        sys.stderr.write(f"reaper: {line} (run.py {parent} is gone)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
