"""The web app catches up after its API process was killed (issue 19).

The page's API process dies (SIGKILL) with the page open; money arrives meanwhile (the
event is published while nobody listens for it there); the process comes back on the
same address. The page reconnects on its own, and shows the balance as it is now: the
subscription starts again with a snapshot, and the page refetches on reconnect.
"""

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import PASSWORD, WebApp, available, new_phone, registered_user, screenshot
from tests.e2e.test_web_app import credit
from tests.integration.test_bank import Server
from wallet.config import Settings

pytestmark = pytest.mark.e2e


async def test_the_page_shows_money_that_arrived_while_its_api_was_down(
    browser: Browser, web_app: WebApp
) -> None:
    username = await registered_user(web_app)
    # A second API process on the live server's database and Redis: the page's own.
    settings = Settings.from_env().replace(
        database_url=web_app.database_url, redis_url=web_app.redis_url
    )
    api = Server(settings)
    await api.start()
    try:
        page = await new_phone(browser)
        await page.goto(api.url)
        await page.get_by_label("Email, phone or username").fill(username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(available(page)).to_have_text("$0.00")
        await expect(page.get_by_text("● live")).to_be_visible()

        api.kill()
        # Money arrives while the page's server is gone: its live event reaches no one.
        await credit(web_app, username, 2_500)
        await page.wait_for_timeout(1_000)
        await expect(available(page)).to_have_text("$0.00")

        await api.start()  # back on the same address
        await expect(available(page)).to_have_text("$25.00", timeout=30_000)
        await expect(page.get_by_text("● live")).to_be_visible()
        await screenshot(page, "reconnect-caught-up")
    finally:
        api.stop()
