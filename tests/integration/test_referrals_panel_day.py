"""A routine referral made the day before a panel, on the panel day and the day after, with
the referrals worker's clock set to that day: the agenda, its page and the MAP pack place it
at the sitting the rule gives (services/referrals/README.md, "Panel days")."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from iomkit import testing, topics
from services.referrals.case import panel
from tests.integration.test_referrals_lifecycle import get_json, grade, person, until

pytestmark = pytest.mark.integration
RULE = "first Tuesday"  # the default for every force


@pytest.mark.parametrize("shift", [-1, 0, 1], ids=["day-before", "panel-day", "day-after"])
async def test_a_routine_referral_is_on_the_agenda_of_its_sitting(
    settings, codec, start_service, token, shift: int
) -> None:
    panel_day = panel.next_panel(RULE, testing.now().date())
    today = panel_day + timedelta(days=shift)
    at = datetime.combine(today, time(10, 0), ZoneInfo("Europe/London"))
    following = panel.next_panel(RULE, panel_day)
    due = panel_day if shift < 0 else following  # made on the panel day: the next sitting

    pid = f"P-PD-{uuid.uuid4().hex[:8]}"
    await testing.produce(settings, codec, topics.PEOPLE, [person(pid, None)])
    await testing.produce(settings, codec, topics.RISK_GRADES, [grade(pid, "AMBER", 1)])
    service = start_service("referrals", IOM_CLOCK_OFFSET_S=testing.offset_to(at))
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession(headers=token("PROBATION", "Hampshire", at=at)) as http:
        async with http.post(f"{base}/referrals", json={
            "person_id": pid, "referring_agency": "Hampshire Constabulary",
            "referrer": "DC Rivers", "proposed_cohort": "FIXED", "urgent": False,
            "index_offence": "burglary dwelling",
            "reason": "ten burglaries this year and homeless on release"}) as response:
            assert response.status == 201, await response.text()
            referral_id = (await response.json())["referral_id"]

        def listed(sitting: dict[str, Any] | None) -> bool:
            return any(i["referral"]["referral_id"] == referral_id
                       for i in (sitting or {}).get("items", ()))

        async def placed() -> Any:
            doc = await get_json(http, f"{base}/panel?force=Hampshire&format=json")
            return doc if listed(doc) or listed(doc.get("next_sitting")) else None

        agenda = await until(placed)
        if shift == 0:
            assert agenda["panel_date"] == panel_day.isoformat() and not listed(agenda)
            assert agenda["next_sitting"]["panel_date"] == following.isoformat()
            assert listed(agenda["next_sitting"])
        else:
            assert agenda["panel_date"] == due.isoformat() and listed(agenda)
            assert agenda["next_sitting"] is None

        async with http.get(f"{base}/panel?force=Hampshire") as response:
            page = await response.text()
        section = page[page.index('id="next-sitting"'):] if shift == 0 else page
        assert f'data-referral-id="{referral_id}"' in section

        pack = await get_json(http, f"{base}/map?force=Hampshire&format=json")
        hampshire = next(f for f in pack["forces"] if f["force"] == "Hampshire")
        waiting = next(r for r in hampshire["changes"]["referrals_waiting"]
                       if r["referral_id"] == referral_id)
        assert waiting["sitting"] == due.isoformat()
        assert waiting["submitted_on"] == today.isoformat()
