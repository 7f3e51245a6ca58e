"""Money in, out and asked for, in Chromium: cards, bank (ACH), requests, withdrawals,
transaction detail; balances and lists update live."""

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    go_to,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from tests.e2e.test_review_receipt import review_send
from wallet.db.engine import connection
from wallet.users.pin import set_pin
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e
PIN = "2468"


async def user_with_pin(web_app: WebApp, balance_minor: int = 0) -> str:
    """Linking a card or bank and withdrawing ask for a second factor: give them a PIN."""
    username = await registered_user(web_app, balance_minor)
    async with server_database(web_app):
        await set_pin((await authenticate(username, PASSWORD)).id, PIN)
    return username


async def confirm_with_pin(page: Page) -> None:
    prompt = page.get_by_role("form", name="Confirm it's you")
    await prompt.get_by_label("Transaction PIN").fill(PIN)
    await prompt.get_by_role("button", name="Confirm").click()


async def link_card(page: Page, number: str, *, confirm: bool = False) -> None:
    await page.get_by_role("button", name="+ Link a card").click()
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry (MM/YY)").fill("12/30")
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name="Link card").click()
    if confirm:  # the session's first sensitive action asks for the PIN
        await confirm_with_pin(page)


async def link_bank(page: Page, account: str = "000123456789", *, confirm: bool = True) -> None:
    await page.get_by_role("button", name="+ Link a bank account").click()
    await page.get_by_label("Routing number").fill("110000000")
    await page.get_by_label("Account number").fill(account)
    await page.get_by_label("Account holder").fill("Pat Example")
    await page.get_by_role("button", name="Link bank account").click()
    if confirm:
        await confirm_with_pin(page)


