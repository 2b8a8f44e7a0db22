"""The IOM lifecycle through the real broker: referral -> panel -> registration -> grade
change in the report -> transition -> de-registration; bad input refused with the field or
dead-lettered with the reason. Along the way the case records (#18 part 3): the panel's chair
and agencies, a note, a contact, MAP minutes with an action carried in the pack until closed
(all surviving a crash), a lead officer reassignment, the transition plan, and a manual
de-registration with its rationale."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from iomkit import testing, topics
from services.referrals.case.dossier import alert_id
from services.referrals.case.lifecycle import change_id
from services.referrals.case.panel import uk_local_date
from services.referrals.case.youth import add_months, birthday

pytestmark = pytest.mark.integration


def person(person_id: str, licence_end) -> dict[str, Any]:
    return {"person_id": person_id, "date_of_birth": datetime(1991, 3, 4).date(),
            "sex": "MALE", "force": "Hampshire", "under_statutory_supervision": True,
            "licence_end_date": licence_end, "first_sanction_date": datetime(2007, 1, 1).date(),
            "previous_sanctions": 14, "current_offence": "BURGLARY_DOMESTIC",
            "current_conviction_date": datetime(2026, 2, 1).date(),
            "mappa_level": None, "ppo": False, "rosh_level": None, "priority_flags": []}


def grade(person_id: str, rag: str, revision: int) -> dict[str, Any]:
    return {"person_id": person_id, "rag": rag, "previous_rag": "AMBER", "changed": True,
            "static_score": 0.81, "reasons": ["two missed appointments in 30 days"],
            "model_version": "test", "graded_at": testing.now(), "cause_event_id": None,
            "p_one_year": 0.6, "static_band": "HIGH", "force": "Hampshire",
            "revision": revision}


async def get_json(http: aiohttp.ClientSession, url: str) -> Any:
    """The view's JSON; {} while the person is not known yet (the stream is behind)."""
    async with http.get(url) as response:
        if response.status == 404:
            return {}
        assert response.status == 200, await response.text()
        return await response.json()


async def until(check, within: float = 30.0) -> Any:
    """Poll a view until ``check`` returns something truthy (the stream is asynchronous)."""
    import asyncio
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"not reached within {within}s")
        await asyncio.sleep(0.3)


