"""Activity in Chromium: live refresh, filters, infinite scroll, status history."""

import re
import uuid

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    WebApp,
    confirm_send,
    go_to,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from wallet.db import engine
from wallet.money import Currency, Money
from wallet.transfers.service import SendMoney, send_money

pytestmark = pytest.mark.e2e


async def transfers(web_app: WebApp, sender: str, recipient: str, count: int) -> None:
    async with server_database(web_app):
        async with engine.connection() as conn:
            sender_id = await conn.fetchval("SELECT id FROM app_user WHERE username = $1", sender)
        for n in range(count):
            await send_money(
                SendMoney(
                    int(sender_id),
                    recipient,
                    Money(100 + n, Currency.USD),
                    f"#{n}",
                    uuid.uuid4().hex,
                )
            )


async def test_activity_scrolls_filters_and_refreshes_live(
    browser: Browser, web_app: WebApp
) -> None:
    ann = await registered_user(web_app, 10_000)
    ben = await registered_user(web_app, 0)
    await transfers(web_app, ann, ben, 25)
    page = await logged_in_phone(browser, web_app, ann)
    # Home shows the newest few, with the way to all of it.
    recent = page.get_by_test_id("activity").locator(":scope > li")
    await expect(recent).to_have_count(5)
    await expect(recent.first).to_contain_text(f"To @{ben}")
    await page.get_by_role("link", name="See all activity").click()
    await expect(page).to_have_url(re.compile(r"/activity$"))
    rows = page.get_by_test_id("activity").locator(":scope > li")
    await expect(rows).to_have_count(20)  # the first page
    await expect(rows.first).to_contain_text(f"To @{ben}")
    await expect(rows.first).to_contain_text("\u2212$1.24")  # a real minus sign
    await page.get_by_test_id("activity").locator(":scope > li").last.scroll_into_view_if_needed()
    await page.mouse.wheel(0, 5000)
    await expect(rows).to_have_count(26)  # 25 transfers and the opening credit
    await expect(rows.last).to_contain_text("+$100.00")

    await page.get_by_label("Type").select_option("PROMOTIONAL_CREDIT")
    await expect(rows).to_have_count(1)
    # Back at the top, clearing the filter shows the first page again (scrolled to the
    # foot, the list would go on to load the next page, as infinite scroll should).
    await page.evaluate("window.scrollTo(0, 0)")
    await page.get_by_label("Type").select_option("")
    await expect(rows).to_have_count(20)
    await expect(rows.first).to_contain_text(f"To @{ben}")

    ben_page = await go_to(await logged_in_phone(browser, web_app, ben), "Send")
    await ben_page.get_by_label("To").fill(ann)
    await ben_page.get_by_label("Amount (USD)").fill("3.00")
    await confirm_send(ben_page)
    await expect(rows.first).to_contain_text(f"From @{ben}", timeout=10_000)
    await expect(rows.first).to_contain_text("+$3.00")
    await rows.first.get_by_role("button").click()
    await expect(rows.first.get_by_label("Status history")).to_contain_text("completed")
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "20-activity")
    await page.get_by_test_id("activity").scroll_into_view_if_needed()
    await screenshot(page, "21-activity-list")
    for p in (page, ben_page):
        await p.context.close()
