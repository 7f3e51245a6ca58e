"""Review before money moves, a receipt after (issue 19), in Chromium at a phone's and a
desktop's size: a send and a conversion reviewed then confirmed, a send refused at its
review in plain words, and a frozen wallet's Send disabled with the reason beside it."""

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    WebApp,
    available,
    go_to,
    logged_in_desktop,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from wallet.db.engine import connection

pytestmark = pytest.mark.e2e

Login = Callable[[Browser, WebApp, str], Awaitable[Page]]
SIZES: dict[str, Login] = {"phone": logged_in_phone, "desktop": logged_in_desktop}
RATE = re.compile(r"^1 USD = ([\d.,]+) EUR$")


def short_rate(text: str) -> bool:
    """A rate as people read it: "1 USD = 0.918075 EUR", at most 6 significant digits
    (never 0.91807545)."""
    found = RATE.match(text)
    return found is not None and len(re.sub(r"\D", "", found[1]).lstrip("0")) <= 6


async def review_send(page: Page, recipient: str, amount: str, note: str = "") -> None:
    """Fill the Send form and press Review (nothing moves yet). For other e2e modules:
    a send is now Review, then Send on the review."""
    await page.get_by_label("To", exact=True).fill(recipient)
    await page.get_by_label("Amount (USD)").fill(amount)
    if note:
        await page.get_by_label("Note (optional)").fill(note)
    await page.get_by_role("button", name="Review", exact=True).click()


async def send_with_review(page: Page, recipient: str, amount: str, note: str = "") -> None:
    """A whole send: fill in, Review, Send."""
    await review_send(page, recipient, amount, note)
    await page.get_by_test_id("review").get_by_role("button", name="Send", exact=True).click()


