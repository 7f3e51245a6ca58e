"""In Chromium: a dispute from the buyer's phone, answered with evidence at the shop,
decided by a mediator; and paying a bill."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    go_to,
    logged_in_phone,
    open_console,
    open_shop,
    registered_user,
    screenshot,
    server_database,
)
from tests.merchant_helpers import open_merchant
from wallet.db.engine import transaction
from wallet.recurrence import add_months, next_on_day
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
    till = await open_shop(await logged_in_phone(browser, web_app, owner_name))
    buyer = await logged_in_phone(browser, web_app, buyer_name)

    await till.get_by_label("Charge (USD)").fill("12.00")
    await till.get_by_role("button", name="Show QR code").click()
    code = (await till.get_by_test_id("pos-request").locator("strong").inner_text()).strip()
    await go_to(buyer, "Pay")
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
    await till.get_by_role("navigation", name="Shop").get_by_role("link", name="Disputes").click()
    disputes = till.get_by_test_id("merchant-disputes")
    await expect(disputes).to_contain_text("The lamp arrived broken", timeout=10_000)
    await till.get_by_label("Your answer").fill("Packed with care, photo attached")
    await till.get_by_label("Evidence file").set_input_files(
        files=[{"name": "packing.png", "mimeType": "image/png", "buffer": b"\x89PNG photo"}]
    )
    await till.get_by_role("button", name="Send answer").click()
    await expect(disputes).to_contain_text("Evidence: packing.png", timeout=10_000)
    await screenshot(till, "41-dispute-answered")

    mediator = await open_console(await logged_in_phone(browser, web_app, mediator_name))
    queue = mediator.get_by_test_id("mediator-queue")
    await expect(queue).to_contain_text("Packed with care")
    await mediator.get_by_label("Refund to buyer").fill("5.00")
    await mediator.get_by_role("button", name="Decide").click()
    await expect(mediator.get_by_role("status")).to_contain_text("refunded")
    await screenshot(mediator, "42-dispute-decided")
    await expect(available(buyer)).to_have_text("$23.00", timeout=10_000)
    for page in (till, buyer, mediator):
        await page.context.close()


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


async def phone_in(browser: Browser, web_app: WebApp, username: str, locale: str) -> Page:
    """A phone-sized page in `locale`, logged in as `username`."""
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    page = await context.new_page()
    await page.goto(web_app.url)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    await expect(page.get_by_text("● live")).to_be_visible()
    return page


async def both_sizes(page: Page, name: str) -> None:
    """Screenshots at the phone size the test runs at and at a desktop's."""
    await screenshot(page, name)
    await page.set_viewport_size(DESKTOP)
    await screenshot(page, f"{name}-desktop")
    await page.set_viewport_size(PHONE)


def us_date(day: date) -> str:
    """How en-US writes a day ("Jan 31, 2027"): what the page must show, never ISO."""
    return f"{day:%b} {day.day}, {day.year}"


