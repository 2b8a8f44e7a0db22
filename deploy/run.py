"""`make run`: a real broker, the contract's topics, the five services as separate
processes, a small demo data set, and what came out. Ctrl-C stops everything it started.

    python deploy/run.py                  run until Ctrl-C
    python deploy/run.py --exit-after-demo  stop after printing the demo's results
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import demo_history  # noqa: E402 - after the path is set
from iomkit import kafka, metrics, simulation, simulator, testing  # noqa: E402
from iomkit.cli import produce_records, validate_lines  # noqa: E402
from iomkit.codec import Codec, SchemaRegistry  # noqa: E402
from iomkit.frontdoor import FrontDoor  # noqa: E402
from iomkit.identity import users as accounts  # noqa: E402
from iomkit.jsonconv import to_json  # noqa: E402
from iomkit.processes import (  # noqa: E402
    SERVICES,
    Broker,
    Ledger,
    ServiceProcess,
    holder_of,
    stop_groups,
)
from iomkit.prometheus import RULES, Prometheus  # noqa: E402
from iomkit.settings import Settings, load  # noqa: E402
from iomkit.topics import GPS_HITS, OFFENDER_EVENTS, OPERATOR_TOPICS, RISK_GRADES, spec  # noqa: E402
from services.notifications import subscriptions as subs  # noqa: E402
from services.notifications.receiver import Receiver  # noqa: E402

DEMO = ROOT / "deploy" / "demo"
# The demo's synthetic history (deploy/demo_history.py) is one force's, kept apart from the
# hand-written demo people of Hampshire so their pages stay as they were.
SYNTHETIC_FORCE = "Wiltshire"
SYNTHETIC_MONTHS = 36  # outcome rates need 18 months after a quarter: 36 give six quarters
# The simulated day (iomkit/simulator.py) make run carries after the demo: Hampshire's
# tagged people SIM-P-*, their crimes SIM/1/...
SIMULATION_SEED = 1
SIMULATED_PEOPLE = 50
SIMULATED_CRIMES_PER_DAY = 120  # a quarter on someone's trail: hits to see within minutes
SUBSCRIPTIONS = ROOT / "services" / "notifications" / "subscriptions.toml"
LOCATION_FIELDS = {"fixes", "lat", "lon", "distance_m", "device_id", "crime_ref", "zone_id"}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def publish_demo(settings, codec: Codec) -> set[str]:  # type: ignore[no-untyped-def]
    people: set[str] = set()
    files = {path.stem: path.read_bytes().splitlines() for path in sorted(DEMO.glob("*.jsonl"))}
    for name, values in demo_trail(settings.now()).items():
        files[name] = [orjson.dumps(v) for v in values]
    for name, lines in files.items():
        topic = spec(name)
        records, problems = validate_lines(codec, topic, lines)
        if problems:
            raise SystemExit(f"demo data for {name} is invalid: {problems}")
        await produce_records(settings, topic.name, records, topic.record or "")
        say(f"published {len(records):>3} {topic.record} records to {topic.name}")
        if topic.name == "iom.people":
            people = {key.decode() for key, _ in records if key}
    return people


DEMO_CRIMES = ("44/DEMO/26", "43/DEMO-TVP/26")
CROSS_FORCE_CRIME = DEMO_CRIMES[1]


def demo_trail(now: datetime) -> dict[str, list[dict[str, object]]]:
    """A tag fitted yesterday, half an hour of its trail, and a burglary on that trail;
    a release 30 hours ago with no tag fitted: relative to now, so the demo stays inside the
    30-day retention whenever it runs."""
    start = now.replace(microsecond=0) - timedelta(hours=2)
    pings = [{"device_id": "TAG-0002", "recorded_at": (start + timedelta(minutes=i)).isoformat(),
              "lat": round(50.9040 + 0.0003 * i, 6), "lon": round(-1.4100 + 0.0002 * i, 6),
              "accuracy_m": 8.0 + i % 5} for i in range(30)]
    at = start + timedelta(minutes=12)
    return {
        "iom.tag.enrolments": [{
            "enrolment_id": "ENR-0002", "device_id": "TAG-0002", "person_id": "P-1002",
            "status": "FITTED", "effective_at": (now - timedelta(days=1)).isoformat(),
            # set for 13 months: past the licence end (2027-02-01) and the 12-month maximum,
            # so referrals raises TAG_BEYOND_LICENCE and TAG_BEYOND_MAXIMUM (tag orders)
            "monitoring_ends_at": (now + timedelta(days=395)).isoformat()}],
        # released 30 hours ago on a licence requiring a tag, none fitted: TAG_NOT_FITTED
        "iom.offender.events": [{
            "event_id": "EV-DEMO-RELEASE-1001", "person_id": "P-1001",
            "type": "RELEASED_ON_LICENCE", "occurred_at": (now - timedelta(hours=30)).isoformat(),
            "source_agency": "HMP Winchester", "offence": None,
            "details": {"neighbourhood_licence": "true"}}],
        "iom.tag.pings": pings,
        "iom.crimes.reported": [{
            "crime_ref": "44/DEMO/26", "version": 1, "offence": "BURGLARY_DWELLING",
            "lat": 50.90765, "lon": -1.40765, "location_accuracy_m": 10.0,
            "committed_from": (at - timedelta(minutes=10)).isoformat(),
            "committed_to": (at + timedelta(minutes=10)).isoformat(),
            "reported_at": now.isoformat(), "force": "Hampshire",
            "type_description": "Burglary in a dwelling", "batch_id": "DEMO",
            "crime_text": "Rear window forced"}, {
            # Reported by another force (contract 1.1): its police are told of the hit too.
            "crime_ref": CROSS_FORCE_CRIME, "version": 1, "offence": "THEFT_FROM_PERSON",
            "lat": 50.91121, "lon": -1.40519, "location_accuracy_m": 10.0,
            "committed_from": (start + timedelta(minutes=21)).isoformat(),
            "committed_to": (start + timedelta(minutes=27)).isoformat(),
            "reported_at": now.isoformat(), "force": "Thames Valley",
            "type_description": "Theft from the person", "batch_id": "DEMO-TVP",
            "crime_text": "Phone taken from a visitor's pocket"}],
    }


async def show_hits(settings, codec: Codec, within: float) -> set[str]:  # type: ignore[no-untyped-def]
    async with testing.Reader(settings, codec, GPS_HITS.name) as hits:
        await hits.wait_for(lambda seen: set(DEMO_CRIMES) <= {
            r.value["crime_ref"] for r in seen if r.value}, within)
    say("\ncrime hits published by gps_stream (iom.gps.hits):")
    hit_ids: set[str] = set()
    for received in hits.seen:
        if received.value and received.value["crime_ref"] in DEMO_CRIMES:
            hit = received.value
            hit_ids.add(hit["hit_id"])
            say(f"  hit {hit['hit_id']} rev {hit['revision']} {hit['status']}: "
                f"{hit['person_id']} {hit['distance_m']:.0f} m from {hit['crime_ref']} "
                f"({len(hit['fixes'])} evidence fixes; crime reported by "
                f"{hit.get('crime_force') or 'an unnamed force'})")
    return hit_ids


async def show_grades(settings, codec: Codec, people: set[str], within: float) -> int:  # type: ignore[no-untyped-def]
    async with testing.Reader(settings, codec, RISK_GRADES.name) as grades:
        await grades.wait_for(
            lambda seen: people <= {r.value["person_id"] for r in seen if r.value}, within
        )
    say("\nrisk grades published by the risk service (iom.risk.grades):")
    for received in grades.seen:
        if received.value and received.value["person_id"] in people:
            say("  " + to_json(received.value).decode())
    return len(grades.seen)


def show_insights(settings, logins: list[tuple[str, str, str, str]],  # type: ignore[no-untyped-def]
                  within: float) -> None:
    """The head of IOM's headline figures, once the insights store holds the history (two
    answers alike, two seconds apart)."""
    password = next((p for user, p, _, _ in logins if user == "demo-iom-head"), None)
    if password is None:
        say("insights: no demo account (IOM_USERS_FILE is set): open the page yourself")
        return
    base = f"http://127.0.0.1:{settings.port_of('notifications')}"
    signed = urllib.request.Request(
        f"{base}/auth/token", method="POST", headers={"Content-Type": "application/json"},
        data=orjson.dumps({"username": "demo-iom-head", "password": password}))
    with urllib.request.urlopen(signed, timeout=30) as answer:
        token = orjson.loads(answer.read())["access_token"]
    url = (f"http://127.0.0.1:{settings.port_of('insights')}/insights/report.json"
           f"?force={SYNTHETIC_FORCE}&purpose=demo")
    previous: Any = None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            document = orjson.loads(answer.read())
        document.pop("as_of", None)
        document["scope"].pop("as_of", None)
        if document == previous and document["mi"]["cohort"]["size"]:
            break
        previous = document
        time.sleep(2.0)
    page = urllib.request.Request(url.replace("/report.json", ""),
                                  headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(page, timeout=60) as answer:
        html = answer.read().decode()
    say(f"insights page: {html.count('<svg')} charts, {html.count('<table')} tables"
        f"{', marked synthetic' if 'Synthetic data' in html else ''}")
    o = previous["outcomes"]
    overall = o["calibration"]["overall"]
    say(f"\ninsights for {SYNTHETIC_FORCE} (synthetic): {previous['mi']['cohort']['size']} in "
        f"the cohort; proven reoffending of complete cohorts {_pct(overall['actual_rate'])} "
        f"against {_pct(overall['mean_predicted'])} predicted by OGRS3 "
        f"({overall['n']} starts)")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


class DemoReceivers:
    """The demo recipients' webhook endpoints: the reference receiver (checks every
    signature, deduplicates by idempotency key) for each recipient whose URL is on this
    machine, on an event loop of their own in a thread, since the demo's asyncio.run
    calls come and go while deliveries keep arriving."""

    def __init__(self, recipients: list[subs.Recipient]) -> None:
        self.recipients = {r.name: r for r in recipients}
        self.receivers: dict[str, Receiver] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="receivers",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()
        for recipient in self.recipients.values():
            url = urlsplit(recipient.url)
            if url.hostname not in ("127.0.0.1", "localhost") or url.port is None:
                continue  # somebody else's endpoint: not ours to stand in for
            receiver = Receiver(recipient.secret, url.port)
            try:
                self._call(receiver.start())
            except OSError as exc:
                say(f"receiver for {recipient.name} not started ({exc.strerror}): "
                    "its deliveries will retry")
                continue
            self.receivers[recipient.name] = receiver
            say(f"receiver for {recipient.name:<20} up: {recipient.url} (checks signatures)")

    def stop(self) -> None:
        for receiver in self.receivers.values():
            self._call(receiver.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def of_role(self, role: str) -> list[tuple[str, Receiver]]:
        return [(name, r) for name, r in self.receivers.items()
                if self.recipients[name].role == role]


def show_deliveries(receivers: DemoReceivers, hit_ids: set[str], within: float) -> None:
    """What the police endpoint and the housing endpoint received (both check the
    signature of every request: a refused one is never kept)."""
    police = receivers.of_role("POLICE")
    deadline = time.monotonic() + within

    def police_hits() -> list[tuple[str, dict[str, Any]]]:
        return [(name, d.body) for name, r in police for d in list(r.deliveries)
                if d.body["kind"] == "HIT" and d.body["source_id"] in hit_ids]

    # each hit to the person's force's police, the cross-force one to the crime's too
    while len(police_hits()) < len(hit_ids) + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    for name, body in sorted(police_hits(), key=lambda p: (p[1]["payload"]["crime_ref"], p[0])):
        payload = body["payload"]
        say(f"  police received ({name}): hit {payload['hit_id']} revision "
            f"{payload['revision']} of {payload['crime_ref']} for {payload['person_id']} "
            "(signature verified)")
    if police and not police_hits():
        say("  police received: nothing yet (see the notifications log)")
    for _, receiver in receivers.of_role("PARTNER_HOUSING"):
        kept = list(receiver.deliveries)
        kinds = sorted({d.body["kind"] for d in kept})
        fields = sorted({f for d in kept for f in d.body["payload"]})
        located = sorted(set(fields) & LOCATION_FIELDS)
        say(f"  housing received: {len(kept)} notification(s) ({', '.join(kinds) or '-'}), "
            f"fields {', '.join(fields) or '-'}: "
            + (f"LOCATION FIELDS {located}" if located else "nothing location-bearing"))
    refused = sum(len(r.refused) for r in receivers.receivers.values())
    if refused:
        say(f"  receivers refused {refused} request(s) with a bad signature")


DEMO_OFFICER = "OM Demo Lee"
DEMO_PARTNER = "Inclusion Hampshire"


def _call(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, method="POST" if body is not None else "GET",
        data=None if body is None else orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, orjson.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def _token(settings, logins: list[tuple[str, str, str, str]], username: str) -> str | None:  # type: ignore[no-untyped-def]
    """A demo user's bearer token from the sign-in service (None without demo users)."""
    password = next((p for user, p, _, _ in logins if user == username), None)
    if password is None:
        return None
    base = f"http://127.0.0.1:{settings.port_of('notifications')}"
    signed = urllib.request.Request(
        f"{base}/auth/token", method="POST", headers={"Content-Type": "application/json"},
        data=orjson.dumps({"username": username, "password": password}))
    with urllib.request.urlopen(signed, timeout=30) as answer:
        return str(orjson.loads(answer.read())["access_token"])


