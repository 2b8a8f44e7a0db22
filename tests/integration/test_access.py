"""Access to every route of every service, on the real broker with the four services running
and one sign-in: the routes are read from each app's router (a new route cannot be missed),
each declares its rule, answers 401 without a token and 403 to a role it does not name and
to an officer of another force; allowed roles get exactly their fields; Faust's own routes
are gone; foreign Hosts and Origins, cross-site form posts and oversized bodies are refused;
refusals are audited with the token's user; login attempts are rate limited; signing out
everywhere stops the user's tokens on every service."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from iomkit import testing, topics
from iomkit.audit import audit_record
from iomkit.audittrail.store import Store as AuditStore
from iomkit.audittrail.store import rows_of
from iomkit.identity.isa import ROLES
from iomkit.identity.users import add_user
from iomkit.processes import all_healthy
from iomkit.settings import ROOT
from tests.integration.test_notifications_console import crime_and_hit
from tests.integration.test_notifications_console import person as console_person

pytestmark = pytest.mark.integration
APPS = {"referrals": "services.referrals.app", "risk": "services.risk.app",
        "gps_stream": "services.gps_stream.app", "notifications": "services.notifications.app",
        "insights": "services.insights.app"}
PASSWORD = "a long demo password"
USERS = {  # username: (force, role, agency)
    "hants-police": ("Hampshire", "POLICE", ""),
    "hants-probation": ("Hampshire", "PROBATION", ""),
    "hub": ("*", "CENTRAL", ""),
    "housing": ("Hampshire", "PARTNER_HOUSING", "Southampton Housing"),
    "uploader": ("Hampshire", "POLICE_UPLOAD", ""),
    "kent-police": ("Kent", "POLICE", ""),
    "kent-probation": ("Kent", "PROBATION", ""),
    "ops": ("*", "OPERATIONS", ""),
    "dpo": ("*", "DATA_PROTECTION", ""),
    # partners beyond housing: their own agency's actions, nothing else
    "drugs": ("Hampshire", "DRUG_ALCOHOL", "Inclusion Hampshire"),
    "mind": ("Hampshire", "MENTAL_HEALTH", "Solent Mind"),
    "yot": ("Hampshire", "YOT", "Southampton YOT"),
    "prison": ("Hampshire", "PRISON", "HMP Winchester"),
    "council": ("Hampshire", "LOCAL_AUTHORITY", "Southampton City Council"),
    "voluntary": ("Hampshire", "VOLUNTARY", "Society of St James"),
}
assert {role for _, role, _ in USERS.values()} == set(ROLES), "a user for every ISA role"
CRIME_FILE_LIMIT = 4096


def router_routes(env: dict[str, str]) -> list[dict[str, Any]]:
    """Every route each app's router holds, with its declared rule, as the service itself
    would register them (the app is imported in a process of its own)."""
    answer = subprocess.run([sys.executable, "-m", "iomkit.identity.routes", *APPS.values()],
                            env=env, cwd=ROOT, capture_output=True, text=True, check=True,
                            timeout=120)
    return [json.loads(line) for line in answer.stdout.splitlines() if line.strip()]


class Stack:
    def __init__(self, ports: dict[str, int], http: aiohttp.ClientSession) -> None:
        self.ports = ports
        self.http = http
        self.tokens: dict[str, dict[str, str]] = {}

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    async def call(self, method: str, service: str, path: str, user: str | None = None,
                   **kwargs: Any) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            headers.update(self.tokens[user])
        async with self.http.request(method, self.url(service, path), headers=headers,
                                     allow_redirects=False, **kwargs) as answer:
            text = await answer.text()
            try:
                return answer.status, json.loads(text)
            except ValueError:
                return answer.status, text

    async def sign_in(self, username: str, password: str = PASSWORD) -> tuple[int, Any]:
        return await self.call("POST", "notifications", "/auth/token",
                               json={"username": username, "password": password})

    async def until(self, check: Any, within: float = 60.0) -> Any:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = await check()
            if found:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("not reached in time")
            await asyncio.sleep(0.3)


@pytest.fixture
async def stack(settings, codec, start_service, tmp_path: Path, identity_dir: Path
                ) -> AsyncIterator[tuple[Stack, dict[str, Any], dict[str, str]]]:
    run = uuid.uuid4().hex[:8]
    pid, kent_pid = f"P-acc-{run}", f"P-acc-kent-{run}"
    crime, hit = crime_and_hit(run, pid, "Hampshire")  # a hit of the person's own force
    users = tmp_path / "users.toml"
    for name, (force, role, agency) in USERS.items():
        add_user(users, name, PASSWORD, force, role, agency=agency)
    add_user(users, "guessed", PASSWORD, "Hampshire", "POLICE")
    subs = tmp_path / "subs.toml"
    subs.write_text('[[recipient]]\nname = "nobody"\nrole = "POLICE"\nkinds = ["HIT"]\n'
                    'forces = ["Kent"]\nurl = "http://127.0.0.1:9/"\n'
                    'secret_env = "TEST_SECRET"\n')
    # the DPO's page reads the audit store file (loaded by the operator's `iom audit`)
    trail = tmp_path / "audit.duckdb"
    with AuditStore(trail) as audit_store:
        audit_store.write([rows_of(audit_record(
            service="referrals", actor="hants-police", action="VIEW", purpose="report",
            person_id=pid, at=testing.now() - timedelta(hours=1)))], {0: 1})
    env = {"IOM_USERS_FILE": str(users), "IOM_NOTIFY_SUBSCRIPTIONS_FILE": str(subs),
           "IOM_AUDIT_STORE": str(trail),
           "TEST_SECRET": "x" * 32, "IOM_NOTIFY_PERSON_WAIT_S": "0",
           "IOM_GPS_CRIME_FILE_MAX_BYTES": str(CRIME_FILE_LIMIT),
           "IOM_IDENTITY_DIR": str(identity_dir)}
    await testing.produce(settings, codec, topics.PEOPLE, [
        console_person(codec, pid, "Hampshire"), console_person(codec, kent_pid, "Kent")])
    await testing.produce(settings, codec, topics.CRIMES_REPORTED, [crime])
    await testing.produce(settings, codec, topics.GPS_HITS, [hit])
    workers = [start_service(name, healthy=False, **env) for name in APPS]
    all_healthy(workers)
    ports = {worker.name: worker.port for worker in workers}
    async with aiohttp.ClientSession() as http:
        stack = Stack(ports, http)
        for name in USERS:
            status, body = await stack.sign_in(name)
            assert status == 200, body
            stack.tokens[name] = {"Authorization": f"Bearer {body['access_token']}"}

        async def known() -> bool:  # the person's record has reached the referrals service
            status, _ = await stack.call("GET", "referrals", f"/people/{pid}/report.json",
                                         "hants-police")
            return status == 200

        await stack.until(known, within=150)
        status, body = await stack.call("POST", "referrals", "/referrals", "hants-police", json={
            "person_id": pid, "referring_agency": "Hampshire Police", "referrer": "DC Rivers",
            "proposed_cohort": "FIXED", "urgent": False, "index_offence": "burglary",
            "reason": "ten burglaries this year; homeless on release; IOM grip needed"})
        assert status == 201, body
        ids = {"person_id": pid, "kent_person": kent_pid, "hit_id": hit["hit_id"],
               "referral_id": body["referral_id"], "agency": "Southampton Housing",
               "file": "caseload.csv",
               "item": "ACCOMMODATION", "action_id": "a1", "breach_id": "ZB-none"}

        async def ready() -> bool:
            views = [("referrals", f"/referrals/{ids['referral_id']}"),
                     ("risk", f"/people/{pid}/grade"),
                     ("gps_stream", f"/hits/{hit['hit_id']}?purpose=readiness"),
                     ("notifications", f"/api/hits/{hit['hit_id']}")]
            answers = [await stack.call("GET", s, p, "hants-police") for s, p in views]
            waiting[:] = [f"{s} {p}: {status}" for (s, p), (status, _)
                          in zip(views, answers, strict=True) if status != 200]
            return not waiting

        waiting: list[str] = []
        try:
            # Four workers starting at once on a 2-core CI machine: a minute was not enough.
            await stack.until(ready, within=150)
        except TimeoutError as late:
            raise TimeoutError(f"still waiting for {waiting}") from late
        env_all = {**os.environ, **env}
        yield stack, ids, env_all


def concrete(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no test value for a parameter of {path}"
    return path


async def every_route_of_every_service(stack, settings, codec) -> None:
    stack_, ids, env = stack
    routes = router_routes(env)
    assert {r["service"] for r in routes} == set(APPS)
    undeclared = [f"{r['service']} {r['method']} {r['path']}" for r in routes
                  if r["rule"] is None]
    assert undeclared == [], "routes without an access rule"
    assert len([r for r in routes if not r["rule"]["public"]]) >= 29  # all of today's

    for route in routes:
        service, method, rule = route["service"], route["method"], route["rule"]
        path = concrete(route["path"], ids)
        where = f"{service} {method} {path}"
        if rule["public"]:
            if route["path"] in ("/health", "/metrics"):
                status, body = await stack_.call(method, service, path)
                assert status == 200, where
                assert ids["person_id"] not in str(body), f"{where} names a person"
            continue
        status, _ = await stack_.call(method, service, path, json={})
        assert status == 401, f"{where} without a token: {status}"
        outsider = next(user for user, (_, role, _) in USERS.items()
                        if role not in rule["roles"])
        status, _ = await stack_.call(method, service, path, outsider, json={})
        assert status == 403, f"{where} as {outsider}: {status}"
        if rule["purpose"]:
            allowed = next(u for u, (f, role, _) in USERS.items()
                           if role in rule["roles"] and f == "Hampshire")
            status, _ = await stack_.call(method, service, path, allowed)
            assert status == 403, f"{where} without a stated purpose: {status}"

    # An officer of another force, with a role the route names: 403 on the person's data.
    person = {"referrals": ["/people/{person_id}/report", "/people/{person_id}/report.json",
                            "/referrals/{referral_id}", "/panel?force=Hampshire",
                            "/map?force=Hampshire", "/people/{person_id}/notes",
                            "/map/minutes?force=Hampshire"],
              "risk": ["/people/{person_id}/grade", "/grades?force=Hampshire"],
              "gps_stream": ["/people/{person_id}/trail?purpose=enquiry",
                             "/hits/{hit_id}?purpose=enquiry"],
              "notifications": ["/api/hits/{hit_id}",
                                "/console/hits/{hit_id}/map.svg?purpose=enquiry",
                                "/console/hits/{hit_id}/map.json?purpose=enquiry",
                                "/console/hits/{hit_id}/pack.html?purpose=enquiry",
                                "/console/hits/{hit_id}/pack.pdf?purpose=enquiry"],
              "insights": ["/insights?force=Hampshire", "/insights/report.json?force=Hampshire",
                           "/insights/tables/{file}?force=Hampshire",
                           "/insights/pack?force=Hampshire"]}
    for service, paths in person.items():
        for path in paths:
            status, _ = await stack_.call("GET", service, concrete(path, ids), "kent-police")
            assert status == 403, f"{service} {path} as Kent's officer: {status}"
    for path in ("/people/{person_id}/needs", "/people/{person_id}/reviews",
                 "/people/{person_id}/plan/actions", "/people/{person_id}/pathway",
                 "/people/{person_id}/deregistration", "/people/{person_id}/lead-officer",
                 "/people/{person_id}/notes", "/people/{person_id}/contacts",
                 "/people/{person_id}/transition/plan",
                 "/people/{person_id}/map/actions/{action_id}/close"):
        status, _ = await stack_.call("POST", "referrals", concrete(path, ids), "kent-probation",
                                      json={"supervisor": "x", "finding": "y"})
        assert status == 403, f"POST {path} as Kent's probation: {status}"
    status, _ = await stack_.call("POST", "referrals", "/referrals", "kent-police", json={
        "person_id": ids["person_id"], "referring_agency": "Kent Police", "referrer": "DC K",
        "proposed_cohort": "FIXED", "urgent": False, "index_offence": "burglary",
        "reason": "a Kent officer referring a Hampshire person they cannot see"})
    assert status == 403
    # Lists keep the caller's forces only.
    _, kents = await stack_.call("GET", "risk", "/grades", "kent-police")
    assert ids["person_id"] not in [r["person_id"] for r in kents["grades"]]
    _, hits = await stack_.call("GET", "notifications", "/api/hits", "kent-police")
    assert ids["hit_id"] not in [i["id"] for i in hits["items"]]

    # Exactly the fields each role's agreement allows.
    _, police = await stack_.call("GET", "referrals", concrete(
        "/people/{person_id}/report.json", ids), "hants-police")
    _, central = await stack_.call("GET", "referrals", concrete(
        "/people/{person_id}/report.json", ids), "hub")
    assert {"needs", "sash"} <= set(police["care"]) and not {"needs", "sash"} & set(central["care"])
    # case notes and contacts: the case roles only
    assert {"notes", "contacts"} <= set(police["records"])
    assert not {"notes", "contacts"} & set(central["records"])
    notes = concrete("/people/{person_id}/notes", ids)
    status, _ = await stack_.call("GET", "referrals", notes, "hub")
    assert status == 403
    # MAP minutes naming a person of another force: refused
    status, _ = await stack_.call("POST", "referrals", "/map/minutes", "kent-probation", json={
        "force": "Kent", "meeting_date": "2026-01-01", "attendees": ["x"],
        "discussed": [ids["person_id"]]})
    assert status == 403
    _, evidence = await stack_.call("GET", "gps_stream", concrete(
        "/hits/{hit_id}?purpose=enquiry", ids), "hants-police")
    _, told = await stack_.call("GET", "gps_stream", concrete(
        "/hits/{hit_id}?purpose=enquiry", ids), "hants-probation")
    assert len(evidence["fixes"]) == 6 and evidence["device_id"]
    assert "fixes" not in told and "device_id" not in told and "distance_m" not in told
    assert told["crime"] is None and told["person_id"] == ids["person_id"]
    # The evidence pack and the map's data say where the person was: not for probation.
    for path in ("/console/hits/{hit_id}/pack.pdf?purpose=enquiry",
                 "/console/hits/{hit_id}/map.json?purpose=enquiry"):
        status, _ = await stack_.call("GET", "notifications", concrete(path, ids),
                                      "hants-probation")
        assert status == 403, f"{path} as probation: {status}"
    # A partner: its own agency's actions only.
    status, _ = await stack_.call("GET", "referrals", "/agencies/Southampton Housing/actions",
                                  "housing")
    assert status == 200
    status, _ = await stack_.call("GET", "referrals", "/agencies/Kent Housing/actions",
                                  "housing")
    assert status == 403
    # Every other partner: its own agency's actions; not another's, not the case, not
    # where anyone was.
    for user in ("drugs", "mind", "yot", "prison", "council", "voluntary"):
        agency = USERS[user][2]
        status, _ = await stack_.call("GET", "referrals", f"/agencies/{agency}/actions", user)
        assert status == 200, user
        for service, path in (("referrals", "/agencies/Southampton Housing/actions"),
                              ("referrals", "/people/{person_id}/report.json"),
                              ("gps_stream", "/hits/{hit_id}?purpose=enquiry"),
                              ("notifications", "/api/hits/{hit_id}")):
            status, _ = await stack_.call("GET", service, concrete(path, ids), user)
            assert status == 403, f"{service} {path} as {user}: {status}"

    # Operations: how the system is doing (here with no Prometheus: it says so), no person.
    status, figures = await stack_.call("GET", "insights", "/ops/figures.json", "ops")
    assert status == 200 and figures["error"] and figures["services"]
    status, _ = await stack_.call("GET", "insights", "/ops/figures.json", "hub")
    assert status == 200
    for service, path in (("referrals", "/people/{person_id}/report.json"),
                          ("insights", "/insights"), ("risk", "/grades")):
        status, _ = await stack_.call("GET", service, concrete(path, ids), "ops")
        assert status == 403, f"{service} {path} as operations: {status}"

    # The data protection officer: the audit trail, from the store file, and nothing else;
    # asking is itself audited.
    since = (testing.now() - timedelta(days=1)).date().isoformat()
    status, trail = await stack_.call("GET", "insights", concrete(
        f"/audit.json?person={{person_id}}&since={since}", ids), "dpo")
    assert status == 200, trail
    assert [(e["actor"], e["kind"]) for e in trail["entries"]] == [
        ("hants-police", "CONSULTATION")]
    status, _ = await stack_.call("GET", "insights", "/audit?user=hants-police", "dpo")
    assert status == 200
    for service, path in (("referrals", "/people/{person_id}/report.json"),
                          ("insights", "/insights"), ("insights", "/ops/figures.json")):
        status, _ = await stack_.call("GET", service, concrete(path, ids), "dpo")
        assert status == 403, f"{service} {path} as the DPO: {status}"
    async with testing.Reader(settings, codec, topics.AUDIT.name) as audit:
        await audit.wait_for(lambda seen: any(
            r.value["actor"] == "dpo" and r.value["person_id"] == ids["person_id"]
            and r.value["action"] == "CONSULT" for r in seen))

    # Refusals are audited with the token's user, never a header's.
    async with testing.Reader(settings, codec, topics.AUDIT.name) as audit:
        seen = await audit.wait_for(lambda seen: any(
            r.value["actor"] == "kent-police" and r.value["person_id"] == ids["person_id"]
            and r.value["details"].get("outcome") == "REFUSED" for r in seen))
    assert not any(r.value["actor"] == "forged" for r in seen)


async def nothing_unintended_is_exposed(stack) -> None:
    stack_, ids, _ = stack
    police = "hants-police"
    for service in APPS:
        for path in ("/table/cases/", "/router/", "/", "/graph/", "/stats/"):
            status, _ = await stack_.call("GET", service, path, police)
            assert status == 404, f"{service} {path}: {status}"
    status, _ = await stack_.call("GET", "referrals", "/table/cases/" + ids["person_id"],
                                  police)
    assert status == 404
    # A Host not ours, an Origin not ours.
    report = concrete("/people/{person_id}/report", ids)
    status, _ = await stack_.call("GET", "referrals", report, police,
                                  headers={"Host": "evil.example"})
    assert status == 403
    needs = concrete("/people/{person_id}/needs", ids)
    status, _ = await stack_.call("POST", "referrals", needs, police, json={},
                                  headers={"Origin": "https://evil.example"})
    assert status == 403
    # A cross-site form post: the cookie a browser would attach, another site's Origin; and
    # a cookie-borne POST with no Origin at all.
    cookie = {"Cookie": "tc_token=" + stack_.tokens[police]["Authorization"][7:]}
    form = {"level_ACCOMMODATION": "SEVERE", "assessed_by": "attacker"}
    for origin in ({"Origin": "https://evil.example"}, {}):
        status, _ = await stack_.call("POST", "referrals", needs, data=form,
                                      headers={**cookie, **origin})
        assert status == 403, origin
    status, _ = await stack_.call("POST", "gps_stream", "/crimes/upload", data=b"x",
                                  headers={**cookie, "Content-Type": "text/plain",
                                           "Origin": "https://evil.example"})
    assert status == 403
    # Body limits: every POST, and the crime file's own (streamed, no length given).
    status, _ = await stack_.call("POST", "referrals", needs, police,
                                  data=b"{" + b" " * (2 << 20) + b"}",
                                  headers={"Content-Type": "application/json"})
    assert status == 413

    async def crime_file() -> AsyncIterator[bytes]:
        for _ in range(CRIME_FILE_LIMIT // 512 + 2):
            yield b"Hampshire,RB,Robbery,B1,X/1,20260101100000,20260101103000,,,,,,x\n" * 8

    status, _ = await stack_.call("POST", "gps_stream", "/crimes/upload", "uploader",
                                  data=crime_file(), headers={"Content-Type": "text/csv"})
    assert status == 413
    # The upload account: its own force's rows only.
    now = testing.now() - timedelta(hours=3)
    stamp, end = now.strftime("%Y%m%d%H%M%S"), (now + timedelta(minutes=30)).strftime(
        "%Y%m%d%H%M%S")
    rows = (f"Kent,RB,Robbery,B1,K/{ids['person_id']},{stamp},{end},,,51.27,1.07,WGS84,x\n")
    status, body = await stack_.call("POST", "gps_stream", "/crimes/upload", "uploader",
                                     data=rows.encode(), headers={"Content-Type": "text/csv"})
    assert status == 422 and body["published"] == [] and "force" in body["refused"][0]["reason"]
    status, _ = await stack_.call("POST", "gps_stream", "/crimes/upload", "hants-police",
                                  data=rows.encode(), headers={"Content-Type": "text/csv"})
    assert status == 403
    # Security headers on pages.
    async with stack_.http.get(stack_.url("referrals", report),
                               headers=stack_.tokens[police]) as answer:
        assert answer.status == 200
        for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                     "Referrer-Policy"):
            assert name in answer.headers, name
        assert answer.headers["Cache-Control"] == "no-store"


async def rate_limit_and_sign_out_everywhere(stack) -> None:
    stack_, ids, _ = stack
    for _ in range(5):
        status, _ = await stack_.sign_in("guessed", "not the password")
        assert status == 401
    status, _ = await stack_.sign_in("guessed")  # the right password, too late
    assert status == 429
    # Two sessions of one user; signing out everywhere stops both tokens on every service.
    first, second = [await stack_.sign_in("hants-probation") for _ in range(2)]
    tokens = [{"Authorization": f"Bearer {b['access_token']}"} for _, b in (first, second)]
    grade = concrete("/people/{person_id}/grade", ids)
    for token in tokens:
        status, _ = await stack_.call("GET", "risk", grade, headers=token)
        assert status == 200
    status, _ = await stack_.call("POST", "notifications", "/auth/signout",
                                  headers=tokens[0], data={"everywhere": "1"})
    assert status == 303

    async def both_refused() -> bool:
        answers = [await stack_.call("GET", "risk", grade, headers=t) for t in tokens]
        return all(status == 401 for status, _ in answers)

    await stack_.until(both_refused, within=30)


async def test_access_on_every_service(stack, settings, codec) -> None:
    """One stack of four services for all three parts: starting it is the slow bit."""
    await every_route_of_every_service(stack, settings, codec)
    await nothing_unintended_is_exposed(stack)
    await rate_limit_and_sign_out_everywhere(stack)
