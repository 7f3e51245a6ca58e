"""Budgets in Chromium: set one, spend, get the alert live, see the charts on a phone,
and move a payment to another category."""

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    go_to,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from tests.merchant_helpers import open_merchant
from wallet.db.engine import transaction
from wallet.merchants.checkout import charge
from wallet.money import Currency, Money
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


async def test_a_budget_alert_arrives_and_charts_read_on_a_phone(
    browser: Browser, web_app: WebApp
) -> None:
    owner = await registered_user(web_app)
    buyer = await registered_user(web_app, 10_000)
    async with server_database(web_app):
        owner_id = (await authenticate(owner, PASSWORD)).id
        buyer_id = (await authenticate(buyer, PASSWORD)).id
        shop = await open_merchant(owner_id, "Corner Coffee", "5814", "US", "SF")
    page = await logged_in_phone(browser, web_app, buyer)
    await go_to(page, "Budget")
    await expect(page.get_by_text("No budgets yet.")).to_be_visible()
    await page.get_by_text("Set a budget").click()
    await page.get_by_label("Category", exact=True).select_option("FOOD")
    await page.get_by_label("Monthly amount").fill("10")
    await page.get_by_role("button", name="Save budget").click()
    food = page.get_by_test_id("budget-FOOD")
    await expect(food).to_contain_text("$0.00 of $10.00")

    async with server_database(web_app), transaction() as conn:
        for cents in (450, 420):
            await charge(
                conn,
                payer_id=buyer_id,
                merchant_id=shop.id,
                amount=Money(cents, Currency.USD),
                note="Flat white",
            )
    await go_to(page, "Home")  # notifications are on Home
    notifications = page.get_by_test_id("notifications")
    await expect(notifications).to_contain_text("Food budget: 80% used", timeout=15_000)
    await go_to(page, "Budget")
    await expect(food).to_contain_text("$8.70 of $10.00")
    await expect(food.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "87")
    await expect(page.get_by_test_id("monthly-chart").locator("svg").first).to_be_visible()
    await expect(page.get_by_test_id("weekly-chart").locator("svg").first).to_be_visible()
    await expect(page.get_by_label("Spending by category")).to_contain_text("Food$8.70")
    await page.get_by_test_id("monthly-chart").scroll_into_view_if_needed()
    await screenshot(page, "70-budget-and-charts")

    # One coffee was really a health expense: the budget follows.
    await go_to(page, "Activity")
    row = page.get_by_test_id("activity").get_by_role("button", name="Paid Corner Coffee")
    await row.first.click()
    await page.get_by_test_id("transaction-detail").get_by_label("Category").select_option("HEALTH")
    await go_to(page, "Budget")
    await expect(food).to_contain_text("of $10.00")
    await expect(food.get_by_role("progressbar")).not_to_have_attribute("aria-valuenow", "87")
    await page.context.close()


async def test_a_bill_reminder_csv_export_and_a_statement(
    browser: Browser, web_app: WebApp
) -> None:
    page = await logged_in_phone(browser, web_app, await registered_user(web_app, 4_200))
    await go_to(page, "Budget")
    await page.get_by_text("Add a reminder").click()
    await page.get_by_label("Bill", exact=True).fill("Rent")
    await page.get_by_label("About (USD)").fill("950")
    await page.get_by_label("Due day (1-31)").fill("1")
    await page.get_by_role("button", name="Add reminder").click()
    await expect(page.get_by_label("Bill reminders")).to_contain_text("Rent · about $950.00")
    async with page.expect_download() as csv_download:
        await page.get_by_role("link", name="Download CSV").click()
    csv_path = await (await csv_download.value).path()
    lines = open(csv_path, encoding="utf-8").read().splitlines()  # noqa: SIM115
    assert lines[0].startswith("account,currency,period_from,period_to,line,position")
    assert ",posting,1," in lines[2] and ",42.00,42.00," in lines[2]
    assert ",promotional_credit,completed," in lines[2]

    await page.get_by_role("button", name="Get this month's statement so far").click()
    link = page.get_by_role("link", name="(PDF)")
    await expect(link).to_be_visible(timeout=15_000)
    async with page.expect_download() as pdf_download:
        await link.click()
    pdf_path = await (await pdf_download.value).path()
    assert open(pdf_path, "rb").read(4) == b"%PDF"  # noqa: SIM115
    await screenshot(page, "71-export")
    await page.context.close()