def show_casework(settings, codec: Codec, logins: list[tuple[str, str, str, str]],  # type: ignore[no-untyped-def]
                  receivers: DemoReceivers, within: float) -> None:
    """Casework (issue 18): the MAPPA-managed referral in front of Thames Valley's panel
    with its flags; P-1005, a prolific burglar not on IOM, arrested: Hampshire's IOM team
    is told once (selection at arrest); probation logs a visit and a case note on P-1002's
    record. Best effort: the demo goes on whatever this step meets."""
    try:
        referrals = f"http://127.0.0.1:{settings.port_of('referrals')}"
        tvp = _token(settings, logins, "demo-tvp-police")
        probation = _token(settings, logins, "demo-probation")
        if tvp is None or probation is None:
            return
        status, agenda = _call(f"{referrals}/panel?force=Thames%20Valley&format=json", tvp)
        items = [] if status != 200 else agenda["items"] + (
            (agenda.get("next_sitting") or {}).get("items", []))
        for item in items:
            flags = item.get("flags") or {}
            say(f"\npanel (Thames Valley, {agenda['panel_date']}): "
                f"{item['referral']['referral_id']} {item['referral']['person_id']}: "
                f"MAPPA {flags.get('mappa_level') or 'no'}, RoSH "
                f"{flags.get('rosh_level') or 'not assessed'}, priorities "
                f"{', '.join(flags.get('priority_flags') or []) or 'none'} "
                "(the panel decides)")
        arrest = {"event_id": "EV-DEMO-ARREST-1005", "person_id": "P-1005",
                  "type": "ARRESTED", "occurred_at": settings.now(),
                  "source_agency": "Hampshire Constabulary", "offence": "BURGLARY_DOMESTIC",
                  "details": {}}
        asyncio.run(testing.produce(settings, codec, OFFENDER_EVENTS, [arrest]))
        police = receivers.of_role("POLICE")
        deadline = time.monotonic() + within

        def candidates() -> list[tuple[str, dict[str, Any]]]:
            return [(name, d.body) for name, r in police for d in list(r.deliveries)
                    if d.body["kind"] == "ARREST_CANDIDATE"]

        while police and not candidates() and time.monotonic() < deadline:
            time.sleep(0.2)
        for name, body in candidates():
            say(f"selection at arrest: {name} told ARREST_CANDIDATE for "
                f"{body['payload']['person_id']} (once per arrest)")
        if police and not candidates():
            say("selection at arrest: nothing yet (see the referrals log)")
        now = settings.now().replace(microsecond=0)
        _call(f"{referrals}/people/P-1002/contacts", probation, {
            "contact_at": (now - timedelta(hours=1)).isoformat(), "agency": "Probation",
            "method": "VISIT", "summary": "home visit: settled, attending appointments"})
        _call(f"{referrals}/people/P-1002/notes", probation, {
            "text": "Discussed the treatment place with Inclusion Hampshire.",
            "agency": "Probation"})
        while time.monotonic() < deadline:
            status, notes = _call(f"{referrals}/people/P-1002/notes", probation)
            if status == 200 and notes["notes"] and notes["contacts"]:
                say(f"case record of P-1002: {len(notes['notes'])} note(s), "
                    f"{len(notes['contacts'])} contact(s) logged (case roles only, audited)")
                break
            time.sleep(0.3)
        else:
            say("case record of P-1002: nothing yet (see the referrals log)")
    except (OSError, ValueError, KeyError) as exc:
        say(f"casework: step skipped ({type(exc).__name__})")


