"""Through the gate on the real broker: reception -> needs assessment -> plan agreed ->
release date set -> checklist opens -> release -> handover notification -> grade rises ->
plan review due at once; bad input refused with the field or dead-lettered."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from iomkit import testing, topics
from tests.browser import ARTEFACTS, chromium, signed_in
from tests.integration.test_referrals_lifecycle import get_json, grade, person, until

pytestmark = pytest.mark.integration
OM = "OM Sam Lee"


def event(pid: str, kind: str, at: datetime, **details: str) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "person_id": pid, "type": kind, "occurred_at": at,
            "source_agency": "HMP Winchester", "offence": None, "details": details}


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()


async def register(http: aiohttp.ClientSession, base: str, pid: str) -> None:
    status, answer = await post(http, f"{base}/referrals", {
        "person_id": pid, "referring_agency": "HMP Winchester", "referrer": "OMU Clarke",
        "proposed_cohort": "FIXED", "urgent": True, "index_offence": "burglary",
        "reason": "prolific burglar due for release; through-the-gate support needed"})
    assert status == 201, answer

    async def referred() -> Any:
        return (await get_json(http, f"{base}/people/{pid}/report.json")).get("state")

    await until(referred)
    status, answer = await post(http, f"{base}/panel/decisions", {
        "referral_id": answer["referral_id"], "outcome": "ACCEPTED", "cohort": "FIXED",
        "pathway": "REHABILITATE_AND_RESETTLE", "lead_officer": OM,
        "rationale": "accepted ahead of release"})
    assert status == 201, answer

    async def registered() -> Any:
        report = await get_json(http, f"{base}/people/{pid}/report.json")
        return report.get("state") == "REGISTERED"

    await until(registered)


async def test_reception_to_release_handover_and_plan_review(settings, codec, start_service,
                                                             token):
    pid = f"P-TTG-{uuid.uuid4().hex[:8]}"
    now = testing.now()
    await testing.produce(settings, codec, topics.PEOPLE, [person(pid, None)])
    await testing.produce(settings, codec, topics.RISK_GRADES, [grade(pid, "AMBER", 1)])
    service = start_service("referrals", IOM_REFERRALS_TICK_INTERVAL_S="1")
    base = f"http://127.0.0.1:{service.port}"
    async with (testing.Reader(settings, codec, topics.CASE_ALERTS.name) as alerts,
                testing.Reader(settings, codec, topics.DEAD_LETTERS.name) as dead,
                aiohttp.ClientSession(headers=token("PROBATION", "Hampshire")) as http,
                ):
        def alert(kind: str):
            return lambda seen: [r.value for r in seen
                                 if r.value["person_id"] == pid and r.value["kind"] == kind]

        await register(http, base, pid)
        await testing.produce(settings, codec, topics.OFFENDER_EVENTS,
                              [event(pid, "PRISON_RECEPTION", now - timedelta(days=60))])

        status, answer = await post(http, f"{base}/people/{pid}/needs", {
            "assessed_by": "OMU Clarke", "needs": {"HOUSING": {"level": "SEVERE",
                                                               "evidence": "x"}}})
        assert status == 422 and "needs.HOUSING" in answer["fields"]
        status, answer = await post(http, f"{base}/people/{pid}/needs", {
            "assessed_by": "OMU Clarke", "needs": {
                "ACCOMMODATION": {"level": "SEVERE", "evidence": "no address on release"},
                "ALCOHOL_DRUGS": {"level": "SOME", "evidence": "opiate use before custody"}}})
        assert status == 202, answer

        action = {"need": "ACCOMMODATION", "pathway": "REHABILITATE_AND_RESETTLE",
                  "partner_agency": "Southampton housing", "due": (now + timedelta(
                      days=14)).date().isoformat(), "description": "supported housing place"}
        status, answer = await post(http, f"{base}/people/{pid}/plan/actions", action)
        assert status == 422 and "agreed_by" in answer["fields"]  # no agreement, no action
        status, answer = await post(http, f"{base}/people/{pid}/plan/actions",
                                    {**action, "agreed_by": OM})
        assert status == 202, answer
        # counted by others (insights) as a case record: the agency and due day, no text
        async with testing.Reader(settings, codec, topics.CASE_RECORDS.name) as records:
            [agreed] = [r.value for r in await records.wait_for(lambda seen: [
                r for r in seen if r.value and r.value["person_id"] == pid])
                if r.value["person_id"] == pid]
        assert (agreed["kind"], agreed["agency"], agreed["due_on"].isoformat()) == (
            "PLAN_ACTION_AGREED", "Southampton housing", action["due"])
        assert "supported housing" not in str(agreed)
        # the agency is told, not only shown a page (notifications routes it by agency)
        [assigned] = alert("ACTION_ASSIGNED")(await alerts.wait_for(alert("ACTION_ASSIGNED")))
        assert assigned["details"]["partner_agency"] == "Southampton housing"
        assert assigned["details"]["due"] == action["due"]

        # A release date before the reception: dead-lettered with the field and reason.
        await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [event(
            pid, "RELEASE_DATE_SET", now,
            release_date=(now - timedelta(days=90)).date().isoformat())])
        await dead.wait_for(lambda seen: [r for r in seen if "release_date" in r.headers.get(
            "iom-dlq-reason", "") and pid.encode() == r.key])

        release_on = (now + timedelta(days=20)).date()  # inside the 12 weeks: opens at once
        await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [event(
            pid, "RELEASE_DATE_SET", now, release_date=release_on.isoformat())])
        opened = alert("CHECKLIST_OPENED")(await alerts.wait_for(alert("CHECKLIST_OPENED")))
        assert "GP_REGISTRATION" in opened[0]["details"]["items"]

        async def checklist_open() -> Any:  # the alert is published just before the write
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            return ((report.get("care") or {}).get("gate") or {}).get("checklist")

        await until(checklist_open)
        status, answer = await post(http, f"{base}/people/{pid}/checklist/GP_REGISTRATION",
                                    {"status": "DONE", "by": "prison healthcare"})
        assert status == 202, answer

        async def gp_done() -> Any:
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            items = ((report.get("care") or {}).get("gate") or {}).get("checklist") or {}
            return items.get("items", {}).get("GP_REGISTRATION", {}).get("status") == "DONE"

        await until(gp_done)
        # Released 25 hours ago on a burglar's licence (a tag is required): no tag yet.
        released_at = now - timedelta(hours=25)
        await testing.produce(settings, codec, topics.OFFENDER_EVENTS,
                              [event(pid, "RELEASED_ON_LICENCE", released_at,
                                     licence_end_date=(now + timedelta(days=300)).date()
                                     .isoformat())])
        handover = alert("RELEASE_HANDOVER")(await alerts.wait_for(alert("RELEASE_HANDOVER")))
        assert len(handover) == 1 and handover[0]["lead_officer"] == OM
        payload = json.loads(handover[0]["details"]["handover"])
        assert payload["needs"]["ACCOMMODATION"]["level"] == "SEVERE"
        assert [a["description"] for a in payload["open_actions"]] == ["supported housing place"]
        assert payload["risk_grade"]["rag"] == "AMBER"
        unready = alert("RELEASE_ITEMS_UNREADY")(
            await alerts.wait_for(alert("RELEASE_ITEMS_UNREADY")))
        assert "ACCOMMODATION" in unready[0]["details"]["unready_items"]
        assert "GP_REGISTRATION" not in unready[0]["details"]["unready_items"]

        # Tag orders: not fitted within 24 hours of release; then a tag fitted for 400 days,
        # past the licence end (300 days) and the 12-month maximum.
        [late] = alert("TAG_NOT_FITTED")(await alerts.wait_for(alert("TAG_NOT_FITTED")))
        assert late["details"]["hours"] == "24" and late["lead_officer"] == OM
        await testing.produce(settings, codec, topics.TAG_ENROLMENTS, [{
            "enrolment_id": f"ENR-{pid}", "device_id": f"TAG-{pid}", "person_id": pid,
            "status": "FITTED", "effective_at": now - timedelta(hours=1),
            "monitoring_ends_at": now + timedelta(days=400)}])
        for kind in ("TAG_BEYOND_LICENCE", "TAG_BEYOND_MAXIMUM"):
            [found] = alert(kind)(await alerts.wait_for(alert(kind)))
            assert found["details"]["enrolment_id"] == f"ENR-{pid}"
        assert len(alert("TAG_NOT_FITTED")(alerts.seen)) == 1  # once, whatever the ticks

        await testing.produce(settings, codec, topics.RISK_GRADES, [
            {**grade(pid, "RED", 2), "previous_rag": "AMBER"}])
        review = alert("PLAN_REVIEW_DUE")(await alerts.wait_for(alert("PLAN_REVIEW_DUE")))
        assert review[0]["details"]["rag"] == "RED"

        await testing.produce(settings, codec, topics.OFFENDER_EVENTS,
                              [event(pid, "SELF_HARM_REPORTED", now)])
        sash = alert("SASH")(await alerts.wait_for(alert("SASH")))
        assert sash[0]["lead_officer"] == OM

        # The report page and the partner's "my actions" page, in Chromium.
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        async with chromium() as browser:
            officer = await browser.new_context()
            await officer.add_cookies([signed_in(base, token("PROBATION", "Hampshire"))])
            page = await officer.new_page()
            await page.goto(f"{base}/people/{pid}/report")
            assert "SEVERE" in await page.inner_text("[data-need=ACCOMMODATION]")
            assert "supported housing place" in await page.inner_text("#plan")
            assert "DONE" in await page.inner_text("[data-item=GP_REGISTRATION] .status")
            assert await page.locator("#sash").count() == 1
            await page.screenshot(path=str(ARTEFACTS / "referrals-throughcare.png"),
                                  full_page=True)
            # The partner signs in as themselves: their own actions, and nothing else.
            partner = await browser.new_context()
            await partner.add_cookies([signed_in(base, token(
                "PARTNER_HOUSING", "Hampshire", agency="Southampton Housing"))])
            page = await partner.new_page()
            await page.goto(f"{base}/agencies/Southampton housing/actions")
            assert pid in await page.inner_text("#actions")
            assert "supported housing place" in await page.inner_text("#actions")
            refused = await page.goto(f"{base}/people/{pid}/report")
            assert refused is not None and refused.status == 403
            refused = await page.goto(f"{base}/agencies/Probation/actions")
            assert refused is not None and refused.status == 403
