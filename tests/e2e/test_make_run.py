"""The `make run` flow, as a newcomer sees it: broker, topics, five services as separate
processes, the demo published, a RiskGrade out of the risk service, a hit out of gps_stream,
what the demo's police and housing endpoints received from notifications and the insights
page; then Ctrl-C stops every service within 10 s and leaves no process and no port behind.
SIGKILL of `make run` leaves nothing either: its reaper stops the services and the broker;
and a port already taken is named with its holder instead of a traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from iomkit.identity.isa import ROLES
from iomkit.processes import alive, free_port, holder_of
from iomkit.prometheus import query
from iomkit.settings import ROOT

pytestmark = pytest.mark.e2e


PORTS = ("IOM_REFERRALS_PORT", "IOM_RISK_PORT", "IOM_GPS_STREAM_PORT",
         "IOM_NOTIFICATIONS_PORT", "IOM_INSIGHTS_PORT", "IOM_FRONTDOOR_PORT",
         "IOM_PROMETHEUS_PORT")


def marked(marker: str) -> list[int]:
    """The live processes whose environment carries ``marker`` (what one run started)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "environ").read_bytes() and alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


class Run:
    """deploy/run.py as a process, its output read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "run.py"), *args], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, within: float) -> None:
        deadline = time.monotonic() + within
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not printed:\n{self.stdout}")
            time.sleep(0.2)


def day_matched(lines: list[str]) -> bool:
    """A summary line after the whole (2 h at 1200x: 6 s) day: every hit of the ground
    truth found and none beside it."""
    days = [line for line in lines if line.startswith("day:")]
    if len(days) < 3:
        return False
    words = days[-1].split("hits ", 1)[1].split()
    found, of, extra = int(words[0]), int(words[2]), int(words[7])
    return found == of > 0 and extra == 0


def no_leftovers(marker: str, env: dict[str, str], within: float) -> None:
    deadline = time.monotonic() + within
    while marked(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marked(marker) == [], "processes left behind"
    taken = {name: holder_of(int(env[name])) for name in PORTS}
    assert {k: v for k, v in taken.items() if v} == {}, "ports left taken"


def test_make_run_flow_publishes_a_grade_for_every_demo_person(broker, settings, tmp_path):
    marker = f"IOM_RUN_MARKER=run-{uuid.uuid4().hex}"
    env = broker.env()
    env[marker.split("=")[0]] = marker.split("=")[1]
    env.update({
        "IOM_STORE_DIR": str(tmp_path / "state"),
        "IOM_REFERRALS_PORT": str(free_port()),
        "IOM_RISK_PORT": str(free_port()),
        "IOM_GPS_STREAM_PORT": str(free_port()),
        "IOM_NOTIFICATIONS_PORT": str(free_port()),
        "IOM_INSIGHTS_PORT": str(free_port()),
        "IOM_FRONTDOOR_PORT": str(free_port()),
        "IOM_PROMETHEUS_PORT": str(free_port()),
    })
    # The demo's recipients on free ports: a `make run` (or another test) elsewhere on this
    # machine may hold 6070-6074.
    demo = (ROOT / "services" / "notifications" / "subscriptions.toml").read_text()
    for port in (6070, 6071, 6072, 6073, 6074):
        demo = demo.replace(f"127.0.0.1:{port}/", f"127.0.0.1:{free_port()}/")
    env["IOM_NOTIFY_SUBSCRIPTIONS_FILE"] = str(tmp_path / "subscriptions.toml")
    (tmp_path / "subscriptions.toml").write_text(demo)
    run = Run(["--keep-broker", "--day-hours", "2", "--speed", "1200", "--summary-s", "1"],
              env)
    run.wait_for("running; Ctrl-C stops", within=240)
    # the system carrying a simulated day: a summary line every 5 s, and in time every hit
    # of the simulator's ground truth found, and none beside it
    run.wait_for("day: fixes", within=30)  # a line a second here (5 s by default)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not day_matched(run.lines):
        time.sleep(1)
    assert day_matched(run.lines), [line for line in run.lines if line.startswith("day:")]
    # Prometheus scrapes every service worker, with the alert rules loaded
    prometheus = f"http://127.0.0.1:{env['IOM_PROMETHEUS_PORT']}"
    up: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(up) < 5:
        up = {r["metric"]["service"]: float(r["value"][1]) for r in query(prometheus, "up")
              if r["value"][1] == "1"}
        time.sleep(1)
    assert set(up) == {"referrals", "risk", "gps_stream", "notifications", "insights"}, up
    with urllib.request.urlopen(f"{prometheus}/api/v1/rules", timeout=10) as answer:
        rules = json.loads(answer.read())["data"]["groups"][0]["rules"]
    assert {r["name"] for r in rules} >= {"ServiceDown", "NoFixes", "WebhookFailures"}
    # A newcomer stops a service (kill its pid, printed): the rest run on, and Prometheus
    # raises ServiceDown for it (pending at once, firing after the minute it must last)
    [risk] = [line for line in run.lines if line.startswith("service risk ") and " up: " in line]
    os.kill(int(risk.split("(pid ")[1].split(",")[0]), signal.SIGTERM)
    run.wait_for("service risk stopped", within=30)
    down: list[dict] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not down:
        down = query(prometheus, 'ALERTS{alertname="ServiceDown", service="risk"}')
        time.sleep(1)
    assert down and down[0]["metric"]["alertstate"] in ("pending", "firing"), down
    assert run.process.poll() is None  # make run carries on
    run.process.send_signal(signal.SIGINT)  # Ctrl-C
    assert run.process.wait(60) == 0, run.stdout
    run.reader.join(10)
    [stopped] = [line for line in run.lines if line.startswith("services stopped in")]
    assert float(stopped.split()[3]) <= 10.0 and "killed" not in stopped, stopped
    no_leftovers(marker, env, within=5)
    for name in ("referrals", "risk", "gps_stream", "notifications", "insights"):
        assert f"service {name}" in run.stdout
    grades = {}
    for line in run.stdout.splitlines():
        if line.startswith('  {"person_id"'):
            grade = json.loads(line)
            grades[grade["person_id"]] = grade
    assert set(grades) == {"P-1001", "P-1002", "P-1003", "P-1004", "P-1005"}
    # P-1001 is risk-model.md's worked example woman, graded today (age band 50+).
    assert grades["P-1001"]["static_band"] == "LOW"
    assert grades["P-1001"]["rag"] == "GREEN"
    assert grades["P-1002"]["static_band"] == "HIGH"
    assert grades["P-1002"]["rag"] == "RED"
    assert grades["P-1004"]["static_score"] is None
    assert grades["P-1004"]["reasons"][0].startswith("static score unavailable:")
    assert all(g["revision"] == 1 and g["changed"] for g in grades.values())
    # notifications consumed them and logged without the person id
    received = [line for line in run.stdout.splitlines() if "grade.received" in line]
    assert len(received) >= 4
    assert not any("P-100" in line for line in received)
    # insights read the synthetic history: its page, and its head of IOM's headline figures
    [page] = [line for line in run.stdout.splitlines() if line.startswith("insights page:")]
    assert page.endswith("marked synthetic") and int(page.split()[2]) >= 5, page
    [headline] = [line for line in run.stdout.splitlines() if line.startswith("insights for")]
    words = headline.split()
    assert int(words[4]) > 0 and "predicted by OGRS3" in headline, headline
    assert int(headline.rsplit("(", 1)[1].split()[0]) > 0, headline  # complete cohorts
    # gps_stream found the demo burglary on P-1002's trail, and the theft Thames Valley
    # reported (contract 1.1: a cross-force hit carries the crime's force).
    hits = [line for line in run.stdout.splitlines() if line.startswith("  hit ")]
    [burglary] = [line for line in hits if "44/DEMO/26" in line]
    [theft] = [line for line in hits if "43/DEMO-TVP/26" in line]
    assert "ACTIVE: P-1002" in burglary and "reported by Hampshire" in burglary
    assert "ACTIVE: P-1002" in theft and "reported by Thames Valley" in theft
    # notifications told the demo's police endpoints (which checked the signature): both
    # hits to Hampshire's (the person's force), the theft to Thames Valley's too ...
    burglary_id, theft_id = burglary.split()[1], theft.split()[1]
    police = [line for line in run.stdout.splitlines() if "police received" in line]
    assert police == [
        f"  police received (hampshire-police-iom): hit {theft_id} revision 1 of "
        "43/DEMO-TVP/26 for P-1002 (signature verified)",
        f"  police received (thames-valley-police-iom): hit {theft_id} revision 1 of "
        "43/DEMO-TVP/26 for P-1002 (signature verified)",
        f"  police received (hampshire-police-iom): hit {burglary_id} revision 1 of "
        "44/DEMO/26 for P-1002 (signature verified)"], run.stdout
    # ... and housing only what its agreement allows: nothing that says where anyone was.
    housing = [line for line in run.stdout.splitlines() if "housing received:" in line]
    assert len(housing) == 1 and housing[0].endswith("nothing location-bearing"), run.stdout
    assert "refused" not in run.stdout
    # the sign-in page, and a throwaway demo account per role, marked as such
    assert any(line.startswith("sign in: https://127.0.0.1:") and "/auth/signin" in line
               for line in run.stdout.splitlines())  # through the front door
    demo = [line for line in run.stdout.splitlines() if "DEMO ONLY: user demo-" in line]
    assert {line.split("(")[1].split(":")[0] for line in demo} == set(ROLES)  # every role
    assert any(line.startswith("operations: https://127.0.0.1:") and line.split()[1].endswith(
        "/ops") for line in run.stdout.splitlines())
    # casework (issue 18): the MAPPA-managed referral before Thames Valley's panel with its
    # flags, one selection-at-arrest alert to Hampshire's IOM team, a visit and a note logged;
    # and (parts 4, 5) a partner told of its action, the demo tag's orders told to police
    lines = run.stdout.splitlines()
    assert any(line.startswith("panel (Thames Valley") and "R-0002 P-1003: MAPPA LEVEL_2, "
               "RoSH HIGH, priorities DOMESTIC_ABUSE" in line for line in lines), run.stdout
    assert [line for line in lines if line.startswith("selection at arrest:")] == [
        "selection at arrest: hampshire-police-iom told ARREST_CANDIDATE for P-1005 "
        "(once per arrest)"], run.stdout
    assert "case record of P-1002: 1 note(s), 1 contact(s) logged (case roles only, audited)" \
        in lines, run.stdout
    assert any("received: ACTION_ASSIGNED for P-1002" in line for line in lines), run.stdout
    [tags] = [line for line in lines if line.startswith("tag orders told to")]
    assert "TAG_BEYOND_LICENCE" in tags and "TAG_NOT_FITTED" in tags, tags
    assert "stopping" in run.stdout


def fresh_env(tmp_path: Path, marker: str) -> dict[str, str]:
    """A run with a broker of its own (on free ports, in this test's folder)."""
    port = free_port()
    env = {**os.environ, "IOM_KAFKA_PORT": str(port), "IOM_BOOTSTRAP_SERVERS":
           f"127.0.0.1:{port}", "IOM_KAFKA_CONTROLLER_PORT": str(free_port()),
           "IOM_KAFKA_DATA_DIR": str(tmp_path / "kafka"),
           "IOM_STORE_DIR": str(tmp_path / "state"), marker.split("=")[0]: marker.split("=")[1]}
    env.pop("IOM_KAFKA_CLIENT_CONFIG", None)
    env.update({name: str(free_port()) for name in PORTS})
    return env


def test_sigkill_of_make_run_leaves_no_service_and_no_broker(tmp_path):
    marker = f"IOM_RUN_MARKER=kill-{uuid.uuid4().hex}"
    env = fresh_env(tmp_path, marker)
    run = Run(["--no-demo"], env)
    run.wait_for("running; Ctrl-C stops", within=240)
    # run.py, its reaper, the broker, five services and Prometheus
    assert len(marked(marker)) >= 9
    run.process.kill()  # SIGKILL: no cleanup of its own
    run.process.wait(10)
    # the services die with it (SIGTERM from the kernel), the reaper stops the broker
    no_leftovers(marker, env, within=60)
    assert not (tmp_path / "kafka" / "broker.pid").exists()


def test_a_port_in_use_is_named_with_its_holder(tmp_path):
    marker = f"IOM_RUN_MARKER=port-{uuid.uuid4().hex}"
    env = fresh_env(tmp_path, marker)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(env["IOM_RISK_PORT"])))
        holder.listen()
        run = subprocess.run([sys.executable, str(ROOT / "deploy" / "run.py"), "--no-demo"],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert (f"port {env['IOM_RISK_PORT']} (service risk) is taken by pid {os.getpid()} ("
            in run.stdout), run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert marked(marker) == []  # nothing was started