def show_partners_and_tag_orders(settings, logins: list[tuple[str, str, str, str]],  # type: ignore[no-untyped-def]
                                 receivers: DemoReceivers, within: float) -> None:
    """Partners told of their actions (issue 18 part 4): the panel accepts P-1002, probation
    agrees a plan action with the drug and alcohol service, whose webhook is told; and the
    tag order alerts (part 5) the demo's tag and release raised, as police were told them.
    Best effort: the demo goes on whatever this step meets."""
    try:
        token = _token(settings, logins, "demo-probation")
        if token is None:
            return
        referrals = f"http://127.0.0.1:{settings.port_of('referrals')}"
        _call(f"{referrals}/panel/decisions", token, {
            "referral_id": "R-0001", "outcome": "ACCEPTED", "cohort": "FIXED",
            "pathway": "REHABILITATE_AND_RESETTLE", "lead_officer": DEMO_OFFICER,
            "rationale": "demo: accepted for the partners' actions"})
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            status, report = _call(f"{referrals}/people/P-1002/report.json", token)
            if status == 200 and report and report.get("state") == "REGISTERED":
                break
            time.sleep(0.5)
        due = (settings.now() + timedelta(days=14)).date().isoformat()
        status, _ = _call(f"{referrals}/people/P-1002/plan/actions", token, {
            "need": "ALCOHOL_DRUGS", "pathway": "REHABILITATE_AND_RESETTLE",
            "partner_agency": DEMO_PARTNER, "description": "treatment place on release",
            "due": due, "agreed_by": DEMO_OFFICER})
        say(f"\npartners: probation agreed a plan action for {DEMO_PARTNER} (answer {status})")
        told = receivers.of_role("DRUG_ALCOHOL")
        while told and time.monotonic() < deadline and not any(
                d.body["kind"] == "ACTION_ASSIGNED" for _, r in told for d in r.deliveries):
            time.sleep(0.2)
        for name, receiver in told:
            for d in list(receiver.deliveries):
                payload = d.body["payload"]
                located = sorted(set(payload) & LOCATION_FIELDS)
                say(f"  {name} received: {d.body['kind']} for {payload['person_id']}, "
                    f"details {', '.join(sorted(payload.get('details', {}))) or '-'}: "
                    + (f"LOCATION FIELDS {located}" if located else
                       "nothing location-bearing, no health need named"))
        kinds = ("TAG_NOT_FITTED", "TAG_BEYOND_LICENCE", "TAG_BEYOND_MAXIMUM")
        tagged = sorted({(d.body["kind"], d.body["payload"]["person_id"])
                         for _, r in receivers.of_role("POLICE") for d in list(r.deliveries)
                         if d.body["kind"] in kinds})
        say("tag orders told to Hampshire's IOM team: " + (", ".join(
            f"{kind} ({person})" for kind, person in tagged) or "nothing yet"))
    except (OSError, ValueError, KeyError) as exc:
        say(f"partners: step skipped ({type(exc).__name__})")


