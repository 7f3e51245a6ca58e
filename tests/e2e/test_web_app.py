"""The web app in Chromium: sign up, live balance, log out, log in, bad input."""

import itertools
import os

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import WebApp, go_to, screenshot, server_database
from wallet.db import engine
from wallet.db.engine import transaction
from wallet.money import Currency, Money
from wallet.wallets.service import grant_promotional_credit

pytestmark = pytest.mark.e2e
PASSWORD = "sunny-harbour-91"
_seq = itertools.count(1)


def identity() -> dict[str, str]:
    n = f"{os.getpid() % 10000:04d}{next(_seq)}"
    return {"email": f"e2e{n}@example.com", "phone": f"+1415556{n[-4:]}", "username": f"e2e_{n}"}


async def sign_up(page: Page, web_app: WebApp, who: dict[str, str], password: str) -> None:
    await page.goto(web_app.url)
    await page.get_by_role("tab", name="Sign up").click()
    await page.get_by_label("Email").fill(who["email"])
    await page.get_by_label("Phone").fill(who["phone"])
    await page.get_by_label("Username").fill(who["username"])
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Create wallet").click()


async def credit(web_app: WebApp, username: str, minor: int) -> None:
    """A server-side movement into the live server's database (no test-only endpoint)."""
    async with server_database(web_app), transaction() as conn:
        user_id = await conn.fetchval("SELECT id FROM app_user WHERE username = $1", username)
        await grant_promotional_credit(conn, int(user_id), Money(minor, Currency.USD))


async def test_sign_up_see_live_balance_log_out_and_log_in(
    phone_page: Page, web_app: WebApp
) -> None:
    page, who = phone_page, identity()
    await page.goto(web_app.url)
    await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    await screenshot(page, "01-log-in")

    await sign_up(page, web_app, who, PASSWORD)
    await expect(page.get_by_role("heading", name=f"Hi, {who['username']}")).to_be_visible()
    available = page.get_by_test_id("balance-USD").get_by_test_id("available")
    await expect(available).to_have_text("$0.00")
    await expect(page.get_by_text("● live")).to_be_visible()
    await screenshot(page, "02-wallet-empty")

    await credit(web_app, who["username"], 1_234_567)  # $12,345.67, pushed live
    await expect(available).to_have_text("$12,345.67", timeout=10_000)
    await screenshot(page, "03-wallet-live-update")

    await go_to(page, "Profile")
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()

    await page.get_by_label("Email, phone or username").fill(who["phone"])
    await page.get_by_label("Password").fill("not-my-password-1")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text("The login or password is wrong")
    await screenshot(page, "04-log-in-wrong-password")

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(available).to_have_text("$12,345.67")
    await screenshot(page, "05-logged-in-again")


async def test_sign_up_shows_field_errors_and_creates_nothing(
    phone_page: Page, web_app: WebApp
) -> None:
    page, who = phone_page, identity()
    who["email"] = "not-an-email"
    await sign_up(page, web_app, who, "short")
    await expect(page.get_by_role("alert")).to_have_text("Some fields need attention")
    await expect(page.locator("#field-email-errors")).to_contain_text("@-sign")
    await expect(page.locator("#field-password-errors")).to_contain_text("at least 10")
    await screenshot(page, "06-sign-up-errors")
    async with server_database(web_app), engine.connection() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM app_user WHERE username = $1", who["username"]
            )
            == 0
        )
