"""Accessibility of every main screen, at phone and desktop sizes (issue 19): axe-core
(through Playwright) finds no critical violation. Serious ones are listed in the failure
message of the screen that has them, and fail too."""

from __future__ import annotations

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page

from tests.e2e.conftest import (
    SCREENS,
    WebApp,
    go_to,
    logged_in_desktop,
    logged_in_phone,
    registered_user,
)

pytestmark = pytest.mark.e2e

# Impacts that fail the check: axe's "critical" and "serious" (WCAG A/AA failures such as
# a control without a name, a missing form label or too little contrast).
FAILING = ("critical", "serious")


async def violations(page: Page) -> list[str]:
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in FAILING
    ]


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_every_main_screen_has_no_serious_accessibility_violation(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    username = await registered_user(web_app, balance_minor=5_000)
    opened = logged_in_phone if size == "phone" else logged_in_desktop
    page = await opened(browser, web_app, username)
    found: dict[str, list[str]] = {}
    for screen in SCREENS:
        await go_to(page, screen)
        await page.wait_for_load_state("networkidle")
        if problems := await violations(page):
            found[screen] = problems
    # Pages reached from those: the notification centre and its settings.
    for path in ("/notifications", "/profile/notifications"):
        await page.goto(web_app.url + path)
        await page.wait_for_load_state("networkidle")
        if problems := await violations(page):
            found[path] = problems
    assert found == {}, "\n".join(f"{s}: {p}" for s, ps in found.items() for p in ps)
    await page.context.close()