# One throwaway account per ISA role: (username, force, role, agency, what they may do).
async def publish_history(settings, codec: Codec) -> None:  # type: ignore[no-untyped-def]
    """Three years of synthetic history for the insights page, published as the agencies
    and services would have: people first, each referral before its panel's decision."""
    made = demo_history.history(7, settings.now(), force=SYNTHETIC_FORCE,
                                months=SYNTHETIC_MONTHS)
    # The referrals service reads referrals and decisions as two topics, in no order between
    # them: the referrals go first, then their decisions. Only each person's first: the
    # history's de-registrations are cohort changes published as they were (the referrals
    # service makes its own from its case lifecycle), so it would refuse a returning person's
    # second referral as for someone still on IOM; their return is in the cohort changes.
    first: dict[str, dict[str, Any]] = {}
    for referral in made["iom.referrals"]:
        first.setdefault(referral["person_id"], referral)
    referrals = list(first.values())
    ids = {r["referral_id"] for r in referrals}
    decisions = [d for d in made["iom.panel.decisions"] if d["referral_id"] in ids]
    made = {**made, "iom.referrals": referrals, "iom.panel.decisions": decisions}
    for name in demo_history.TOPICS:
        topic = spec(name)
        await testing.produce_many(settings, codec, topic, made[name])
        say(f"published {len(made[name]):>5} synthetic {topic.record} records to {topic.name}")
        if name == "iom.referrals":
            await asyncio.sleep(2.0)  # read before their decisions