def registered_directly(pid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A referral and its acceptance as agency systems and the panel would publish them."""
    at = testing.now()
    referral = {"referral_id": f"R-{pid}", "person_id": pid, "referring_agency": "Police",
                "referrer": "DC Rivers", "proposed_cohort": "FIXED",
                "reason": "prolific burglar; IOM grip needed", "urgent": False,
                "index_offence": "burglary", "submitted_at": at}
    decision = {"decision_id": f"D-{pid}", "referral_id": f"R-{pid}", "person_id": pid,
                "outcome": "ACCEPTED", "cohort": "FIXED", "pathway": "CATCH_AND_CONTROL",
                "lead_officer": "OM Kay", "rationale": "meets FIXED",
                "panel_date": at.date(), "decided_at": at, "chair": "Supt Hale",
                "agencies_present": ["Hampshire Police", "Probation"]}
    return referral, decision


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any],
               status: int = 202) -> Any:
    async with http.post(url, json=body) as response:
        assert response.status == status, await response.text()
        return await response.json()


def event(person_id: str, kind: str, event_id: str, offence: str | None = None,
          **details: str) -> dict[str, Any]:
    return {"event_id": event_id, "person_id": person_id, "type": kind,
            "occurred_at": testing.now(), "source_agency": "Hampshire Constabulary",
            "offence": offence, "details": details}


async def test_referral_to_deregistration(settings, codec, start_service, token) -> None:
    pid = f"P-LC-{uuid.uuid4().hex[:8]}"
    other = f"P-LC2-{uuid.uuid4().hex[:8]}"  # de-registered by hand
    arrested = f"P-ARR-{uuid.uuid4().hex[:8]}"  # not on IOM: selection at arrest
    licence_end = (testing.now() + timedelta(days=30)).date()  # inside the 8 weeks
    # Contract 1.1: a MAPPA-managed PPO with a RoSH level (issue 18 parts 2, 6).
    await testing.produce(settings, codec, topics.PEOPLE, [
        {**person(pid, licence_end), "mappa_level": "LEVEL_2", "ppo": True,
         "rosh_level": "HIGH"},
        person(other, licence_end), person(arrested, None)])
    referral, accepted = registered_directly(other)
    await testing.produce(settings, codec, topics.REFERRALS, [referral])
    # The risk service grades everyone it is told about; the panel reads that grade.
    await testing.produce(settings, codec, topics.RISK_GRADES, [
        grade(pid, "AMBER", 1), grade(arrested, "RED", 1)])
    # A victim's exclusion zone (keyed by zone id) reaches the person's dossier.
    zone_id = f"Z-V-{uuid.uuid4().hex[:8]}"
    square = [[50.91, -1.41], [50.91, -1.40], [50.90, -1.40], [50.90, -1.41], [50.91, -1.41]]
    await testing.produce(settings, codec, topics.EXCLUSION_ZONES, [{
        "zone_id": zone_id, "person_id": pid, "kind": "EXCLUSION", "polygon": square,
        "active_from": testing.now() - timedelta(days=1), "active_to": None, "version": 1,
        "victim_safety": True}])
    # One arrest delivered twice, and a short community sentence.
    arrest_id = uuid.uuid4().hex
    arrest = event(arrested, "ARRESTED", arrest_id, "ROBBERY")
    await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [
        arrest, arrest, event(arrested, "SENTENCED_COMMUNITY", uuid.uuid4().hex,
                              sentence_months="6")])
    service = start_service("referrals", IOM_REFERRALS_TICK_INTERVAL_S="1")
    base = f"http://127.0.0.1:{service.port}"
    async with (testing.Reader(settings, codec, topics.COHORT_CHANGES.name) as changes,
                testing.Reader(settings, codec, topics.CASE_ALERTS.name) as alerts,
                testing.Reader(settings, codec, topics.DEAD_LETTERS.name) as dead,
                testing.Reader(settings, codec, topics.CASE_RECORDS.name) as counted,
                aiohttp.ClientSession(headers=token("PROBATION", "Hampshire")) as http,
                ):
        body = {"person_id": pid, "referring_agency": "Probation", "referrer": "PO Patel",
                "proposed_cohort": "FIXED", "urgent": True, "index_offence": "burglary",
                "reason": "prolific burglar released to no fixed abode; needs the IOM grip"}
        async with http.post(f"{base}/referrals", json={**body, "proposed_cohort": "FIXD",
                                                         "reason": ""}) as response:
            assert response.status == 422
            fields = (await response.json())["fields"]
            assert {"proposed_cohort", "reason"} <= set(fields)
        async with http.post(f"{base}/referrals", json=body) as response:
            assert response.status == 201, await response.text()
            referral_id = (await response.json())["referral_id"]

        async def opened() -> Any:
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            return report if report.get("state") == "REFERRED" else None

        await until(opened)

        async def other_referred() -> Any:  # the decision follows its referral
            report = await get_json(http, f"{base}/people/{other}/report.json")
            return report.get("state") == "REFERRED"

        await until(other_referred)
        await testing.produce(settings, codec, topics.PANEL_DECISIONS, [accepted])
        async with http.post(f"{base}/referrals", json={**body, "referrer": "DC Shaw"}
                             ) as response:
            assert response.status == 409
            assert (await response.json())["existing"] == f"/referrals/{referral_id}"
        await alerts.wait_for(lambda seen: any(
            r.value and r.value["person_id"] == pid and r.value["kind"] == "URGENT_REFERRAL"
            for r in seen))

        async def on_agenda() -> Any:
            # The person's record and the referral come by different topics: the agenda
            # (which places a person by their force) shows the referral once both are in.
            agenda = await get_json(
                http, f"{base}/panel?force=Hampshire&format=json")
            return next((i for i in agenda.get("items", ())
                         if i["referral"]["referral_id"] == referral_id), None)

        item = await until(on_agenda)
        assert item["urgent"] and item["assessment"]["cohort"] == "FIXED"
        # MAPPA-managed: flagged to the panel, which decides (the item is decidable below).
        assert (item["flags"]["mappa_level"], item["flags"]["ppo"],
                item["flags"]["rosh_level"]) == ("LEVEL_2", True, "HIGH")
        async with http.get(f"{base}/panel?force=Hampshire") as response:
            page = await response.text()
        assert f'data-referral-id="{referral_id}"' in page
        assert 'data-mappa-level="LEVEL_2"' in page and "RoSH: high" in page

        # Selection at arrest: one candidate alert for the one arrest, id from its event id.
        def candidate(seen: list) -> list:
            return [r.value for r in seen if r.value and r.value["person_id"] == arrested
                    and r.value["kind"] == "ARREST_CANDIDATE"]

        raised = candidate(await alerts.wait_for(candidate))
        assert raised[0]["alert_id"] == alert_id(arrested, "ARREST_CANDIDATE", arrest_id)
        assert raised[0]["force"] == "Hampshire" and raised[0]["details"]["event_id"] == arrest_id

        async def signalled() -> Any:
            report = await get_json(http, f"{base}/people/{arrested}/report.json")
            return report if (report.get("selection") or {}).get("sentence") else None

        assert (await until(signalled))["selection"]["sentence"]["short"] is True

        async def protected() -> Any:
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            return (report.get("selection") or {}).get("victim_safety_zones")

        zones = await until(protected)
        assert [(z["zone_id"], z["active_now"]) for z in zones] == [(zone_id, True)]

        decision = {"referral_id": referral_id, "outcome": "ACCEPTED", "cohort": "FIXED",
                    "pathway": "CATCH_AND_CONTROL", "lead_officer": "OM Ada Jones",
                    "rationale": "accepted out of cycle: urgent", "chair": "Supt Hale",
                    "agencies_present": ["Hampshire Police", "Probation", "Housing"]}
        async with http.post(f"{base}/panel/decisions", json={**decision, "lead_officer": ""}
                             ) as response:
            assert response.status == 422
            assert "lead_officer" in (await response.json())["fields"]
        async with http.post(f"{base}/panel/decisions", json=decision) as response:
            assert response.status == 201, await response.text()

        def of_person(who: str, kind: str):
            return lambda seen: [r.value for r in seen
                                 if r.value and r.value["person_id"] == who
                                 and r.value["change"] == kind]

        def of(kind: str):
            return of_person(pid, kind)

        registered = (await changes.wait_for(of("REGISTERED")))
        assert of("REGISTERED")(registered)[0]["lead_officer"] == "OM Ada Jones"

        await testing.produce(settings, codec, topics.RISK_GRADES, [grade(pid, "RED", 7)])

        async def graded() -> Any:
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            return report if (report.get("grade") or {}).get("rag") == "RED" else None

        report = await until(graded)
        assert report["lead_officer"] == "OM Ada Jones"

        # The weekly MAP pack: on the cohort, RED first, a new registration and a new RED.
        pack = await get_json(http, f"{base}/map?force=Hampshire&format=json")
        force = next(f for f in pack["forces"] if f["force"] == "Hampshire")
        member = next(m for m in force["cohort"] if m["person_id"] == pid)
        assert member["rag"] == "RED" and member["lead_officer"] == "OM Ada Jones"
        assert force["cohort"].index(member) <= [m["rag"] for m in force["cohort"]].count("RED")
        assert pid in [r["person_id"] for r in force["changes"]["new_registrations"]]
        assert pid in [r["person_id"] for r in force["changes"]["new_reds"]]
        assert pid in [r["person_id"] for r in force["changes"]["licences_ending"]]

        # Case records: a note, a contact, the MAP meeting's minutes with an action.
        today = uk_local_date(testing.now())
        await post(http, f"{base}/people/{pid}/notes",
                   {"text": "says he has a job interview on Friday", "agency": "Probation"})
        await post(http, f"{base}/people/{pid}/contacts", {
            "contact_at": testing.now().isoformat(), "agency": "Southampton Housing",
            "method": "VISIT", "summary": "home visit, tenancy fine"})
        taken = await post(http, f"{base}/map/minutes", {
            "force": "Hampshire", "meeting_date": today.isoformat(), "chair": "DI Cole",
            "attendees": ["DI Cole (Police)", "PO Patel (Probation)"],
            "discussed": [{"person_id": pid, "summary": "RED: missed appointments"}],
            "actions": [{"person_id": pid, "description": "drug test this week",
                         "owner_agency": "Drug and Alcohol Service",
                         "due": (today + timedelta(days=7)).isoformat()}]})
        [action_id] = taken["actions"]
        refused = await post(http, f"{base}/map/minutes", {
            "force": "Hampshire", "meeting_date": today.isoformat(), "attendees": ["x"],
            "discussed": [pid], "actions": [{"person_id": "P-NOT-DISCUSSED",
                                             "description": "x", "owner_agency": "y",
                                             "due": today.isoformat()}]}, status=422)
        assert "actions[0].person_id" in refused["fields"]

        async def recorded() -> Any:
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            kept = report.get("records") or {}
            return report if kept.get("notes") and kept.get("contacts") and kept.get(
                "map_actions") else None

        await until(recorded)
        # counted for the management information: the agency and the day, not the text
        facts = await counted.wait_for(lambda seen: {"CONTACT_LOGGED", "MAP_ACTION_AGREED"} <= {
            r.value["kind"] for r in seen if r.value and r.value["person_id"] == pid})
        assert {"Southampton Housing", "Drug and Alcohol Service"} <= {
            r.value["agency"] for r in facts if r.value and r.value["person_id"] == pid}
        # The central team reads the report, never the notes or contacts.
        async with http.get(f"{base}/people/{pid}/report.json",
                            headers=token("CENTRAL", "Hampshire")) as response:
            central = (await response.json())["records"]
        assert "notes" not in central and "contacts" not in central
        assert central["decisions"][0]["chair"] == "Supt Hale"

        # A crash: a new worker on a new machine rebuilds every dossier from Kafka.
        service.kill()
        service = start_service("referrals", IOM_REFERRALS_TICK_INTERVAL_S="1")
        base = f"http://127.0.0.1:{service.port}"
        report = await until(graded)
        # (the one-second tick may already have opened the transition: both are on IOM)
        assert report["state"] in ("REGISTERED", "TRANSITION")
        assert report["lead_officer"] == "OM Ada Jones" and report["registered_on"]
        assert any(e["kind"] == "GRADE" and "RED" in e["summary"] for e in report["timeline"])
        assert report["review"]["interval_days"] == 14
        # the case records are rebuilt with the dossier
        kept = report["records"]
        assert kept["notes"][0]["text"] == "says he has a job interview on Friday"
        assert kept["contacts"][0]["method"] == "VISIT"
        assert kept["decisions"][0]["agencies_present"] == ["Hampshire Police", "Probation",
                                                            "Housing"]
        pack = await get_json(http, f"{base}/map?force=Hampshire&format=json")
        carried = next(f for f in pack["forces"] if f["force"] == "Hampshire")["open_actions"]
        assert action_id in [a["action_id"] for a in carried]
        minutes = await get_json(http, f"{base}/map/minutes?force=Hampshire&format=json")
        assert minutes["chair"] == "DI Cole" and pid in [
            p["person_id"] for p in minutes["discussed"]]

        # The lead officer is reassigned, with the reason, and it is published.
        await post(http, f"{base}/people/{pid}/lead-officer",
                   {"lead_officer": "OM Ben Ode", "reason": "OM Jones moves to the courts"})
        await changes.wait_for(of("LEAD_OFFICER_CHANGED"))
        [moved] = of("LEAD_OFFICER_CHANGED")(changes.seen)
        assert moved["lead_officer"] == "OM Ben Ode" and "courts" in moved["reason"]

        # The licence ends within 8 weeks: the next tick opens the transition plan.
        await changes.wait_for(of("TRANSITION_STARTED"))
        await alerts.wait_for(lambda seen: any(
            r.value and r.value["person_id"] == pid and r.value["kind"] == "TRANSITION_OPENED"
            for r in seen))
        # The transition plan: weekly now, monthly from the licence's last day.
        await post(http, f"{base}/people/{pid}/transition/plan", {"steps": [
            {"from": today.isoformat(), "action": "weekly appointments", "who": "OM Ben Ode",
             "contact": "WEEKLY"},
            {"from": licence_end.isoformat(), "action": "community support",
             "who": "Drug and Alcohol Service", "contact": "MONTHLY"}]})
        bad = await post(http, f"{base}/people/{pid}/transition/plan", {"steps": [
            {"from": today.isoformat(), "action": "a", "who": "b", "contact": "MONTHLY"},
            {"from": licence_end.isoformat(), "action": "a", "who": "b",
             "contact": "DAILY"}]}, status=422)
        assert "steps[1].contact" in bad["fields"]
        await post(http, f"{base}/people/{pid}/map/actions/{action_id}/close",
                   {"outcome": "tested negative"})

        async def planned() -> Any:
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            kept = report.get("records") or {}
            plan, actions = kept.get("transition_plan"), kept.get("map_actions") or [{}]
            return report if plan and actions[0].get("closed_on") else None

        report = await until(planned)
        assert report["records"]["transition_plan"]["current_step"]["contact"] == "WEEKLY"
        assert report["lead_officer"] == "OM Ben Ode"
        pack = await get_json(http, f"{base}/map?force=Hampshire&format=json")
        assert action_id not in [a["action_id"] for f in pack["forces"]
                                 for a in f["open_actions"]]

        # The other person is de-registered by hand, with the rationale; once.
        why = {"rationale": "moved to Scotland; managed there from now on"}
        await post(http, f"{base}/people/{other}/deregistration", why)
        gone = await changes.wait_for(of_person(other, "DEREGISTERED"))
        assert why["rationale"] in of_person(other, "DEREGISTERED")(gone)[0]["reason"]

        async def other_closed() -> Any:
            report = await get_json(http, f"{base}/people/{other}/report.json")
            return report if report.get("state") == "DEREGISTERED" else None

        closed_by_hand = await until(other_closed)
        assert closed_by_hand["records"]["deregistration"]["rationale"] == why["rationale"]
        again = await post(http, f"{base}/people/{other}/deregistration", why, status=200)
        assert again["status"] == "already de-registered"

        # A decision about a referral the person never had: dead-lettered with the reason.
        stray = {"decision_id": uuid.uuid4().hex, "referral_id": "R-NOPE", "person_id": pid,
                 "outcome": "REJECTED", "cohort": "FIXED", "pathway": None,
                 "lead_officer": None, "rationale": "x",
                 "panel_date": testing.now().date(), "decided_at": testing.now(),
                 "chair": None, "agencies_present": []}
        await testing.produce(settings, codec, topics.PANEL_DECISIONS, [stray])
        letters = await dead.wait_for(lambda seen: [
            r for r in seen if "R-NOPE" in r.headers.get("iom-dlq-reason", "")])
        assert letters

        ended = {"event_id": uuid.uuid4().hex, "person_id": pid, "type": "LICENCE_ENDED",
                 "occurred_at": testing.now(), "source_agency": "Probation",
                 "offence": None, "details": {"rationale": "licence completed"}}
        await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [ended])
        await changes.wait_for(of("DEREGISTERED"))

        async def closed() -> Any:
            report = await get_json(http, f"{base}/people/{pid}/report.json")
            return report if report.get("state") == "DEREGISTERED" else None

        report = await until(closed)
        assert "licence completed" in report["deregistration_rationale"]
        transitions = of("TRANSITION_STARTED")(changes.seen)
        assert len(transitions) == 1, "the tick must open the transition once"
        mine = [r.value for r in changes.seen if r.value and r.value["person_id"] == pid]
        assert mine and all(c["change_id"] == change_id(c) for c in mine)
        # The arrest delivered twice (and read again after the crash) raised one alert.
        assert {a["alert_id"] for a in candidate(alerts.seen)} == {raised[0]["alert_id"]}


async def test_a_youth_at_17y7m_is_on_the_transfer_candidate_list(
    settings, codec, start_service, token
) -> None:
    pid = f"P-YOT-{uuid.uuid4().hex[:8]}"
    today = testing.now().date()
    born = add_months(today, -18 * 12) + timedelta(days=150)  # about 17y7m
    order_end = add_months(born, 19 * 12)
    young = {**person(pid, None), "date_of_birth": born, "under_statutory_supervision": True}
    sentenced = {"event_id": uuid.uuid4().hex, "person_id": pid, "type": "SENTENCED_COMMUNITY",
                 "occurred_at": testing.now(), "source_agency": "YOT", "offence": None,
                 "details": {"order_type": "YOUTH_REHABILITATION_ORDER",
                             "order_end_date": order_end.isoformat(),
                             "management_passed_to_probation": "true"}}
    await testing.produce(settings, codec, topics.PEOPLE, [young])
    await testing.produce(settings, codec, topics.OFFENDER_EVENTS, [sentenced])
    service = start_service("referrals", IOM_REFERRALS_TICK_INTERVAL_S="1")
    async with (testing.Reader(settings, codec, topics.CASE_ALERTS.name) as alerts,
                aiohttp.ClientSession(headers=token("PROBATION", "Hampshire")) as http,
                ):
        found = await alerts.wait_for(lambda seen: [
            r.value for r in seen
            if r.value and r.value["person_id"] == pid
            and r.value["kind"] == "YOUTH_TRANSFER_CANDIDATE"])
        alert = next(r.value for r in found if r.value["person_id"] == pid)
        takeover = alert["details"]["takeover_on"]
        assert takeover == birthday(born, 18).isoformat()
        listing = await get_json(
            http, f"http://127.0.0.1:{service.port}/youth-transfer?date={today.isoformat()}")
        assert pid in [c["person_id"] for c in listing["candidates"]]
