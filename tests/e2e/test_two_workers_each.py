"""The whole system with two workers of every service, one worker of each SIGKILLed midway
(a worker lost, as in a rolling restart gone wrong): referrals, grades, hits and police
notifications all come out exactly as with no fault. Nothing is lost and nothing differs;
a replayed output is the same as the first (same id, same content).

Referrals and grades are compared with a control run of the same inputs for other people
on the same workers before the kill; hits with the independent matcher; notifications with
the hits published (each delivered to police once, by idempotency key)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from iomkit import testing, topics
from iomkit.processes import ServiceProcess, all_healthy, free_port
from services.gps_stream.trail import epoch_ms
from services.notifications.receiver import Receiver
from services.notifications.routing import notification_id
from tests.faults import test_referrals_kill as referrals
from tests.faults import test_risk_kill as risk
from tests.integration.test_gps_restart import expected_hits, publish, scenario
from tests.integration.test_notifications_delivery import fast_retries, person
from tests.integration.test_notifications_restart import subscriptions, wait_until

pytestmark = pytest.mark.e2e
SERVICES = ("referrals", "risk", "gps_stream", "notifications")
REFERRED, GRADED = 200, 1500
DEVICES, FIXES, CRIMES = 60, 300, 20
SECRET = "police-secret-two-of-each-0123456"


async def refer_and_decide(settings: Any, codec: Any, prefix: str,
                           alerts: testing.Reader) -> None:
    """People and their referrals, read before any decision on them (a decision before its
    referral is refused), then the panel's decisions. (``prefix`` is not the one graded:
    each person here is in one story only.)"""
    people, referred, decisions = referrals.inputs(codec, prefix, REFERRED)
    await testing.produce_many(settings, codec, *people)
    await testing.produce_many(settings, codec, *referred)
    await wait_until(lambda: len(referrals.outputs(alerts.seen, prefix, "alert_id"))
                     == REFERRED, 120, "an alert for every referral")
    await testing.produce_many(settings, codec, *decisions)


async def grade(settings: Any, codec: Any, prefix: str) -> None:
    people, events = risk.inputs(codec, prefix, GRADED)
    await testing.produce_many(settings, codec, topics.PEOPLE, people)
    await testing.produce_many(settings, codec, topics.OFFENDER_EVENTS, events)


def latest_fixes(published: list[dict[str, Any]]) -> dict[str, set[int]]:
    """hit_id -> the fixes of its latest revision, for the hits active at it."""
    latest: dict[str, dict[str, Any]] = {}
    for hit in published:
        if hit["revision"] >= latest.get(hit["hit_id"], {"revision": 0})["revision"]:
            latest[hit["hit_id"]] = hit
    return {hid: {epoch_ms(f["recorded_at"]) for f in hit["fixes"]}
            for hid, hit in latest.items() if hit["status"] == "ACTIVE"}


async def kill_when(worker: ServiceProcess, started: Callable[[], int], expected: int,
                    what: str) -> tuple[str, int, int, float]:
    """SIGKILL the worker once the first of its service's outputs is out; how many were,
    and when."""
    await wait_until(lambda: started() > 0, 120, f"the first {what}")
    # Killed off the loop, then a moment for the loop to take in what the worker sent
    # before it died: a webhook it posted would otherwise be received after the time the
    # kill is stamped with (the loop was blocked) and, sent again by the survivor (it was
    # never recorded), be counted a duplicate of two live workers. (This test failed so.)
    await asyncio.to_thread(worker.kill)
    out = started()
    await asyncio.sleep(0.5)
    return what, out, expected, time.time()


async def test_two_workers_of_every_service_one_of_each_killed_midway(
        settings, codec, start_service, tmp_path):
    run = uuid.uuid4().hex[:6]
    force = f"Twoeachshire {run}"
    police = Receiver(SECRET, free_port())
    await police.start()
    env = {"IOM_SESSION_TIMEOUT_S": "6"}  # a lost worker's partitions move on sooner
    notify = {**env, "TEST_SECRET_POLICE": SECRET, **fast_retries(
        subscriptions(tmp_path / "s.toml", force, {"police": police.port}), force, 100)}
    workers = {name: [start_service(name, healthy=False,
                                    **(notify if name == "notifications" else env))
                      for _ in range(2)] for name in SERVICES}
    all_healthy(w for pair in workers.values() for w in pair)

    async with (testing.Reader(settings, codec, topics.COHORT_CHANGES.name) as changes,
                testing.Reader(settings, codec, topics.CASE_ALERTS.name) as alerts,
                testing.Reader(settings, codec, topics.RISK_GRADES.name) as grades,
                testing.Reader(settings, codec, topics.GPS_HITS.name) as hits):
        readers = (changes, alerts, grades, hits)

        async def follow_all() -> None:
            """The one poller of the readers (a consumer is not read from two tasks): the
            waits below look at what it has seen."""
            while True:
                await asyncio.gather(*(r.poll() for r in readers))
                await asyncio.sleep(0.05)

        following = asyncio.create_task(follow_all())
        try:
            # Control: the same inputs with every worker alive give what each person must get.
            control, graded = f"TCR{run}", f"TCG{run}"
            await asyncio.gather(refer_and_decide(settings, codec, control, alerts),
                                 grade(settings, codec, graded))
            await wait_until(lambda: len(referrals.outputs(changes.seen, control, "change_id"))
                             == REFERRED and len(risk.grades_by_person(grades.seen, graded))
                             == GRADED, 120, "the control run's changes and grades")
            await asyncio.sleep(3.0)  # anything later or twice would be out by now
            expected_changes = referrals.shape(referrals.outputs(changes.seen, control,
                                                                 "change_id"))
            expected_alerts = referrals.shape(referrals.outputs(alerts.seen, control,
                                                                "alert_id"))
            expected_grades = risk.grades_by_person(grades.seen, graded)

            # The fault run: the same again for other people, tagged people and crimes on
            # their trails, and one worker of each service killed once its outputs start.
            fault, graded = f"TFR{run}", f"TFG{run}"
            pings, enrolments, crimes = scenario(run, testing.now(), DEVICES, FIXES, CRIMES)
            oracle = expected_hits(pings, enrolments, crimes)
            assert len(oracle) >= 10  # the scenario really has hits to find

            def ours() -> list[dict[str, Any]]:
                return [r.value for r in hits.seen if r.value and f"/{run}/" in
                        r.value["crime_ref"] and r.value["person_id"].startswith(f"P-{run}-")]

            tagged = [person(codec, e["person_id"], force) for e in enrolments]
            await testing.produce_many(settings, codec, topics.PEOPLE, tagged)
            await publish(settings, codec, topics.CRIMES_REPORTED, crimes)
            await publish(settings, codec, topics.TAG_ENROLMENTS, enrolments)
            killed = asyncio.gather(
                kill_when(workers["referrals"][0], lambda: len(referrals.outputs(
                    changes.seen, fault, "change_id")), REFERRED, "cohort changes"),
                kill_when(workers["risk"][0], lambda: risk.total(risk.grades_by_person(
                    grades.seen, graded)), risk.total(expected_grades), "grades"),
                kill_when(workers["gps_stream"][0], lambda: len({h["hit_id"] for h in ours()}),
                          len(oracle), "hits"),
                kill_when(workers["notifications"][0], lambda: len(police.deliveries),
                          len(oracle), "police notifications"))
            await asyncio.gather(refer_and_decide(settings, codec, fault, alerts),
                                 grade(settings, codec, graded),
                                 publish(settings, codec, topics.TAG_PINGS, pings))
            at_kill = await killed
            killed_at = at_kill[-1][-1]  # the notifications worker's

            def missing() -> dict[str, tuple[int, int]]:
                """Each service's outputs still to come: (seen, expected)."""
                counts = {
                    "cohort changes": (len(referrals.outputs(changes.seen, fault, "change_id")),
                                       REFERRED),
                    "grades": (risk.total(risk.grades_by_person(grades.seen, graded)),
                               risk.total(expected_grades)),
                    "hits as the matcher has them": (
                        sum(latest_fixes(ours()).get(hid) == fixes
                            for hid, fixes in oracle.items()), len(oracle)),
                    "police notifications": (len(police.deliveries), len(oracle))}
                return {what: n for what, n in counts.items() if n[0] < n[1]}

            try:
                await wait_until(lambda: not missing(), 180, "every output of the fault run")
            except AssertionError:
                raise AssertionError(f"still missing (seen, expected): {missing()}; "
                                     f"at each kill: {at_kill}") from None
            await asyncio.sleep(5.0)  # anything sent twice would be out by now
        finally:
            following.cancel()

    # Each service lost a worker while it still had work to do, ...
    assert [what for what, out, expected, _ in at_kill if out >= expected] == [], at_kill
    # ... and its survivor did the rest: the same outputs as with no fault, none twice.
    assert referrals.shape(referrals.outputs(changes.seen, fault, "change_id")) \
        == expected_changes
    assert referrals.shape(referrals.outputs(alerts.seen, fault, "alert_id")) == expected_alerts
    assert risk.grades_by_person(grades.seen, graded) == expected_grades

    published = ours()
    pairs = [(h["hit_id"], h["revision"]) for h in published]
    assert len(pairs) == len(set(pairs)), "a hit_id was published twice at one revision"
    assert latest_fixes(published) == oracle

    assert {d.key for d in police.deliveries} == {
        notification_id(hid, "police", "HIT") for hid in {h["hit_id"] for h in published}}
    # Sent again only what the lost worker had sent and not yet recorded as delivered when
    # it died (the recipient deduplicates by key): nothing sent by two live workers.
    first = {d.key: d.at for d in police.deliveries}
    assert [key for key in police.repeated if first[key] > killed_at] == [], \
        "police were sent a notification twice after the kill"
    assert police.refused == []
    for name in SERVICES:
        assert workers[name][1].healthy(), f"the surviving {name} worker"
    await police.stop()

