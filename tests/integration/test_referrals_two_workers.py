"""Two referrals workers: each holds half the dossiers, and either answers for anyone.
A request about a person reaching the worker that does not hold them is forwarded whole to
the one that does (iomkit.routing), GET and POST alike, and answered as if sent there; a
list (the panel agenda, a referral found by its id, a panel decision's referral) gathers
every worker's part (iomkit.Service.gather)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from iomkit import testing, topics
from iomkit.identity.keys import peer_secret
from iomkit.processes import all_healthy
from iomkit.routing import FORWARDED, GATHER, gather_proof
from services.referrals.case import panel
from tests.integration.test_referrals_lifecycle import person, until

pytestmark = pytest.mark.integration
PEOPLE = 12


async def status_of(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> int:
    async with http.get(url, **kwargs) as response:
        return response.status


async def test_either_worker_answers_for_anyone_get_and_post(
        settings, codec, start_service, token, identity_dir) -> None:
    run = uuid.uuid4().hex[:6]
    pids = [f"P-RT-{run}-{i}" for i in range(PEOPLE)]
    licence_end = (testing.now() + timedelta(days=200)).date()
    await testing.produce(settings, codec, topics.PEOPLE, [person(p, licence_end) for p in pids])
    env = {"IOM_SESSION_TIMEOUT_S": "6"}
    workers = [start_service("referrals", healthy=False, **env) for _ in range(2)]
    all_healthy(workers)
    bases = [f"http://127.0.0.1:{w.port}" for w in workers]
    await until(lambda: asyncio.to_thread(lambda: all(w.healthy() for w in workers)), 60)

    async with aiohttp.ClientSession(headers=token("PROBATION", "Hampshire")) as http:
        referrals = {}
        for pid in pids:  # referred through one worker's form: any worker publishes
            body = {"person_id": pid, "referring_agency": "Probation", "referrer": "PO Patel",
                    "proposed_cohort": "FIXED", "urgent": True, "index_offence": "burglary",
                    "reason": "prolific burglar released to no fixed abode; needs the IOM grip"}
            async with http.post(f"{bases[0]}/referrals", json=body) as response:
                assert response.status == 201, await response.text()
                referrals[pid] = {**body, "referral_id": (await response.json())["referral_id"]}

        async def state(base: str, pid: str, **kwargs: Any) -> str | None:
            async with http.get(f"{base}/people/{pid}/report.json", **kwargs) as response:
                return (await response.json()).get("state") if response.status == 200 else None

        async def everyone_referred_on_both() -> bool:
            return all([await state(b, p) == "REFERRED" for b in bases for p in pids])
        await until(everyone_referred_on_both, 90)

        # Asked not to forward, each worker answers from its own table alone: the people it
        # does not hold are unknown to it, or as it last held them before the second worker
        # took their partition (no referral yet): so answers above came from the owner.
        local = {b: {p for p in pids if await state(b, p, headers={FORWARDED: "1"})
                     == "REFERRED"} for b in bases}
        assert local[bases[0]] != set(pids) and local[bases[1]] != set(pids), local
        assert local[bases[0]] | local[bases[1]] == set(pids)
        held = {bases[1]: set(pids) - local[bases[0]]}

        # Lists gather every worker's part: the panel agenda through either worker lists
        # every referral, where one worker's own part (asked as a peer is) leaves some out.
        agenda = "/panel?force=Hampshire&format=json"

        async def listed(base: str, **kwargs: Any) -> set[str]:
            async with http.get(f"{base}{agenda}", **kwargs) as response:
                assert response.status == 200, await response.text()
                text = await response.text()
            return {p for p in pids if referrals[p]["referral_id"] in text}

        async def listed_on_both() -> bool:
            return all([await listed(b) == set(pids) for b in bases])
        await until(listed_on_both, 60)
        # One worker's own part, asked as a peer asks (with the proof only workers can make)
        # leaves some out; asked with the header and no proof, it is refused.
        own = {GATHER: gather_proof(peer_secret(identity_dir), "GET", agenda,
                                    {"Authorization": http.headers["Authorization"]})}
        assert await listed(bases[0], headers=own) == local[bases[0]]
        async with http.get(f"{bases[0]}{agenda}", headers={GATHER: "1"}) as response:
            assert response.status == 403, await response.text()
        other = sorted(held[bases[1]])[-1]  # a referral found by its id on the other worker
        async with http.get(f"{bases[0]}/referrals/{referrals[other]['referral_id']}"
                            ) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["person_id"] == other
        # A panel decision posted to the worker that does not hold the referral finds it.
        decision = {"referral_id": referrals[other]["referral_id"], "outcome": "ACCEPTED",
                    "cohort": "FIXED", "pathway": "CATCH_AND_CONTROL",
                    "lead_officer": "OM Ada Jones", "rationale": "accepted out of cycle"}
        async with http.post(f"{bases[0]}/panel/decisions", json=decision) as response:
            assert response.status == 201, await response.text()

        # A POST with a body to the worker that does not hold the person: before the panel
        # the owner's own refusal comes back (the other has no dossier to refuse on).
        pid = sorted(held[bases[1]])[0]
        review = {"supervisor": "SPO Grant", "finding": "contacts weekly; plan matches risk"}
        async with http.post(f"{bases[0]}/people/{pid}/reviews", json=review) as response:
            assert response.status == 409, await response.text()
            assert "not on IOM" in (await response.json())["error"]

        # Registered by the panel, the review is recorded through either worker.
        decided = testing.now()
        decision = panel.decide(
            referrals[pid], outcome="ACCEPTED",
            panel_date=panel.uk_local_date(decided), decided_at=decided, cohort="FIXED",
            pathway="CATCH_AND_CONTROL", lead_officer="OM Jones").decision
        await testing.produce(settings, codec, topics.PANEL_DECISIONS, [decision])

        async def registered() -> bool:
            async with http.get(f"{bases[0]}/people/{pid}/report.json") as response:
                return (await response.json()).get("state") == "REGISTERED"
        await until(registered, 60)
        async with http.post(f"{bases[0]}/people/{pid}/reviews", json=review) as response:
            assert response.status == 202, await response.text()

        async def reviewed() -> bool:
            async with http.get(f"{bases[1]}/people/{pid}/report") as response:
                return response.status == 200 and "SPO Grant" in await response.text()
        await until(reviewed, 60)

        async def registered_other() -> bool:
            async with http.get(f"{bases[0]}/people/{other}/report.json") as response:
                return (await response.json()).get("state") == "REGISTERED"
        await until(registered_other, 60)

        # A stranger is refused by the first worker, never forwarded nor gathered for.
        async with aiohttp.ClientSession() as stranger:
            assert await status_of(stranger, f"{bases[0]}/people/{pid}/report.json") == 401
            assert await status_of(stranger, f"{bases[0]}{agenda}") == 401
            assert await status_of(stranger, f"{bases[0]}{agenda}", headers={GATHER: "1"}) \
                == 401
