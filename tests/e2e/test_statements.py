"""Statements in Chromium (issue 18, item 2): the activity list, the CSV and the PDF of a
user whose bank top-up settled after a later send, and who converted dollars to euros,
add up line by line; a downloaded statement verifies, and stops verifying once edited."""

from __future__ import annotations

import re
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from tests.e2e.conftest import (
    ARTIFACTS,
    PASSWORD,
    WebApp,
    available,
    go_to,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from tests.statement_helpers import (
    csv_rows,
    csv_statements,
    pdf_sections,
    running_balances_add_up,
    section_adds_up,
)
from wallet.commands.actor import Actor
from wallet.gateway.sandbox import SandboxGateway
from wallet.money import Currency, Money
from wallet.payments import funding, methods
from wallet.transfers.service import SendMoney, send_money
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


def amount_of(text: str) -> Decimal:
    """An amount as the app shows it ("\u22121,234.56" with a real minus sign, "bal
    \u20ac91.57") as a signed decimal."""
    sign = -1 if "\u2212" in text or "-" in text else 1
    return sign * Decimal(re.sub(r"[^\d.]", "", text))


SYMBOLS = {"$": "USD", "\u20ac": "EUR"}


async def lines_on_screen(page: Page) -> list[tuple[str, Decimal, Decimal | None]]:
    """(currency, signed amount, balance after) of each activity line, newest first, as
    a person reads them: the first amount on the right and the "bal" under it."""
    found = []
    for row in await page.get_by_test_id("activity").locator(":scope > li").all():
        amounts = row.locator(".activity-amounts > span")
        shown = await amounts.first.inner_text()
        balance = amounts.filter(has_text=re.compile(r"^bal "))
        found.append(
            (
                SYMBOLS[re.sub(r"[^$\u20ac]", "", shown)],
                amount_of(shown),
                amount_of(await balance.inner_text()) if await balance.count() else None,
            )
        )
    return found


def balances_that_do_not_add_up(lines: list[tuple[str, Decimal, Decimal | None]]) -> list[str]:
    """Reading up the list (oldest first), per currency: each balance is the one before
    plus the line's amount."""
    previous: dict[str, Decimal] = {}
    wrong = []
    for currency, amount, balance in reversed(lines):
        if balance is None:
            continue
        if currency in previous and previous[currency] + amount != balance:
            wrong.append(f"{currency}: {previous[currency]} + {amount} != {balance}")
        previous[currency] = balance
    return wrong


async def top_up_by_bank_then_send(web_app: WebApp, username: str, recipient: str) -> None:
    """Arranged on the server, back to back: a bank top-up of $40.00 starts (its bank
    answers one to three simulated seconds later), then $12.34 goes to `recipient`."""
    async with server_database(web_app):
        user = await authenticate(username, PASSWORD)
        redis = Redis.from_url(web_app.redis_url)
        try:
            gateway = SandboxGateway(redis, day_seconds=1)
            token = await gateway.tokenize_bank_account("110000000", "000123456789", "Pat Example")
            bank = await methods.add_bank_account(gateway, user.id, token)
            started = await funding.add_money(
                gateway,
                Actor.user(user.id),
                funding.AddMoney(bank.id, Money(4000, Currency.USD)),
                uuid.uuid4().hex,
                timeout_seconds=10,
            )
            assert started.status == "pending"
            await send_money(
                SendMoney(user.id, recipient, Money(1234, Currency.USD), "lunch", uuid.uuid4().hex)
            )
        finally:
            await redis.aclose()


async def download(page: Page, name: str | re.Pattern[str], folder: Path) -> Path:
    """Click the link and keep the file the browser saves (beyond the page's life)."""
    async with page.expect_download() as info:
        await page.get_by_role("link", name=name).click()
    saved = await info.value
    path = folder / saved.suggested_filename
    await saved.save_as(path)
    return path


async def test_activity_csv_and_pdf_add_up_and_the_statement_verifies(
    browser: Browser, web_app: WebApp, tmp_path: Path
) -> None:
    ann = await registered_user(web_app, 27_500)
    ben = await registered_user(web_app)
    await top_up_by_bank_then_send(web_app, ann, ben)
    page = await logged_in_phone(browser, web_app, ann)
    await expect(available(page)).to_have_text("$302.66", timeout=20_000)  # settled

    await go_to(page, "Convert")
    await page.get_by_label("From").select_option("USD")
    await page.get_by_label("To").select_option("EUR")
    await page.get_by_label("Amount (USD)").fill("100")
    await page.get_by_role("button", name="Get quote").click()
    await page.get_by_role("button", name="Convert", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Converted $100.00 to €91.57")

    # The activity list: newest first, the top-up where it settled (after the send), a
    # line for each currency of the conversion, and balances that add up.
    await go_to(page, "Activity")
    rows = page.get_by_test_id("activity").locator(":scope > li")
    await expect(rows.first).to_contain_text("Converted", timeout=10_000)
    # The regression: the top-up carried its settlement balance at its start time.
    assert balances_that_do_not_add_up(await lines_on_screen(page)) == []
    await expect(rows).to_have_count(5)
    await expect(rows.nth(0)).to_contain_text("Converted from USD")
    await expect(rows.nth(1)).to_contain_text("Converted to EUR")
    await expect(rows.nth(2)).to_contain_text("Added from Sandbox Bank")
    await expect(rows.nth(3)).to_contain_text(f"To @{ben}")
    seen = await lines_on_screen(page)
    assert seen == [
        ("EUR", Decimal("91.57"), Decimal("91.57")),
        ("USD", Decimal("-100.00"), Decimal("202.66")),
        ("USD", Decimal("40.00"), Decimal("302.66")),
        ("USD", Decimal("-12.34"), Decimal("262.66")),
        ("USD", Decimal("275.00"), Decimal("275.00")),
    ]
    await page.get_by_test_id("activity").scroll_into_view_if_needed()
    await screenshot(page, "90-statement-activity-phone")

    # The CSV and the PDF of this month.
    await go_to(page, "Budget")
    csv_path = await download(page, "Download CSV", tmp_path)
    body = csv_path.read_text()
    assert running_balances_add_up(csv_rows(body)) == []
    held = csv_statements(body)
    assert [(p["amount"], p["running_balance"]) for p in held["USD"].postings] == [
        ("275.00", "275.00"),
        ("-12.34", "262.66"),
        ("40.00", "302.66"),
        ("-100.00", "202.66"),
    ]
    assert [(p["amount"], p["description"]) for p in held["EUR"].postings] == [
        ("91.57", "Converted from USD")
    ]
    await page.get_by_role("button", name="Get this month's statement so far").click()
    pdf_path = await download(page, re.compile(r"Statement [A-Z][a-z]+ \d{4} \(PDF\)"), tmp_path)
    shutil.copy(pdf_path, ARTIFACTS / "95-statement.pdf")  # to look at, as a person would
    sections = pdf_sections(pdf_path.read_bytes())
    assert section_adds_up(sections["USD"]) and section_adds_up(sections["EUR"])
    assert sections["EUR"].rows == [(Decimal("91.57"), Decimal("91.57"))]

    # Verifying the CSV as downloaded, then with one amount changed.
    results = page.get_by_test_id("verify-results")
    await page.get_by_label("Statement CSV").set_input_files(str(csv_path))
    await expect(results.locator("li.verified")).to_have_count(2)
    await expect(results).to_contain_text("USD")
    await expect(results).to_contain_text("matches the ledger")
    await results.scroll_into_view_if_needed()
    await screenshot(page, "91-statement-verified-phone")
    edited = body.replace(",-12.34,262.66,", ",-2.34,272.66,", 1)
    assert edited != body
    await page.get_by_label("Statement CSV").set_input_files(
        files=[{"name": "edited.csv", "mimeType": "text/csv", "buffer": edited.encode()}]
    )
    await expect(results.locator("li.mismatch")).to_have_count(1)
    await expect(results.locator("li.mismatch")).to_contain_text("does not match the ledger")
    await expect(results.locator("li.verified")).to_have_count(1)  # the EUR one is untouched
    await screenshot(page, "92-statement-edited-phone")

    # The PDF's printed position and digest, typed in as an accountant would.
    printed = " ".join(sections["EUR"].texts)
    digest = printed.split("SHA-256 digest ")[1][:64]
    position = re.search(r"ledger position (\d+)", printed)
    period = re.search(r"(\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})", printed)
    assert position and period
    await page.get_by_text("Check a PDF statement").click()
    form = page.get_by_role("form", name="Printed statement")
    await form.get_by_label("Currency").fill("EUR")
    await form.get_by_label("Position").fill(position.group(1))
    await form.get_by_label("From").fill(period.group(1))
    await form.get_by_label("To").fill(period.group(2))
    await form.get_by_label("Digest").fill(digest)
    await form.get_by_role("button", name="Verify").click()
    await expect(results.locator("li.verified")).to_contain_text("EUR")
    await expect(results.locator("li.verified")).to_contain_text("1 row,")
    await page.context.close()

    # The same at a desktop size.
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    desk = await context.new_page()
    await desk.goto(web_app.url)
    await desk.get_by_label("Email, phone or username").fill(ann)
    await desk.get_by_label("Password").fill(PASSWORD)
    await desk.get_by_role("button", name="Log in").click()
    await go_to(desk, "Activity")
    await expect(desk.get_by_test_id("activity").locator(":scope > li")).to_have_count(5)
    assert await lines_on_screen(desk) == seen
    await screenshot(desk, "93-statement-activity-desktop")
    await go_to(desk, "Budget")
    await desk.get_by_label("Statement CSV").set_input_files(str(csv_path))
    await expect(desk.get_by_test_id("verify-results").locator("li.verified")).to_have_count(2)
    await desk.get_by_test_id("verify-results").scroll_into_view_if_needed()
    await screenshot(desk, "94-statement-verified-desktop")
    await context.close()