def next_31st(after: date) -> date:
    day = after
    while day.day != 31:
        day += timedelta(days=1)
    return day


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
    page = await phone_in(browser, web_app, payer_name, "en-US")
    await go_to(page, "Bills")
    await page.get_by_label("Biller", exact=True).select_option(label="City Water")
    # The format is said before anyone types, and again when what was typed does not fit.
    account = page.get_by_label("Account number")
    await expect(account).to_have_accessible_description("8 digits, as on your City Water bill")
    await account.fill("1234")
    await page.get_by_role("button", name="Save biller").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your City Water account number is 8 digits"
    )
    await both_sizes(page, "44-bill-account-format")
    await account.fill("1234 5678")
    await page.get_by_label("Nickname").fill("Home water")
    await page.get_by_role("button", name="Save biller").click()
    await expect(page.get_by_label("Bill", exact=True)).to_contain_text("Home water · 12345678")
    await page.get_by_label("Amount (USD)").fill("12.00")
    await page.get_by_role("button", name="Pay bill").click()
    await expect(page.get_by_role("status")).to_have_text("Paid $12.00 to City Water")
    await expect(available(page)).to_have_text("$38.00", timeout=10_000)

    # Monthly on the 31st: in calendar months, the last day of shorter ones.
    first = next_31st(date.today() + timedelta(days=1))
    await page.get_by_label("Amount (USD)").fill("30.00")
    await page.get_by_label("Pay on (empty: now)").fill(first.isoformat())
    await page.get_by_label("Repeat").select_option("MONTHLY")
    await page.get_by_role("button", name="Pay bill").click()
    await expect(page.get_by_role("status")).to_have_text(
        f"Scheduled $30.00 to City Water on {us_date(first)}"
    )
    schedules = page.get_by_test_id("bill-schedules")
    await expect(schedules).to_contain_text(
        "City Water · $30.00 · monthly on the 31st (the last day in shorter months) · "
        f"next {us_date(first)}"
    )
    await expect(available(page)).to_have_text("$38.00")  # nothing paid yet
    await both_sizes(page, "43-bill-paid")

    # Changed by its payer: the amount, and the day (later months follow that day).
    moved = add_months(first, 1, 15)
    await schedules.get_by_role("button", name="Change the payment to City Water").click()
    change = page.get_by_role("form", name="Change the payment to City Water")
    await change.get_by_label("New amount").fill("35.00")
    await change.get_by_label("Next payment on").fill(moved.isoformat())
    await both_sizes(page, "45-bill-schedule-change")
    await change.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text(
        f"City Water: $35.00, next on {us_date(moved)}"
    )
    await expect(schedules).to_contain_text(
        f"City Water · $35.00 · monthly on the 15th · next {us_date(moved)}"
    )
    await schedules.get_by_role("button", name="Cancel the payments to City Water").click()
    await expect(page.get_by_role("status")).to_have_text("Cancelled the payments to City Water")
    await expect(schedules).to_have_text("City Water · $35.00 · monthly on the 15th · cancelled")
    await both_sizes(page, "46-bill-schedule-cancelled")
    await expect(available(page)).to_have_text("$38.00")
    await page.context.close()


async def test_reminder_dates_are_in_the_phones_own_language(
    browser: Browser, web_app: WebApp
) -> None:
    """Not ISO (2027-01-01): as the phone's locale writes a date, in the US and in the UK;
    and a reminder may fall on the 31st (a shorter month's last day)."""
    name = await registered_user(web_app)
    us = await phone_in(browser, web_app, name, "en-US")
    await go_to(us, "Budget")
    reminders = us.get_by_label("Bill reminders")

    async def remind(bill: str, day: int) -> date:
        if not await us.get_by_label("Bill", exact=True).is_visible():
            await us.get_by_text("Add a reminder").click()  # a disclosure: open it once
        await us.get_by_label("Bill", exact=True).fill(bill)
        await us.get_by_label("About (USD)").fill("40")
        await us.get_by_label(re.compile(r"^Due day")).fill(str(day))
        await us.get_by_role("button", name="Add reminder").click()
        await expect(reminders).to_contain_text(bill)
        return next_on_day(day, datetime.now(UTC).date())

    water = await remind("Water", 1)
    await expect(reminders).to_contain_text(f"Water · about $40.00 · due {us_date(water)}")
    assert water.isoformat() not in await reminders.inner_text()
    rent = await remind("Rent", 31)
    await expect(reminders).to_contain_text(f"Rent · about $40.00 · due {us_date(rent)}")
    await both_sizes(us, "47-reminder-date-en-US")

    uk = await phone_in(browser, web_app, name, "en-GB")
    await go_to(uk, "Budget")
    # Dates and money both in the phone's language: a British phone writes dollars US$.
    await expect(uk.get_by_label("Bill reminders")).to_contain_text(
        f"Water · about US$40.00 · due {water.day} {water:%b} {water.year}"
    )
    await screenshot(uk, "48-reminder-date-en-GB")
    for page in (us, uk):
        await page.context.close()
