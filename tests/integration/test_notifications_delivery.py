"""notifications on the real broker: hits routed to police, probation and housing under
their agreements (each receives exactly its role's fields), signed webhooks verified by
test receivers, once per hit, a receiver down for a while then back (every notification
delivered exactly once by idempotency key, in order), FAILED after the last attempt with a
dead letter, redelivery by command, an AuditRecord per delivery, and a partner told of its
own agency's plan actions only."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from iomkit import testing, topics
from iomkit.identity.isa import FIELDS
from iomkit.jsonconv import from_json
from iomkit.processes import free_port
from iomkit.settings import ROOT
from services.notifications import redeliver
from services.notifications.receiver import Receiver
from services.notifications.routing import notification_id

pytestmark = pytest.mark.integration
SECRETS = {"POLICE": "police-secret-0123456789abcdef", "PROBATION": "pdu-secret-0123456789ab",
           "PARTNER_HOUSING": "housing-secret-0123456789", "DEAD": "dead-secret-0123456789ab",
           "DRUG_ALCOHOL": "drugs-secret-0123456789ab"}
DRUGS_AGENCY = "Inclusion Hampshire"


def person(codec: Any, person_id: str, force: str) -> dict[str, Any]:
    raw = json.loads((ROOT / "schemas/examples/Person.json").read_text())
    raw.update(person_id=person_id, force=force)
    return from_json(codec.registry.current("Person").raw, raw)


def hit(run: str, n: int, person_id: str, revision: int = 1, status: str = "ACTIVE"
        ) -> dict[str, Any]:
    at = testing.now().replace(microsecond=0) - timedelta(hours=1)
    fixes = [{"recorded_at": at + timedelta(minutes=m), "lat": 50.9097, "lon": -1.4044 + m * 1e-4,
              "accuracy_m": 10.0, "distance_m": 7.0 * m} for m in range(revision + 1)]
    return {"hit_id": f"hit-{run}-{n}", "revision": revision, "status": status,
            "crime_ref": f"44/{run}/{n}", "crime_version": 1, "offence": "ROBBERY",
            "person_id": person_id, "device_id": f"TAG-{run}", "distance_m": 0.0,
            "nearest_fix_at": at, "fixes": fixes, "detected_at": at + timedelta(minutes=30),
            "rule_version": 1}


def subscriptions(path: Path, force: str, ports: dict[str, int]) -> Path:
    kinds = {"POLICE": '["HIT", "GRADE_CHANGE"]', "PROBATION": '["HIT"]',
             "PARTNER_HOUSING": '["GRADE_CHANGE"]', "DEAD": '["HIT"]',
             "DRUG_ALCOHOL": '["ACTION_ASSIGNED", "ACTION_OVERDUE", "SASH"]'}
    text = ""
    for role, port in ports.items():
        text += (f'[[recipient]]\nname = "{role.lower()}"\n'
                 f'role = "{"POLICE" if role == "DEAD" else role}"\n'
                 f'kinds = {kinds[role]}\nforces = ["{force}"]\n'
                 f'url = "http://127.0.0.1:{port}/hooks/throughcare"\n'
                 f'secret_env = "TEST_SECRET_{role}"\nagreement = "test ISA"\n'
                 + (f'agency = "{DRUGS_AGENCY}"\n' if role == "DRUG_ALCOHOL" else "")
                 + ("max_attempts = 3\n\n" if role == "DEAD" else "\n"))
    path.write_text(text)
    return path


def fast_retries(subscriptions_file: Path, force: str, max_attempts: int) -> dict[str, str]:
    """A notifications worker for this test's recipients, retrying within a test's time."""
    return {
        "IOM_NOTIFY_SUBSCRIPTIONS_FILE": str(subscriptions_file),
        "IOM_NOTIFY_EXTRA_FORCES": force, "IOM_NOTIFY_PERSON_WAIT_S": "0",
        "IOM_NOTIFY_MAX_ATTEMPTS": str(max_attempts), "IOM_NOTIFY_BACKOFF_BASE_S": "0.05",
        "IOM_NOTIFY_BACKOFF_CAP_S": "0.3", "IOM_NOTIFY_TIMEOUT_S": "2",
    }


async def test_routing_signing_outage_and_redelivery(settings, codec, start_service, tmp_path):
    run = uuid.uuid4().hex[:8]
    force = f"Testshire {run}"  # only this test's people reach this test's receivers
    ports = {role: free_port() for role in SECRETS}
    receivers = {role: Receiver(SECRETS[role], ports[role]) for role in SECRETS}
    for role in ("PROBATION", "PARTNER_HOUSING", "DRUG_ALCOHOL"):
        await receivers[role].start()
    # the police receiver starts down; the DEAD one never comes up
    people = [f"P-n-{run}-{i}" for i in range(5)]
    await testing.produce(settings, codec, topics.PEOPLE,
                          [person(codec, p, force) for p in people])
    env = {f"TEST_SECRET_{role}": secret for role, secret in SECRETS.items()}
    env.update(fast_retries(subscriptions(tmp_path / "s.toml", force, ports), force, 40))
    notifications = start_service("notifications", **env)

    async with testing.Reader(settings, codec, topics.NOTIFICATIONS.name) as notes, \
            testing.Reader(settings, codec, topics.AUDIT.name) as audits, \
            testing.Reader(settings, codec, topics.DEAD_LETTERS.name) as dead:
        hits = [hit(run, i, people[i]) for i in range(5)]
        await testing.produce(settings, codec, topics.GPS_HITS, hits)
        # The police endpoint stays down until the worker has retried at least once: a fixed
        # sleep was shorter than a slow CI machine's start, and then nothing was retried.
        await notes.wait_for(lambda seen: any(
            r.value["state"] == "RETRYING" and r.value["recipient"] == "police"
            for r in seen), within=90)
        await receivers["POLICE"].start()
        police, probation = receivers["POLICE"], receivers["PROBATION"]
        for _ in range(600):
            if len(police.deliveries) >= 5 and len(probation.deliveries) >= 5:
                break
            await asyncio.sleep(0.1)

        # Exactly once by idempotency key, and in the order the notifications were created.
        expected = {notification_id(h["hit_id"], "police", "HIT") for h in hits}
        assert {d.key for d in police.deliveries} == expected
        await notes.wait_for(lambda seen: expected <= {
            r.value["notification_id"] for r in seen if r.value["state"] == "DELIVERED"})
        created = [r.value["notification_id"] for r in notes.seen
                   if r.value["recipient"] == "police" and r.value["state"] == "PENDING"
                   and r.value["notification_id"] in expected]
        assert [d.key for d in police.deliveries] == created
        assert any(r.value["state"] == "RETRYING" and r.value["recipient"] == "police"
                   for r in notes.seen), "the outage should have caused retries"
        assert police.refused == [] and probation.refused == []

        # Each delivery of a hit is measured from the hit's arrival on the bus and from its
        # detected_at (half an hour before): this worker routed and delivered them all.
        told = testing.latency(await testing.metrics_page(notifications.port),
                               "notifications", "hit_to_webhook")
        assert told.count >= 10 and told.event_count == told.count
        assert told.since_event_s >= 1800 > told.since_arrival_s

        # Each role receives exactly its fields; housing is not told of hits at all.
        for role, receiver in (("POLICE", police), ("PROBATION", probation)):
            for delivery in receiver.deliveries:
                assert set(delivery.body["payload"]) == set(FIELDS[role]["HIT"])
                assert delivery.body["payload"]["force"] == force
        assert len(police.deliveries[0].body["payload"]["fixes"]) == 2
        assert receivers["PARTNER_HOUSING"].deliveries == []

        # A later revision does not page again; a withdrawal is told once.
        await testing.produce(settings, codec, topics.GPS_HITS, [
            hit(run, 0, people[0], revision=2), hit(run, 1, people[1], revision=2,
                                                    status="WITHDRAWN")])
        for _ in range(100):
            if len(police.deliveries) >= 6 and len(probation.deliveries) >= 6:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        assert [d.body["kind"] for d in police.deliveries[5:]] == ["HIT_WITHDRAWN"]
        assert police.deliveries[5].body["source_id"] == f"hit-{run}-1"
        assert len(probation.deliveries) == 6

        # Every delivery is an AuditRecord DISCLOSE naming the recipient and the person.
        disclosed = await audits.wait_for(lambda seen: len([
            r for r in seen if r.value["action"] == "DISCLOSE"
            and r.value["person_id"] in people]) >= 12)
        mine = [r.value for r in disclosed if r.value["action"] == "DISCLOSE"
                and r.value["person_id"] in people]
        assert {(a["recipient"], a["details"]["notification_id"]) for a in mine} >= {
            ("police", d.key) for d in police.deliveries}
        assert all(a["actor"] == "notifications" and a["purpose"].startswith("test ISA")
                   for a in mine)

        # The endpoint that never answers: FAILED after the last attempt, dead-lettered.
        gone = {notification_id(h["hit_id"], "dead", "HIT") for h in hits}
        gone.add(notification_id(f"hit-{run}-1", "dead", "HIT_WITHDRAWN"))
        await notes.wait_for(lambda seen: gone <= {
            r.value["notification_id"] for r in seen if r.value["state"] == "FAILED"},
            within=60)
        failed = [r for r in notes.seen if r.value["state"] == "FAILED"
                  and r.value["notification_id"] in gone]
        assert all(r.value["attempts"] == 3 for r in failed)
        letters = await dead.wait_for(lambda seen: len([
            r for r in seen if r.key == b"dead" and r.headers.get("iom-dlq-service")
            == "notifications"]) >= 6)
        reasons = [r.headers["iom-dlq-reason"] for r in letters if r.key == b"dead"]
        assert all("gave up after 3 attempts" in reason for reason in reasons)

        # Fixed, then redelivered by command: each once, in order.
        await receivers["DEAD"].start()
        await redeliver.send(settings, "dead", "test")
        for _ in range(100):
            if len(receivers["DEAD"].deliveries) >= 6:
                break
            await asyncio.sleep(0.1)
        assert [d.key for d in receivers["DEAD"].deliveries] == [
            r.value["notification_id"] for r in failed]

        # A grade change to RED: police and housing, each with its own fields.
        grade = {"person_id": people[2], "rag": "RED", "previous_rag": "AMBER", "changed": True,
                 "static_score": 0.8, "reasons": ["confirmed GPS crime hit"],
                 "model_version": "ogrs3-1", "graded_at": testing.now(),
                 "cause_event_id": None, "p_one_year": 0.6, "static_band": "HIGH",
                 "force": force, "revision": 4}
        calm = dict(grade, person_id=people[3], rag="GREEN", previous_rag="AMBER")
        await testing.produce(settings, codec, topics.RISK_GRADES, [grade, calm])
        housing = receivers["PARTNER_HOUSING"]
        for _ in range(100):
            if housing.deliveries and police.deliveries[-1].body["kind"] == "GRADE_CHANGE":
                break
            await asyncio.sleep(0.1)
        assert [d.body["kind"] for d in housing.deliveries] == ["GRADE_CHANGE"]
        assert set(housing.deliveries[0].body["payload"]) == set(
            FIELDS["PARTNER_HOUSING"]["GRADE_CHANGE"])
        assert set(police.deliveries[-1].body["payload"]) == set(FIELDS["POLICE"]["GRADE_CHANGE"])
        assert housing.deliveries[0].body["source_id"] == f"{people[2]}#4"  # not the GREEN

        # Plan actions: the drug and alcohol service is told of its own agency's action by
        # webhook (its role's fields), not of another agency's; housing is not told of either.
        def action(n: int, agency: str) -> dict[str, Any]:
            return {"alert_id": f"act-{run}-{n}", "person_id": people[4],
                    "kind": "ACTION_ASSIGNED", "force": force, "lead_officer": "OM Jones",
                    "summary": f"new plan action for {agency}, due 2026-12-20",
                    "raised_at": testing.now(), "details": {
                        "action_id": f"a{n}", "partner_agency": agency, "due": "2026-12-20",
                        "pathway": "REHABILITATE_AND_RESETTLE"}}
        await testing.produce(settings, codec, topics.CASE_ALERTS, [
            action(1, "Solent Mind"), action(2, "inclusion  HAMPSHIRE")])
        drugs = receivers["DRUG_ALCOHOL"]
        for _ in range(100):
            if drugs.deliveries:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the other agency's would have come by now
        assert [d.body["source_id"] for d in drugs.deliveries] == [f"act-{run}-2"]
        assert set(drugs.deliveries[0].body["payload"]) == set(
            FIELDS["DRUG_ALCOHOL"]["ACTION_ASSIGNED"])
        assert drugs.refused == []
        assert [d.body["kind"] for d in housing.deliveries] == ["GRADE_CHANGE"]
    for receiver in receivers.values():
        await receiver.stop()
