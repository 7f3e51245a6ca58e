"""A session that ends under the user (revoked server-side) sends them to the login
screen where they were, and logging in brings them back to that page (issue 19)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    logged_in_desktop,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from wallet.auth.sessions import SessionStore
from wallet.db.engine import connection

pytestmark = pytest.mark.e2e


async def revoke_every_session(web_app: WebApp, username: str) -> int:
    """What "sign out everywhere" does, from the server side."""
    async with server_database(web_app), connection() as conn:
        user_id = await conn.fetchval("SELECT id FROM app_user WHERE username = $1", username)
    redis = Redis.from_url(web_app.redis_url)
    try:
        store = SessionStore(redis, idle_seconds=3600, absolute_seconds=86400)
        return await store.revoke_others(int(user_id), None)
    finally:
        await redis.aclose()


async def open_as(browser: Browser, web_app: WebApp, username: str, size: str) -> Page:
    if size == "phone":
        return await logged_in_phone(browser, web_app, username)
    return await logged_in_desktop(browser, web_app, username)


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_a_revoked_session_goes_to_log_in_and_comes_back_to_the_page(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    user = await registered_user(web_app, 1_000)
    page = await open_as(browser, web_app, user, size)
    await page.goto(f"{web_app.url}/profile/notifications")
    marketing = page.get_by_test_id("pref-MARKETING-EMAIL")
    await expect(marketing).to_be_enabled()

    assert await revoke_every_session(web_app, user) >= 1
    # Acting on the page: the answer is "not authenticated".
    await marketing.click()
    await expect(page.get_by_test_id("session-expired")).to_have_text(
        "Your session ended. Log in again to carry on where you were."
    )
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/profile/notifications$"))
    # Not a "Log in first" inside the form.
    await expect(page.get_by_text("Log in first")).to_have_count(0)
    await screenshot(page, f"session-expired-{size}")

    await page.get_by_label("Email, phone or username").fill(user)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/profile/notifications$"))
    await expect(page.get_by_test_id("preference-grid")).to_be_visible()
    await expect(page.get_by_test_id("session-expired")).to_have_count(0)
    await page.context.close()
