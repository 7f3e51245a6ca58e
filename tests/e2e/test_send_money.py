"""Sending money in Chromium: the sender's and the recipient's balances update live."""

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    WebApp,
    available,
    go_to,
    logged_in_phone,
    registered_user,
    screenshot,
)
from tests.e2e.test_review_receipt import review_send

pytestmark = pytest.mark.e2e


async def test_send_money_updates_both_phones_live_and_refusals_are_explained(
    browser: Browser,
    web_app: WebApp,
) -> None:
    sender_name = await registered_user(web_app, 5_000)
    recipient_name = await registered_user(web_app, 0)
    sender, recipient = (
        await logged_in_phone(browser, web_app, sender_name),
        await logged_in_phone(browser, web_app, recipient_name),
    )
    await expect(available(sender)).to_have_text("$50.00")

    await go_to(sender, "Send")
    await review_send(sender, "@" + recipient_name, "12.50", "Pizza night")
    await expect(sender.get_by_test_id("review")).to_contain_text("Your balance after$37.50")
    await sender.get_by_role("button", name="Send", exact=True).click()
    await expect(sender.get_by_role("status")).to_have_text(f"Sent $12.50 to @{recipient_name}")
    await expect(available(sender)).to_have_text("$37.50", timeout=10_000)
    await expect(available(recipient)).to_have_text("$12.50", timeout=10_000)
    await screenshot(sender, "10-send-money-sender")
    await screenshot(recipient, "11-send-money-recipient")

    await sender.get_by_role("button", name="Done").click()
    # Refusals come at the review, before anything can be confirmed.
    await review_send(sender, "@" + recipient_name, "100")
    await expect(sender.get_by_role("status")).to_have_text(
        "You don't have enough money for this: $37.50 available"
    )
    await expect(sender.get_by_test_id("review")).to_have_count(0)
    await sender.get_by_label("Amount (USD)").fill("1.234")
    await sender.get_by_role("button", name="Review", exact=True).click()
    await expect(sender.get_by_role("status")).to_contain_text("at most 2 decimal places")
    await screenshot(sender, "12-send-money-refused")
    await expect(available(sender)).to_have_text("$37.50")
    for page in (sender, recipient):
        await page.context.close()