@pytest.mark.parametrize("size", SIZES)
async def test_send_is_reviewed_then_confirmed_with_a_receipt_that_shares(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    sender = await registered_user(web_app, 5_000)
    friend = await registered_user(web_app)
    page = await SIZES[size](browser, web_app, sender)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_app.url)
    # No share sheet here (as on most desktops): Share copies the receipt instead.
    await page.evaluate("() => { delete Navigator.prototype.share; delete navigator.share; }")
    await go_to(page, "Send")
    await review_send(page, "@" + friend, "12.50", "Pizza night")

    review = page.get_by_test_id("review")
    await expect(review.get_by_test_id("review-recipient")).to_contain_text(f"@{friend}")
    await expect(review.locator(".avatar")).to_have_text("PA")  # pay_… → initials
    await expect(review.get_by_test_id("review-amount")).to_have_text("You send$12.50")
    await expect(review.get_by_test_id("review-fee")).to_have_text("Fee$0.00")
    await expect(review.get_by_test_id("send-quote")).to_have_text("They get$12.50")
    await expect(review.get_by_test_id("review-arrives")).to_have_text("ArrivesInstantly")
    await expect(review.get_by_test_id("review-balance-after")).to_have_text(
        "Your balance after$37.50"
    )
    await expect(available(page)).to_have_text("$50.00")  # nothing moved yet
    await screenshot(page, f"60-send-review-{size}")

    # Cancel goes back to the form as it was typed; nothing is sent.
    await review.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_label("Amount (USD)")).to_have_value("12.50")
    await page.get_by_role("button", name="Review", exact=True).click()
    await review.get_by_role("button", name="Send", exact=True).click()

    receipt = page.get_by_test_id("receipt")
    await expect(receipt.get_by_role("status")).to_have_text(f"Sent $12.50 to @{friend}")
    await expect(receipt.get_by_role("heading", name="Sent")).to_be_visible()
    reference = (await receipt.locator(".reference").inner_text()).strip()
    async with server_database(web_app), connection() as conn:
        sends = await conn.fetch(
            "SELECT t.id::text AS id FROM money_transaction t JOIN app_user u "
            "ON u.id = t.initiator_user_id WHERE u.username = $1 AND t.type = 'send'",
            sender,
        )
    assert [s["id"] for s in sends] == [reference]  # one send, and the receipt names it
    await expect(receipt).to_contain_text("Pizza night")
    await expect(available(page)).to_have_text("$37.50", timeout=10_000)
    await receipt.get_by_role("button", name="Share").click()
    await expect(receipt.get_by_text("Copied")).to_be_visible()
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert f"Sent $12.50 to @{friend}" in copied and f"Reference: {reference}" in copied
    await screenshot(page, f"61-send-receipt-{size}")

    await receipt.get_by_role("button", name="Done").click()
    await expect(page.get_by_label("Amount (USD)")).to_have_value("")
    await page.context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_convert_is_reviewed_with_a_short_rate_then_has_a_receipt(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    page = await SIZES[size](browser, web_app, await registered_user(web_app, 20_000))
    await go_to(page, "Convert")
    await page.get_by_label("From").select_option("USD")
    await page.get_by_label("To").select_option("EUR")
    await page.get_by_label("Amount (USD)").fill("100")
    await page.get_by_role("button", name="Get quote").click()
    review = page.get_by_test_id("fx-quote")
    await expect(review.get_by_test_id("fx-buy-amount")).to_have_text("€91.57")
    await expect(review.get_by_test_id("fx-rate")).to_have_text("Rate1 USD = 0.918075 EUR")
    rate = (await review.get_by_test_id("fx-rate").locator("dd").inner_text()).strip()
    assert short_rate(rate), rate
    await expect(review.get_by_test_id("review-balance-after")).to_have_text(
        "Your USD balance after$100.00"
    )
    await expect(page.get_by_test_id("fx-countdown")).to_have_text(
        re.compile(r"^Quote valid for (2\d|30) s$")
    )
    await screenshot(page, f"62-convert-review-{size}")

    await review.get_by_role("button", name="Convert", exact=True).click()
    receipt = page.get_by_test_id("receipt")
    await expect(receipt.get_by_role("status")).to_have_text("Converted $100.00 to €91.57")
    receipt_rate = (await receipt.get_by_test_id("receipt-rate").locator("dd").inner_text()).strip()
    assert short_rate(receipt_rate), receipt_rate
    await expect(receipt.locator(".reference")).to_have_text(re.compile(r"\S+"))
    await expect(available(page)).to_have_text("$100.00")
    await screenshot(page, f"63-convert-receipt-{size}")
    await receipt.get_by_role("button", name="Done").click()
    await expect(page.get_by_role("button", name="Get quote")).to_be_visible()

    # A quote for more than the balance is refused at quote time, in plain words.
    await page.get_by_label("Amount (USD)").fill("500")
    await page.get_by_role("button", name="Get quote").click()
    await expect(page.get_by_role("status")).to_have_text(
        "You don't have enough money for this: $100.00 available"
    )
    await expect(page.get_by_test_id("fx-quote")).to_have_count(0)
    await page.context.close()


async def test_a_send_refused_at_review_says_why_before_confirm(
    browser: Browser, web_app: WebApp
) -> None:
    friend = await registered_user(web_app)
    page = await logged_in_phone(browser, web_app, await registered_user(web_app, 3_750))
    await go_to(page, "Send")
    await review_send(page, "@" + friend, "100")
    await expect(page.get_by_role("status")).to_have_text(
        "You don't have enough money for this: $37.50 available"
    )
    # No review, so no Confirm: the form stays, with the message beside its button.
    await expect(page.get_by_test_id("review")).to_have_count(0)
    await expect(page.get_by_role("button", name="Review", exact=True)).to_be_enabled()
    await expect(
        page.get_by_role("button", name="Review", exact=True)
    ).to_have_accessible_description("You don't have enough money for this: $37.50 available")
    await screenshot(page, "64-send-refused-at-review")
    await expect(available(page)).to_have_text("$37.50")
    await page.context.close()


async def test_a_frozen_wallet_cannot_send_and_says_why_at_the_button(
    browser: Browser, web_app: WebApp
) -> None:
    username = await registered_user(web_app, 1_000)
    async with server_database(web_app), connection() as conn:
        await conn.execute(
            "UPDATE wallet SET status = 'frozen', frozen_reason = 'a payment is being checked' "
            "WHERE user_id = (SELECT id FROM app_user WHERE username = $1)",
            username,
        )
    page = await logged_in_phone(browser, web_app, username)
    await go_to(page, "Send")
    send = page.get_by_role("button", name="Review", exact=True)
    await expect(send).to_be_disabled()
    reason = (
        "Your wallet is frozen (a payment is being checked), so no money can leave it. "
        "Contact support to have it reviewed."
    )
    await expect(send).to_have_attribute("aria-describedby", "send-blocked")
    await expect(page.locator("#send-blocked")).to_have_text(reason)
    await expect(send).to_have_accessible_description(reason)
    await screenshot(page, "65-send-frozen")
    # Adding money still works for a frozen wallet; converting does not.
    await go_to(page, "Convert")
    await expect(page.get_by_role("button", name="Get quote")).to_be_disabled()
    await expect(page.locator("#convert-blocked")).to_have_text(reason)
    await page.context.close()
