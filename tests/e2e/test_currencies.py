"""Currency balances in Chromium: convert with a live quote, send abroad, open and close."""

import re

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

pytestmark = pytest.mark.e2e


def balance(page, currency: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id(f"balance-{currency}").get_by_test_id("available")


async def test_convert_with_a_counting_down_quote(browser: Browser, web_app: WebApp) -> None:
    page = await logged_in_phone(browser, web_app, await registered_user(web_app, 20_000))
    await go_to(page, "Convert")
    await page.get_by_label("From").select_option("USD")
    await page.get_by_label("To").select_option("EUR")
    await page.get_by_label("Amount (USD)").fill("100")
    await page.get_by_role("button", name="Get quote").click()
    quote = page.get_by_test_id("fx-quote")
    await expect(quote).to_contain_text("You pay$100.00")
    await expect(quote).to_contain_text("Fee (included)$0.25")
    await expect(page.get_by_test_id("fx-buy-amount")).to_have_text("€91.57")
    # The rate as people read it: 6 significant digits (the API's is 0.91807545).
    await expect(quote).to_contain_text("1 USD = 0.918075 EUR")
    countdown = page.get_by_test_id("fx-countdown")
    await expect(countdown).to_have_text(re.compile(r"Quote valid for (2\d|30) s"))
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "", timeout=3_000)  # it ticks
    await screenshot(page, "50-convert-quote")

    await page.get_by_role("button", name="Convert", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Converted $100.00 to €91.57")
    await expect(page.get_by_test_id("receipt")).to_contain_text("Reference")
    await expect(available(page)).to_have_text("$100.00")
    await expect(balance(page, "EUR")).to_have_text("€91.57")
    activity = page.get_by_test_id("activity")
    await expect(activity).to_contain_text("€91.57", timeout=10_000)
    await screenshot(page, "51-converted")
    await page.get_by_role("button", name="Done").click()

    # A fixed amount to receive, in yen (no decimals).
    await page.get_by_label("To").select_option("JPY")
    await page.get_by_label("receive").check()
    await page.get_by_label("Amount (JPY)").fill("1000")
    await page.get_by_role("button", name="Get quote").click()
    await expect(page.get_by_test_id("fx-buy-amount")).to_have_text("¥1,000")
    await page.get_by_role("button", name="Convert", exact=True).click()
    await expect(balance(page, "JPY")).to_have_text("¥1,000")
    await page.context.close()


async def test_send_abroad_and_open_and_close_a_currency(browser: Browser, web_app: WebApp) -> None:
    friend = await registered_user(web_app)
    page = await logged_in_phone(browser, web_app, await registered_user(web_app, 5_000))
    await go_to(page, "Send")
    await page.get_by_label("To", exact=True).fill(friend)
    await page.get_by_label("Amount (USD)").fill("10")
    await page.get_by_label("They receive").select_option("GBP")
    await page.get_by_role("button", name="Review", exact=True).click()
    await expect(page.get_by_test_id("send-quote")).to_contain_text("They get£7.82")
    await expect(page.get_by_test_id("review-rate")).to_have_text(
        re.compile(r"^Rate1 USD = 0\.7\d{1,5} GBP$")
    )
    await expect(page.get_by_test_id("send-rate-countdown")).to_have_text(
        re.compile(r"^Rate held for (2\d|30) s$")
    )
    await screenshot(page, "52-send-abroad-quote")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(
        f"Sent $10.00 (they got £7.82) to @{friend}"
    )
    await expect(available(page)).to_have_text("$40.00")

    await go_to(page, "Balances")
    await page.get_by_label("Add a currency").select_option("BRL")
    await page.get_by_role("button", name="Open balance").click()
    await expect(balance(page, "BRL")).to_have_text("R$0.00")
    await screenshot(page, "53-brl-opened")
    await page.get_by_role("button", name="Close BRL balance").click()
    await expect(page.get_by_test_id("balance-BRL")).to_have_count(0)
    # A balance with money in it offers no close button.
    await expect(page.get_by_role("button", name="Close USD balance")).to_have_count(0)
    await page.context.close()
