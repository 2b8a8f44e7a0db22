"""Debian's Chromium driven by Playwright, for page tests (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying Google's hosts, which this
# closed network refuses; the pages under test load nothing from the internet.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(__file__).resolve().parent.parent / "var" / "artefacts"


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    _require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def signed_in(url: str, authorization: dict[str, str]) -> dict[str, Any]:
    """The token cookie the sign-in page sets, for a browser context (add_cookies)."""
    token = authorization["Authorization"].removeprefix("Bearer ")
    return {"name": "tc_token", "value": token, "url": url, "httpOnly": True,
            "sameSite": "Strict"}


async def until_shown(page: Any, url: str, text: str, selector: str = "body",
                      within: float = 30.0) -> None:
    """Reload ``url`` until the stream has caught up and ``text`` shows in ``selector``."""
    import asyncio
    deadline = asyncio.get_running_loop().time() + within
    while True:
        await page.goto(url)
        if await page.locator(selector).count() and text in await page.inner_text(selector):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{text!r} not in {selector} of {url} within {within}s")
        await asyncio.sleep(0.5)


async def signed_in_page(browser: Browser, base: str, authorization: dict[str, str],
                         **context_options: Any) -> tuple[Any, list[str]]:
    """A page in a new context signed in as ``authorization``'s user, and the list of every
    URL it requests outside ``base`` (pages under test must load nothing from elsewhere)."""
    context = await browser.new_context(**context_options)
    await context.add_cookies([signed_in(base, authorization)])
    page = await context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
    return page, elsewhere