DEMO_ACCOUNTS = (
    ("demo-police", "Hampshire", "POLICE", "", "Hampshire's people, hit evidence and trails"),
    ("demo-tvp-police", "Thames Valley", "POLICE", "",
     "Thames Valley's people, and hits on its crimes (as investigators)"),
    ("demo-probation", "Hampshire", "PROBATION", "", "cases, needs, hits without location"),
    ("demo-central", "*", "CENTRAL", "", "every force's hits and grades, no health"),
    ("demo-housing", "Hampshire", "PARTNER_HOUSING", "Southampton Housing",
     "Southampton Housing's own plan actions only"),
    ("demo-drugs", "Hampshire", "DRUG_ALCOHOL", "Inclusion Hampshire",
     "Inclusion Hampshire's own plan actions; told of them by webhook"),
    ("demo-mental-health", "Hampshire", "MENTAL_HEALTH", "Solent Mind",
     "Solent Mind's own plan actions"),
    ("demo-yot", "Hampshire", "YOT", "Southampton YOT", "Southampton YOT's own plan actions"),
    ("demo-prison", "Hampshire", "PRISON", "HMP Winchester",
     "HMP Winchester's own plan actions"),
    ("demo-council", "Hampshire", "LOCAL_AUTHORITY", "Southampton City Council",
     "Southampton City Council's own plan actions"),
    ("demo-voluntary", "Hampshire", "VOLUNTARY", "Society of St James",
     "Society of St James's own plan actions"),
    ("demo-upload", "Hampshire", "POLICE_UPLOAD", "", "Hampshire's crime file upload only"),
    ("demo-iom-head", SYNTHETIC_FORCE, "POLICE", "",
     f"{SYNTHETIC_FORCE}'s synthetic history: the insights page"),
    ("demo-ops", "*", "OPERATIONS", "", "how the system is doing (the ops page), no person"),
    ("demo-dpo", "*", "DATA_PROTECTION", "",
     "the audit trail (/audit): who saw a person, what a user did"),
)