async def test_add_money_by_card_and_a_declined_card_is_explained(
    browser: Browser, web_app: WebApp
) -> None:
    page = await logged_in_phone(browser, web_app, await user_with_pin(web_app))
    sent: list[tuple[str, str]] = []
    page.on("request", lambda r: sent.append((r.url, r.post_data or "")))
    await go_to(page, "Add")
    await expect(page.get_by_text("Link a card or bank account first.")).to_be_visible()
    await link_card(page, "4242 4242 4242 4242", confirm=True)
    await expect(page.get_by_label("From")).to_contain_text("Visa ending 4242")
    # The number went from the browser to the gateway's tokeniser, never to the API.
    pan = "4242424242424242"
    assert [url for url, body in sent if pan in body.replace(" ", "")] == [web_app.tokenize_url]
    assert not [url for url, body in sent if url.startswith(web_app.url) and "4242 4242" in body]
    async with server_database(web_app), connection() as conn:
        audited = await conn.fetch("SELECT details::text AS d FROM audit_log")
    assert audited  # the API recorded what it was sent, and a number was not in it
    assert not [a for a in audited if pan in a["d"]]
    assert web_app.log is not None and pan not in web_app.log.read_text()
    await page.get_by_label("Amount (USD)").fill("25")
    await page.get_by_role("button", name="Add money", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Added $25.00 from Visa ending 4242")
    await expect(available(page)).to_have_text("$25.00", timeout=10_000)
    await screenshot(page, "20-add-money-card")

    await link_card(page, "4000 0000 0000 9995")
    await page.get_by_label("From").select_option(label="Visa ending 9995 · 12/30")
    await page.get_by_label("Amount (USD)").fill("10")
    await page.get_by_role("button", name="Add money", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(
        "Failed: Card declined: insufficient_funds"
    )
    await expect(available(page)).to_have_text("$25.00")
    activity = page.get_by_test_id("activity")
    await expect(activity.get_by_text("Failed")).to_be_visible(timeout=10_000)
    await screenshot(page, "21-add-money-declined")
    await page.context.close()


async def test_bank_top_up_is_pending_then_arrives_live_with_its_detail(
    browser: Browser, web_app: WebApp
) -> None:
    page = await logged_in_phone(browser, web_app, await user_with_pin(web_app))
    await go_to(page, "Add")
    await link_bank(page)
    await page.get_by_label("Amount (USD)").fill("40")
    await page.get_by_role("button", name="Add money", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("is on its way from Sandbox Bank")
    await expect(available(page)).to_have_text("$0.00")
    await screenshot(page, "22-add-money-bank-pending")
    # The sandbox settles it one to three simulated (one-second) days later.
    await expect(available(page)).to_have_text("$40.00", timeout=20_000)
    row = page.get_by_test_id("activity").get_by_role("button", name="Added from Sandbox Bank")
    await row.first.click()
    detail = page.get_by_test_id("transaction-detail")
    await expect(detail).to_contain_text("completed")
    await expect(detail).to_contain_text("Sandbox Bank ending 6789")
    await expect(detail.get_by_label("Status history")).to_contain_text("pending")
    await screenshot(page, "23-add-money-bank-settled-detail")
    await page.context.close()


async def test_request_money_then_pay_and_decline_live(browser: Browser, web_app: WebApp) -> None:
    asker_name = await registered_user(web_app)
    payer_name = await registered_user(web_app, 3_000)
    asker = await logged_in_phone(browser, web_app, asker_name)
    payer = await logged_in_phone(browser, web_app, payer_name)

    await go_to(asker, "Request")
    await asker.get_by_label("From").fill("@" + payer_name)
    await asker.get_by_label("Amount (USD)").fill("7.50")
    await asker.get_by_label("What for?").fill("Cinema")
    await asker.get_by_role("button", name="Request", exact=True).click()
    await expect(asker.get_by_role("status")).to_have_text(f"Requested $7.50 from @{payer_name}")

    requests = payer.get_by_test_id("requests")
    await expect(requests).to_contain_text(f"@{asker_name} asks you for $7.50", timeout=10_000)
    await screenshot(payer, "24-request-received")
    await requests.get_by_role("button", name="Pay").click()
    await expect(available(payer)).to_have_text("$22.50", timeout=10_000)
    await expect(available(asker)).to_have_text("$7.50", timeout=10_000)
    await go_to(asker, "Home")  # notifications are on Home
    await expect(asker.get_by_test_id("notifications")).to_contain_text(
        "You received $7.50", timeout=10_000
    )

    await go_to(asker, "Request")
    await asker.get_by_label("From").fill("@" + payer_name)
    await asker.get_by_label("Amount (USD)").fill("100")
    await asker.get_by_role("button", name="Request", exact=True).click()
    await expect(requests).to_contain_text("$100.00", timeout=10_000)
    await requests.get_by_role("button", name="Decline").click()
    await expect(payer.get_by_test_id("requests")).to_have_count(0, timeout=10_000)
    await screenshot(asker, "25-request-paid-asker")
    for page in (asker, payer):
        await page.context.close()


async def test_withdraw_holds_then_pays_out(browser: Browser, web_app: WebApp) -> None:
    page = await logged_in_phone(browser, web_app, await user_with_pin(web_app, 5_000))
    await go_to(page, "Withdraw")
    await link_bank(page)
    await page.get_by_label("Amount (USD)").fill("60")
    await page.get_by_role("button", name="Withdraw", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(
        "You don't have enough money for this: $50.00 available"
    )
    await page.get_by_label("Amount (USD)").fill("20")
    await page.get_by_role("button", name="Withdraw", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("Withdrawal of $20.00")
    await expect(available(page)).to_have_text("$30.00", timeout=10_000)
    await screenshot(page, "26-withdraw-pending")
    row = page.get_by_test_id("activity").get_by_role("button", name="Withdrawal to Sandbox Bank")
    await row.first.click()
    await expect(page.get_by_test_id("transaction-detail")).to_contain_text(
        "completed", timeout=20_000
    )
    await screenshot(page, "27-withdraw-paid-detail")
    await page.context.close()


async def test_a_large_request_asks_for_the_pin_then_is_paid(
    browser: Browser, web_app: WebApp
) -> None:
    asker_name = await registered_user(web_app)
    payer_name = await user_with_pin(web_app, 100_000)
    asker = await logged_in_phone(browser, web_app, asker_name)
    payer = await logged_in_phone(browser, web_app, payer_name)
    await go_to(asker, "Request")
    await asker.get_by_label("From").fill("@" + payer_name)
    await asker.get_by_label("Amount (USD)").fill("600")
    await asker.get_by_role("button", name="Request", exact=True).click()

    requests = payer.get_by_test_id("requests")
    await expect(requests).to_contain_text(f"@{asker_name} asks you for $600.00", timeout=10_000)
    await requests.get_by_role("button", name="Pay").click()
    await expect(payer.get_by_role("form", name="Confirm it's you")).to_contain_text(
        "to pay this request"
    )
    await expect(available(payer)).to_have_text("$1,000.00")  # nothing moved yet
    await screenshot(payer, "26-large-request-step-up")
    await confirm_with_pin(payer)
    await expect(available(payer)).to_have_text("$400.00", timeout=10_000)
    await expect(available(asker)).to_have_text("$600.00", timeout=10_000)
    for page in (asker, payer):
        await page.context.close()


async def test_cancelling_the_pin_prompt_sends_nothing_and_the_next_try_sends_once(
    browser: Browser, web_app: WebApp
) -> None:
    friend = await registered_user(web_app)
    sender = await user_with_pin(web_app, 100_000)
    page = await logged_in_phone(browser, web_app, sender)
    await go_to(page, "Send")
    await review_send(page, friend, "600")
    send = page.get_by_test_id("review").get_by_role("button", name="Send", exact=True)
    await send.click()
    prompt = page.get_by_role("form", name="Confirm it's you")
    await expect(send).to_be_disabled()  # one prompt at a time
    await prompt.get_by_role("button", name="Cancel").click()
    await expect(prompt).to_be_hidden()
    await expect(available(page)).to_have_text("$1,000.00")

    await send.click()
    await confirm_with_pin(page)
    status = page.get_by_role("region", name="Send money").get_by_role("status")
    await expect(status).to_have_text(f"Sent $600.00 to @{friend}")
    await expect(available(page)).to_have_text("$400.00")
    async with server_database(web_app), connection() as conn:
        sends = await conn.fetchval(
            "SELECT count(*) FROM money_transaction t JOIN app_user u "
            "ON u.id = t.initiator_user_id WHERE u.username = $1 AND t.type = 'send'",
            sender,
        )
    assert sends == 1
    await page.context.close()
