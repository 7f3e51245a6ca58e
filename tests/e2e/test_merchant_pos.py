"""A shop's till and a customer's phone in Chromium: the POS shows a QR code, the
customer pays it with the PIN, the till turns green live, and the shop refunds."""

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
from wallet.merchants.service import Onboarding, onboard
from wallet.users.pin import set_pin
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


async def test_pos_request_paid_by_a_customer_turns_green_and_is_refunded(
    browser: Browser, web_app: WebApp
) -> None:
    owner_name = await registered_user(web_app)
    buyer_name = await registered_user(web_app, 2_000)
    async with server_database(web_app):
        owner_id = (await authenticate(owner_name, PASSWORD)).id
        buyer_id = (await authenticate(buyer_name, PASSWORD)).id
        await onboard(Onboarding(owner_id, "Corner Coffee", "5814", "US", "San Francisco"))
        await set_pin(buyer_id, "2468")
    till = await logged_in_phone(browser, web_app, owner_name)
    buyer = await logged_in_phone(browser, web_app, buyer_name)

    await till.get_by_label("Charge (USD)").fill("4.50")
    await till.get_by_label("Order #").fill("T-17")
    await till.get_by_label("Description").fill("Flat white")
    await till.get_by_role("button", name="Show QR code").click()
    pos = till.get_by_test_id("pos-request")
    await expect(pos.get_by_role("img", name="Payment QR code")).to_be_visible()
    code = (await pos.locator("strong").inner_text()).strip()
    await screenshot(till, "30-pos-qr")

    await buyer.get_by_role("tab", name="Pay").click()
    await buyer.get_by_label("Code").fill(code)
    await buyer.get_by_role("button", name="Find").click()
    confirm = buyer.get_by_test_id("pay-confirm")
    await expect(confirm).to_contain_text("Corner Coffee")
    await expect(confirm).to_contain_text("$4.50")
    await expect(confirm).to_contain_text("Order T-17")
    await buyer.get_by_label("Transaction PIN").fill("1111")
    await buyer.get_by_role("button", name="Pay", exact=True).click()
    await expect(buyer.get_by_role("status")).to_contain_text("Wrong PIN")
    await buyer.get_by_label("Transaction PIN").fill("2468")
    await buyer.get_by_role("button", name="Pay", exact=True).click()
    await expect(buyer.get_by_role("status")).to_have_text("Paid $4.50 to Corner Coffee")
    await expect(pos.get_by_role("status")).to_have_text("Paid ✓", timeout=10_000)
    await expect(available(buyer)).to_have_text("$15.50", timeout=10_000)
    await screenshot(till, "31-pos-paid")
    await screenshot(buyer, "32-customer-paid")

    await pos.get_by_role("button", name="Refund").click()
    await expect(pos.get_by_role("status").last).to_have_text("Refunded $4.50")
    await expect(available(buyer)).to_have_text("$20.00", timeout=10_000)
    activity = buyer.get_by_test_id("activity")
    await expect(activity.get_by_text("Refund from Corner Coffee")).to_be_visible(timeout=10_000)
    await screenshot(buyer, "33-customer-refunded")
    for page in (till, buyer):
        await page.context.close()


async def test_shop_dashboard_keys_staff_and_webhook(browser: Browser, web_app: WebApp) -> None:
    owner_name = await registered_user(web_app)
    cashier_name = await registered_user(web_app)
    async with server_database(web_app):
        owner_id = (await authenticate(owner_name, PASSWORD)).id
        await onboard(Onboarding(owner_id, "Corner Books", "5942", "US", "Boston"))
    page = await logged_in_phone(browser, web_app, owner_name)
    dashboard = page.get_by_role("region", name="Shop dashboard")
    await expect(dashboard.get_by_test_id("merchant-balance")).to_contain_text("$0.00")
    await page.get_by_label("Key label").fill("web shop")
    await page.get_by_role("button", name="Create API key").click()
    await expect(page.get_by_test_id("secret")).to_contain_text("API key (shown once): mk_")
    await page.get_by_label("Endpoint URL").fill("https://books.example/hooks")
    await page.get_by_role("button", name="Save endpoint").click()
    await expect(page.get_by_test_id("secret")).to_contain_text(
        "Signing secret (shown once): whsec_"
    )
    await page.get_by_label("Cashier @username").fill("@" + cashier_name)
    await page.get_by_role("button", name="Add cashier").click()
    await expect(dashboard.get_by_role("status").last).to_have_text(
        f"@{cashier_name} is now a cashier"
    )
    await screenshot(page, "34-shop-dashboard")
    cashier = await logged_in_phone(browser, web_app, cashier_name)
    await expect(
        cashier.get_by_role("heading", name="Corner Books · point of sale")
    ).to_be_visible()
    await expect(cashier.get_by_role("region", name="Shop dashboard")).to_have_count(0)
    for p in (page, cashier):
        await p.context.close()