def load_audit_trail(settings: Settings, codec: Codec, insights: str) -> None:
    """The demo's processing log into the audit store (as the operator: `iom audit load`),
    for the data protection officer's page."""
    from iomkit.audittrail.load import load
    from iomkit.audittrail.store import Store

    with Store(settings.audit_store_file()) as store:
        try:
            loaded = asyncio.run(load(settings, store, codec))
        except Exception as exc:  # best effort: the demo's services keep running
            say(f"audit trail: not loaded ({type(exc).__name__}: {exc}); `iom audit load`")
            return
        say(f"audit trail: {loaded.new} records of iom.audit loaded into "
            f"{settings.audit_store_file()} ({store.count()} held); {insights}/audit (sign in as "
            "demo-dpo: who saw a person, what a user did); `iom audit who-saw P-1002 "
            "--since DAY` on the command line")


def demo_users(folder: Path) -> tuple[Path, list[tuple[str, str, str, str]]]:
    """Throwaway users for this run only: fresh random passwords each time, in a file under
    var/ (never the users file a deployment would use)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo-users.toml"
    path.unlink(missing_ok=True)
    made = []
    for username, force, role, agency, may in DEMO_ACCOUNTS:
        password = secrets.token_hex(8)  # easy to copy
        accounts.add_user(path, username, password, force=force, role=role, agency=agency)
        made.append((username, password, role, may))
    return path, made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exit-after-demo", action="store_true")
    parser.add_argument("--keep-broker", action="store_true",
                        help="leave the broker running when done")
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--no-front-door", action="store_true",
                        help="the services' own ports only (no nginx)")
    parser.add_argument("--no-demo", action="store_true",
                        help="start everything, publish nothing")
    parser.add_argument("--day-hours", type=float, default=24.0,
                        help="how long the simulated day lasts (tagged people, crimes)")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="the simulated day's pace, times real time (0: no simulation)")
    parser.add_argument("--summary-s", type=float, default=5.0,
                        help="seconds between the simulated day's summary lines")
    args = parser.parse_args()

    settings = load()
    logs = settings.store_dir.parent / "logs"
    port = int(settings.bootstrap_servers.rsplit(":", 1)[1].split(",")[0])
    data_dir = Path(os.environ.get("IOM_KAFKA_DATA_DIR", ROOT / ".cache" / "kafka" /
                                   f"data-{port}"))
    broker = Broker(port=port, data_dir=data_dir)
    services: list[ServiceProcess] = []
    receivers: DemoReceivers | None = None
    door: FrontDoor | None = None
    prometheus: Prometheus | None = None
    taken = ports_taken(settings, args.no_front_door)
    if taken:
        for line in taken:
            say(line)
        say("stop those first (a `make run` left running?), or set the IOM_*_PORT settings")
        return 1
    # If this process dies before its own cleanup (SIGKILL, a crash), the reaper stops
    # what the ledger names; every service also gets SIGTERM when this process dies.
    ledger = Ledger(logs.parent / "run" / f"ledger-{os.getpid()}.json")
    ledger.clear()
    reaper = subprocess.Popen([sys.executable, "-m", "iomkit.reaper", str(os.getpid()),
                               str(ledger.path)], cwd=ROOT, start_new_session=True)
    try:
        say(f"starting Kafka (KRaft, SASL_SSL) on {broker.bootstrap} ...")
        already = broker.running()
        broker.start()
        if not args.keep_broker and not already:
            ledger.add_broker(broker.env())
        # This script is the operator: it creates the topics and every service's principal
        # and, for the demo, plays the agencies that publish.
        settings = settings.model_copy(update={"kafka_client_config": broker.operator_config})
        say(f"operator client file: {broker.operator_config}")
        for state in asyncio.run(kafka.create_topics(settings, OPERATOR_TOPICS, alter=True)):
            if state.created:
                say(f"created topic {state.name} ({state.partitions} partitions)")
        env = broker.env()
        env["PYTHONUNBUFFERED"] = "1"
        # The demo's webhook secrets (services/notifications/subscriptions.toml names them);
        # a deployment sets its own.
        for name in ("HAMPSHIRE_POLICE", "SOUTHAMPTON_PDU", "SOUTHAMPTON_HOUSING",
                     "INCLUSION_HAMPSHIRE", "THAMES_VALLEY_POLICE"):
            env.setdefault(f"IOM_NOTIFY_SECRET_{name}", f"demo-only-secret-{name.lower()}")
        # The demo recipients' endpoints, so deliveries land (and are checked) somewhere.
        receivers = DemoReceivers(subs.load(
            Path(env.get("IOM_NOTIFY_SUBSCRIPTIONS_FILE", SUBSCRIPTIONS)), env))
        receivers.start()
        # Behind the front door (when nginx is installed: `make frontdoor`) every page is on
        # one https origin: the sign-in page is a path there, and cookies are Secure.
        use_door = FrontDoor.available() and not args.no_front_door
        if use_door:
            env.setdefault("IOM_SIGNIN_URL", "/auth/signin")
            env.setdefault("IOM_TLS", "true")
        logins: list[tuple[str, str, str, str]] = []
        if "IOM_USERS_FILE" not in env:
            users_file, logins = demo_users(logs.parent)
            env["IOM_USERS_FILE"] = str(users_file)
        env.setdefault("IOM_INSIGHTS_SYNTHETIC", "true")  # the page says so
        for name in SERVICES:
            # Each service is its own principal, with exactly its ACLs (iomkit.access).
            own = {**env, "IOM_KAFKA_CLIENT_CONFIG": str(broker.service_credentials(name))}
            service = ServiceProcess(name, own, logs / f"{name}.log", settings.port_of(name))
            service.start()
            services.append(service)
            assert service.process is not None
            ledger.add_group(service.process.pid)
        for service in services:
            service.wait_healthy()
            assert service.process is not None
            say(f"service {service.name:<14} up: http://127.0.0.1:{service.port}/metrics "
                f"(pid {service.process.pid}, log {service.log_file})")
        signin = settings.signin()
        if use_door:
            door = FrontDoor(logs.parent / "frontdoor", settings.frontdoor_port,
                             {s.name: s.port for s in services}, logs.parent / "pki")
            door.start()
            assert door.process is not None
            ledger.add_group(door.process.pid)
            signin = f"{door.url}/auth/signin"
            say(f"front door up: {door.url} (nginx, TLS from the project's CA "
                f"{logs.parent / 'pki' / 'ca.pem'})")
        if Prometheus.available():
            prometheus = Prometheus(logs.parent / "prometheus", settings.prometheus_port,
                                    {s.name: s.port for s in services})
            prometheus.start()
            assert prometheus.process is not None
            ledger.add_group(prometheus.process.pid)
            say(f"prometheus up: {prometheus.url} (every service scraped, alert rules "
                f"{RULES.relative_to(ROOT)}; alerts: {prometheus.url}/alerts)")
        say(f"\nsign in: {signin}  (one sign-in for every service)")
        for username, password, role, may in logins:
            say(f"  DEMO ONLY: user {username}, password {password}  ({role}: {may})")
        if not logins:
            say("  users from IOM_USERS_FILE")
        console = (door.url if door else
                   f"http://127.0.0.1:{settings.port_of('notifications')}") + "/console"
        say(f"live console: {console}")
        referrals = door.url if door else f"http://127.0.0.1:{settings.port_of('referrals')}"
        say(f"referrals: {referrals}/referrals/new (the referral form), "
            f"{referrals}/panel?force=Hampshire (MACC agenda), {referrals}/map (MAP pack), "
            f"{referrals}/people/P-1002/report (a management report)")
        insights = door.url if door else f"http://127.0.0.1:{settings.port_of('insights')}"
        say(f"insights: {insights}/insights (management information and outcomes; sign in "
            f"as demo-iom-head for {SYNTHETIC_FORCE}'s synthetic history)")
        if prometheus is not None:
            say(f"operations: {insights}/ops (live from Prometheus; sign in as demo-ops; "
                "stop a service, `kill <its pid>`, and its ServiceDown alert shows there "
                "within seconds, firing after a minute)")
        codec = Codec(SchemaRegistry(settings.schemas_dir))
        if args.no_demo:
            return wait_for_stop(services)
        people = asyncio.run(publish_demo(settings, codec))
        asyncio.run(publish_history(settings, codec))
        asyncio.run(show_grades(settings, codec, people, args.timeout))
        hit_ids = asyncio.run(show_hits(settings, codec, args.timeout))
        show_deliveries(receivers, hit_ids, min(args.timeout, 30.0))
        show_insights(settings, logins, args.timeout)
        show_partners_and_tag_orders(settings, logins, receivers, min(args.timeout, 30.0))
        show_casework(settings, codec, logins, receivers, min(args.timeout, 30.0))
        load_audit_trail(settings, codec, insights)
        say("\nnotifications received them:")
        for line in (logs / "notifications.log").read_text().splitlines():
            if "grade.received" in line:
                say("  " + line.split("] ", 3)[-1])
        if args.exit_after_demo:
            return 0
        if args.speed > 0:
            carry_a_day(settings, codec, services, args.day_hours, args.speed, args.summary_s)
        return wait_for_stop(services)
    finally:
        # Once: a second Ctrl-C (or SIGTERM) while stopping must not leave half of it behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say("stopping ...")
        started = time.monotonic()
        killed = stop_groups([s.process.pid for s in services if s.process is not None])
        say(f"services stopped in {time.monotonic() - started:.1f} s"
            + (f" ({len(killed)} killed after 10 s)" if killed else ""))
        if door is not None:
            door.stop()
        if prometheus is not None:
            prometheus.stop()
        if receivers is not None:
            receivers.stop()
        if not args.keep_broker:
            broker.stop()
        ledger.clear()
        reaper.terminate()


def carry_a_day(settings: Settings, codec: Codec, services: list[ServiceProcess],
                hours: float, speed: float, every_s: float) -> None:
    """The system carrying a simulated day (iomkit.simulator) at ``speed`` times real time,
    with one summary line every ``every_s`` seconds, on threads of their own until the
    process ends."""
    world = simulator.simulate(SIMULATION_SEED, settings.now() - timedelta(hours=hours),
                               people=SIMULATED_PEOPLE, hours=hours,
                               crimes_per_day=SIMULATED_CRIMES_PER_DAY)
    messages = world.messages()
    first = simulator.ms(world.start)  # the pace counts from here (simulation.play)
    began = time.monotonic()
    crimes = {c["crime_ref"]: simulator.ms(c["reported_at"]) for c in world.crimes}
    # the world's own people: the demo's tag (P-1002, Southampton, two hours ago) can meet a
    # simulated crime, a true hit the world's truth does not know of
    people = {p["person_id"] for p in world.people}
    ports = [s.port for s in services]
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in world.summary().items())
    say(f"\nsimulating {hours:g} hours of {SIMULATED_PEOPLE} tagged people at {speed:g}x "
        f"({len(messages):,} records: {counts}); a line every {every_s:g} s:")

    async def watch() -> None:
        before, then = simulation.totals(scrape(ports)), time.monotonic()
        async with testing.Reader(settings, codec, GPS_HITS.name) as hits:
            while True:
                deadline = time.monotonic() + every_s
                while time.monotonic() < deadline:
                    await hits.poll()
                now = simulation.totals(scrape(ports))
                sim_now = first + (time.monotonic() - began) * speed * 1000
                truth = {(ref, person) for ref, people in world.truth.items()
                         if crimes[ref] <= sim_now for person in people}
                found = simulation.active_hits(hits.seen, f"SIM/{SIMULATION_SEED}/", people)
                say(simulation.summary_line(now, before, time.monotonic() - then, found, truth))
                before, then = now, time.monotonic()

    def run(coroutine: Any) -> None:
        try:
            asyncio.run(coroutine)
        except Exception as exc:  # the demo goes on without it; say why
            say(f"simulation stopped: {type(exc).__name__}: {exc}")

    threading.Thread(target=run, args=(simulation.play(settings, codec, world, speed,
                                                       show=False),), daemon=True).start()
    threading.Thread(target=run, args=(watch(),), daemon=True).start()


def scrape(ports: list[int]) -> list[str]:
    pages = []
    for port in ports:
        try:
            pages.append(metrics.page_of(port, timeout=5))
        except OSError:
            pass  # a service down: its figures are missing from this line
    return pages


def wait_for_stop(services: list[ServiceProcess]) -> int:
    say("\nrunning; Ctrl-C stops the services and the broker")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stopped: set[str] = set()
    while not stop.wait(1.0):
        for service in services:
            if service.name in stopped or service.alive():
                continue
            # Told once; the rest keep running, so the alert it raises can be seen.
            stopped.add(service.name)
            code = service.process.returncode if service.process is not None else None
            say(f"service {service.name} stopped (exit {code}): see {service.log_file}; "
                "Prometheus shows ServiceDown pending at once and firing after a minute; the "
                "other services keep running (Ctrl-C stops them)")
        if len(stopped) == len(services):
            say("every service has stopped")
            return 1
    return 0


def ports_taken(settings: Settings, no_door: bool) -> list[str]:
    """Each port this run needs that something already listens on, and what does."""
    wanted = {f"service {name}": settings.port_of(name) for name in SERVICES}
    if not no_door and FrontDoor.available():
        wanted["front door"] = settings.frontdoor_port
    if Prometheus.available():
        wanted["prometheus"] = settings.prometheus_port
    found = []
    for what, port in wanted.items():
        holder = holder_of(port)
        if holder is not None:
            found.append(f"port {port} ({what}) is taken by {holder}")
    return found


if __name__ == "__main__":
    sys.exit(main())
