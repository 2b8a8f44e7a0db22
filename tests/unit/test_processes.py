"""What `make run` relies on to leave nothing behind: who holds a port, process groups
stopped together (killed when they will not stop), the ledger its reaper reads, and the
reaper stopping what a dead run.py left."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from iomkit import reaper
from iomkit.processes import (
    Ledger,
    alive,
    die_with_parent,
    free_port,
    holder_of,
    stop_groups,
)


def test_a_taken_port_names_its_holder_and_a_free_one_nothing():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert (holder_of(port) or "").startswith(f"pid {os.getpid()} (")
    assert holder_of(port) is None


def test_free_ports_are_below_the_ephemeral_range_and_never_the_same_twice():
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == 300  # handed out once each, even if still unbound
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    assert all(p < low for p in ports), "a listening port an outgoing connection could take"
    with socket.socket() as sock:  # and each is bindable
        sock.bind(("127.0.0.1", ports[-1]))


def group(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def test_groups_are_stopped_together_and_a_stubborn_one_is_killed():
    polite = group("import time; time.sleep(60)")
    stubborn = group("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                     "print('ready', flush=True); time.sleep(60)")
    time.sleep(0.5)  # the stubborn one has set its handler
    started = time.monotonic()
    killed = stop_groups([polite.pid, stubborn.pid], within=1.0)
    assert killed == [stubborn.pid] and time.monotonic() - started < 5
    for process in (polite, stubborn):
        process.wait(5)
        assert not alive(process.pid)


def test_a_child_started_to_die_with_its_parent_does():
    # parent: starts a sleeping grandchild that dies with it, prints its pid, exits at once
    code = ("import subprocess, sys; from iomkit.processes import die_with_parent; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "preexec_fn=die_with_parent); print(p.pid, flush=True)")
    parent = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=30)
    child = int(parent.stdout.strip())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
    assert die_with_parent() is None  # harmless in a process of its own


def test_the_ledger_and_the_reaper_stop_what_a_dead_run_left(tmp_path):
    ledger = Ledger(tmp_path / "run" / "ledger.json")
    assert ledger.read() is None and reaper.reap(ledger) == []
    left = group("import time; time.sleep(60)")
    ledger.add_group(left.pid)
    ledger.add_broker({"IOM_KAFKA_DATA_DIR": str(tmp_path / "no-broker"), "PATH": "x"})
    assert ledger.read() == {"groups": [left.pid],
                             "broker": {"IOM_KAFKA_DATA_DIR": str(tmp_path / "no-broker")}}
    done = reaper.reap(ledger, within=5)
    left.wait(5)
    assert not alive(left.pid) and done[0] == "stopped 1 process groups"
    assert ledger.read() is None  # nothing for a second reaping


def test_the_reaper_waits_for_its_parent(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    left = group("import time; time.sleep(60)")
    ledger.add_group(left.pid)
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    watcher = subprocess.Popen([sys.executable, "-m", "iomkit.reaper", str(parent.pid),
                                str(ledger.path)], start_new_session=True)
    time.sleep(0.3)
    assert alive(left.pid)  # its parent still runs
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    watcher.wait(20)
    left.wait(5)
    assert not alive(left.pid) and ledger.read() is None
