"""Sending money in Chromium: the sender's and the recipient's balances update live."""

import itertools
import os

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import WebApp, new_phone, screenshot
from wallet.db import engine
from wallet.db.engine import transaction
from wallet.money import Currency, Money
from wallet.users.models import SignUpRequest
from wallet.users.service import sign_up
from wallet.wallets.service import grant_promotional_credit

pytestmark = pytest.mark.e2e
PASSWORD = "sunny-harbour-91"
_seq = itertools.count(1)


async def registered_user(web_app: WebApp, balance_minor: int) -> str:
    n = f"{os.getpid() % 1000:03d}{next(_seq)}"
    owns = await engine.connect(web_app.database_url, pool_size=2)
    try:
        user = await sign_up(
            SignUpRequest(f"pay{n}@example.com", f"+1415557{n[-4:]:0>4}", f"pay_{n}", PASSWORD)
        )
        if balance_minor:
            async with transaction() as conn:
                await grant_promotional_credit(conn, user.id, Money(balance_minor, Currency.USD))
    finally:
        if owns:
            await engine.disconnect()
    return user.username


async def phone(browser: Browser, web_app: WebApp, username: str) -> Page:
    page = await new_phone(browser)
    await page.goto(web_app.url)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    await expect(page.get_by_text("● live")).to_be_visible()
    return page


def available(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("balance-USD").get_by_test_id("available")


async def test_send_money_updates_both_phones_live_and_refusals_are_explained(
    browser: Browser,
    web_app: WebApp,
) -> None:
    sender_name = await registered_user(web_app, 5_000)
    recipient_name = await registered_user(web_app, 0)
    sender, recipient = (
        await phone(browser, web_app, sender_name),
        await phone(browser, web_app, recipient_name),
    )
    await expect(available(sender)).to_have_text("$50.00")

    await sender.get_by_label("To").fill("@" + recipient_name)
    await sender.get_by_label("Amount (USD)").fill("12.50")
    await sender.get_by_label("Note (optional)").fill("Pizza night")
    await sender.get_by_role("button", name="Send").click()
    await expect(sender.get_by_role("status")).to_have_text(f"Sent $12.50 to @{recipient_name}")
    await expect(available(sender)).to_have_text("$37.50", timeout=10_000)
    await expect(available(recipient)).to_have_text("$12.50", timeout=10_000)
    await screenshot(sender, "10-send-money-sender")
    await screenshot(recipient, "11-send-money-recipient")

    await sender.get_by_label("To").fill("@" + recipient_name)
    await sender.get_by_label("Amount (USD)").fill("100")
    await sender.get_by_role("button", name="Send").click()
    await expect(sender.get_by_role("status")).to_have_text("Not enough money: 37.50 available")
    await sender.get_by_label("Amount (USD)").fill("1.234")
    await sender.get_by_role("button", name="Send").click()
    await expect(sender.get_by_role("status")).to_contain_text("at most 2 decimal places")
    await screenshot(sender, "12-send-money-refused")
    await expect(available(sender)).to_have_text("$37.50")
    for page in (sender, recipient):
        await page.context.close()
