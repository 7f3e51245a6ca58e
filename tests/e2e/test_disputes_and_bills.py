"""In Chromium: a dispute from the buyer's phone, answered with evidence at the shop,
decided by a mediator; and paying a bill."""

from datetime import datetime, timedelta

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from tests.merchant_helpers import open_merchant
from wallet.db.engine import transaction
from wallet.users.pin import set_pin
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


async def test_dispute_from_purchase_to_mediator_decision(
    browser: Browser, web_app: WebApp
) -> None:
    owner_name = await registered_user(web_app)
    buyer_name = await registered_user(web_app, 3_000)
    mediator_name = await registered_user(web_app)
    async with server_database(web_app):
        owner_id = (await authenticate(owner_name, PASSWORD)).id
        buyer_id = (await authenticate(buyer_name, PASSWORD)).id
        mediator_id = (await authenticate(mediator_name, PASSWORD)).id
        await open_merchant(owner_id, "Bazaar", "5999", "US", "Austin", marketplace=True)
        await set_pin(buyer_id, "2468")
        async with transaction() as conn:
            await conn.execute(
                "UPDATE app_user SET operator_role = 'mediator' WHERE id = $1", mediator_id
            )
    till = await logged_in_phone(browser, web_app, owner_name)
    buyer = await logged_in_phone(browser, web_app, buyer_name)

    await till.get_by_label("Charge (USD)").fill("12.00")
    await till.get_by_role("button", name="Show QR code").click()
    code = (await till.get_by_test_id("pos-request").locator("strong").inner_text()).strip()
    await buyer.get_by_role("tab", name="Pay").click()
    await buyer.get_by_label("Code").fill(code)
    await buyer.get_by_role("button", name="Find").click()
    await buyer.get_by_label("Transaction PIN").fill("2468")
    await buyer.get_by_role("button", name="Pay", exact=True).click()
    await expect(buyer.get_by_role("status")).to_have_text("Paid $12.00 to Bazaar")
    await expect(available(buyer)).to_have_text("$18.00", timeout=10_000)

    row = buyer.get_by_test_id("activity").get_by_role("button", name="Paid Bazaar")
    await row.click()
    await buyer.get_by_role("button", name="Open a dispute").click()
    await buyer.get_by_label("What went wrong?").fill("The lamp arrived broken")
    await buyer.get_by_role("button", name="Send dispute").click()
    await expect(buyer.get_by_text("Dispute opened: $12.00 is on hold")).to_be_visible()
    await screenshot(buyer, "40-dispute-opened")

    await till.reload()
    disputes = till.get_by_test_id("merchant-disputes")
    await expect(disputes).to_contain_text("The lamp arrived broken", timeout=10_000)
    await till.get_by_label("Your answer").fill("Packed with care, photo attached")
    await till.get_by_label("Evidence file").set_input_files(
        files=[{"name": "packing.png", "mimeType": "image/png", "buffer": b"\x89PNG photo"}]
    )
    await till.get_by_role("button", name="Send answer").click()
    await expect(disputes).to_contain_text("Evidence: packing.png", timeout=10_000)
    await screenshot(till, "41-dispute-answered")

    mediator = await logged_in_phone(browser, web_app, mediator_name)
    queue = mediator.get_by_test_id("mediator-queue")
    await expect(queue).to_contain_text("Packed with care")
    await mediator.get_by_label("Refund to buyer").fill("5.00")
    await mediator.get_by_role("button", name="Decide").click()
    await expect(mediator.get_by_role("status")).to_contain_text("refunded")
    await screenshot(mediator, "42-dispute-decided")
    await expect(available(buyer)).to_have_text("$23.00", timeout=10_000)
    for page in (till, buyer, mediator):
        await page.context.close()


async def test_pay_a_bill(browser: Browser, web_app: WebApp) -> None:
    biller_owner = await registered_user(web_app)
    payer_name = await registered_user(web_app, 5_000)
    async with server_database(web_app):
        owner_id = (await authenticate(biller_owner, PASSWORD)).id
        merchant = await open_merchant(owner_id, "City Water", "4900", "US", "Austin")
        async with transaction() as conn:
            await conn.execute(
                "UPDATE merchant SET biller_reference_pattern = '[0-9]{8}' WHERE id = $1",
                merchant.id,
            )
    page = await logged_in_phone(browser, web_app, payer_name)
    await page.get_by_role("tab", name="Bills").click()
    await page.get_by_label("Biller", exact=True).select_option(label="City Water")
    await page.get_by_label("Account number").fill("1234")
    await page.get_by_role("button", name="Save biller").click()
    await expect(page.get_by_role("status")).to_contain_text("not an account number")
    await page.get_by_label("Account number").fill("12345678")
    await page.get_by_label("Nickname").fill("Home water")
    await page.get_by_role("button", name="Save biller").click()
    await expect(page.get_by_label("Bill", exact=True)).to_contain_text("Home water · 12345678")
    await page.get_by_label("Amount (USD)").fill("12.00")
    await page.get_by_role("button", name="Pay bill").click()
    await expect(page.get_by_role("status")).to_have_text("Paid $12.00 to City Water")
    await expect(available(page)).to_have_text("$38.00", timeout=10_000)
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    await page.get_by_label("Amount (USD)").fill("30.00")
    await page.get_by_label("Pay on (empty: now)").fill(tomorrow)
    await page.get_by_label("Repeat").select_option("MONTHLY")
    await page.get_by_role("button", name="Pay bill").click()
    await expect(page.get_by_role("status")).to_contain_text("Scheduled $30.00 to City Water")
    await expect(page.get_by_test_id("bill-schedules")).to_contain_text("monthly")
    await expect(available(page)).to_have_text("$38.00")  # nothing paid yet
    await screenshot(page, "43-bill-paid")
    await page.context.close()
