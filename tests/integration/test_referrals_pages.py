"""The referral form and the management report in headless Chromium: fill, submit, read
back, record a supervisor review; the page loads nothing from anywhere but the service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from iomkit import testing, topics
from tests.browser import ARTEFACTS, chromium, signed_in_page, until_shown
from tests.integration.test_referrals_lifecycle import grade, person

pytestmark = pytest.mark.integration


async def test_an_officer_refers_and_the_panel_registers_and_a_supervisor_reviews(
    settings, codec, start_service, token
) -> None:
    pid = f"P-UI-{uuid.uuid4().hex[:8]}"
    await testing.produce(settings, codec, topics.PEOPLE,
                          [person(pid, (testing.now() + timedelta(days=200)).date())])
    await testing.produce(settings, codec, topics.RISK_GRADES, [grade(pid, "AMBER", 1)])
    service = start_service("referrals")
    base = f"http://127.0.0.1:{service.port}"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        # signed in as the sign-in page would leave the browser: the token in a cookie
        page, elsewhere = await signed_in_page(browser, base, token("PROBATION", "Hampshire"))

        await page.goto(f"{base}/referrals/new")
        assert "FIXED" in await page.content()  # the standard form's cohort guidance
        await page.fill("[name=person_id]", pid)
        await page.fill("[name=referring_agency]", "Hampshire Police")
        await page.fill("[name=referrer]", "DC Rivers")
        await page.select_option("[name=proposed_cohort]", "FIXED")
        await page.fill("[name=index_offence]", "burglary dwelling")
        await page.check("[name=urgent]")  # decided out of cycle, today
        await page.fill("[name=reason]", "short")  # too short: the form says which field
        await page.click("#submit")
        assert "at least 20 characters" in await page.inner_text("#error-reason")
        assert await page.input_value("[name=referrer]") == "DC Rivers"  # kept
        await page.fill("[name=reason]",
                        "Ten burglaries this year; homeless on release; IOM grip needed")
        await page.click("#submit")
        referral_id = (await page.inner_text("#referral-id")).strip()
        assert len(referral_id) == 32

        # The panel decides on the agenda page.
        await until_shown(page, f"{base}/panel?force=Hampshire", referral_id)
        form = page.locator(f"form:has(input[name=referral_id][value='{referral_id}'])")
        await form.locator("[name=outcome]").select_option("ACCEPTED")
        await form.locator("[name=cohort]").select_option("FIXED")
        await form.locator("[name=pathway]").select_option("CATCH_AND_CONTROL")
        await form.locator("[name=lead_officer]").fill("OM Priya Shah")
        await form.locator("[name=rationale]").fill("meets FIXED criteria")
        await form.locator("[name=chair]").fill("Supt Hale")
        await form.locator("[name=agencies_present]").fill("Hampshire Police\nProbation")
        await form.locator("[type=submit]").click()

        await until_shown(page, f"{base}/people/{pid}/report", "OM Priya Shah", "#lead-officer")
        assert (await page.inner_text("#state")).strip() == "REGISTERED"
        assert "AMBER" in await page.inner_text("#rag")

        await page.fill("[name=supervisor]", "SPO Grant")
        await page.fill("[name=finding]", "contacts weekly; interventions match AMBER")
        await page.click("#record-review")
        await until_shown(page, f"{base}/people/{pid}/report", "SPO Grant", "#timeline")
        assert "Hampshire Police, Probation" in await page.inner_text("#decisions")

        # A home visit logged on the form, in UK local time; a case note.
        await page.fill("#contact-form [name=contact_at]", (testing.now() - timedelta(
            hours=3)).astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M"))
        await page.fill("#contact-form [name=agency]", "Southampton Housing")
        await page.select_option("#contact-form [name=method]", "VISIT")
        await page.click("#log-contact")
        await until_shown(page, f"{base}/people/{pid}/report", "Southampton Housing",
                          "#contacts")
        await page.fill("#note-form [name=text]", "asked for help with a CV")
        await page.click("#add-note")
        await until_shown(page, f"{base}/people/{pid}/report", "asked for help", "#notes")
        await page.screenshot(path=str(ARTEFACTS / "referrals-report.png"), full_page=True)
    assert elsewhere == [], f"the pages loaded {elsewhere}"
