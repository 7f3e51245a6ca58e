"""The operator console in Chromium: reconcile a day, resolve a break with an adjusting
entry a second admin approves, find the entry in the ledger explorer, read and download
the balance sheet; phone and desktop."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.e2e.conftest import (
    WebApp,
    go_to,
    logged_in_desktop,
    logged_in_phone,
    open_console,
    registered_user,
    screenshot,
    server_database,
)
from wallet.db.engine import connection
from wallet.gateway.sandbox import SandboxGateway


async def admins(web_app: WebApp) -> tuple[str, str]:
    first, second = await registered_user(web_app), await registered_user(web_app)
    async with server_database(web_app), connection() as conn:
        await conn.execute(
            "UPDATE app_user SET operator_role = 'admin' WHERE username = ANY($1::text[])",
            [first, second],
        )
    return first, second


async def test_a_break_is_resolved_by_an_entry_two_admins_agree_on(
    browser: Browser, web_app: WebApp
) -> None:
    first, second = await admins(web_app)
    redis = Redis.from_url(web_app.redis_url)
    today = datetime.now(UTC).date()
    try:
        # The processor reports a charge nobody booked: an unknown item.
        await SandboxGateway(redis, day_seconds=1).inject_break("unknown", on=today)
    finally:
        await redis.aclose()

    # The first admin, on a phone, reconciles today and proposes the adjusting entry.
    phone = await open_console(await logged_in_phone(browser, web_app, first), "Reconciliation")
    await phone.get_by_label("Day to reconcile").fill(today.isoformat())
    await phone.get_by_role("button", name="Fetch and reconcile").click()
    await expect(phone.get_by_role("status")).to_contain_text("2 files, 1 open breaks")
    breaks = phone.get_by_test_id("open-breaks")
    unknown = breaks.get_by_role("listitem").filter(has_text="Unknown item")
    await expect(unknown).to_contain_text("$12.34")
    await screenshot(phone, "operator-01-open-break-phone")
    await unknown.get_by_label("Note or reason").fill("Processor credit not traced yet")
    await expect(unknown.get_by_label("Counter account")).to_have_value(
        await unknown.get_by_label("Counter account")
        .locator("option", has_text="reconciliation_suspense")
        .get_attribute("value")
        or ""
    )
    await unknown.get_by_role("button", name="Propose adjusting entry").click()
    await expect(phone.get_by_role("status")).to_contain_text("proposed: a second admin")

    # The proposer cannot approve it.
    nav = phone.get_by_role("navigation", name="Operator console")
    await nav.get_by_role("link", name="Adjustments", exact=True).click()
    waiting = phone.get_by_test_id("waiting-adjustments").get_by_role("listitem")
    await expect(waiting).to_contain_text("Processor credit not traced yet")
    await waiting.get_by_role("button", name="Approve and post").click()
    await expect(waiting.get_by_role("alert")).to_contain_text("A second operator must approve")
    await screenshot(phone, "operator-02-four-eyes-refused-phone")

    # The second admin, at a desk, approves: the entry is posted and the break closes.
    desk = await open_console(await logged_in_desktop(browser, web_app, second), "Adjustments")
    item = desk.get_by_test_id("waiting-adjustments").get_by_role("listitem")
    await item.get_by_label("Note").fill("Checked on the processor's portal")
    await item.get_by_role("button", name="Approve and post").click()
    await expect(desk.get_by_role("status")).to_contain_text("approved and posted (entry #")
    await expect(desk.get_by_test_id("decided-adjustments")).to_contain_text(
        "Checked on the processor's portal"
    )
    await screenshot(desk, "operator-03-approved-desktop")
    async with server_database(web_app), connection() as conn:
        entry = await conn.fetchrow(
            "SELECT e.id, e.kind FROM ledger_adjustment a JOIN journal_entry e "
            "ON e.id = a.entry_id WHERE a.status = 'approved'"
        )
    assert entry is not None and entry["kind"] == "adjustment"

    # The ledger explorer finds the entry by its kind; its postings balance; the suspense
    # account's statement shows it.
    nav = desk.get_by_role("navigation", name="Operator console")
    await nav.get_by_role("link", name="Ledger", exact=True).click()
    await desk.get_by_label("Kind").fill("adjustment")
    await desk.get_by_role("button", name="Find entries").click()
    found = desk.get_by_test_id(f"entry-{entry['id']}")
    await expect(found).to_contain_text("Processor credit not traced yet")
    postings = found.get_by_role("table", name=f"Postings of entry {entry['id']}")
    await expect(postings.get_by_role("row")).to_have_count(3)
    await expect(postings).to_contain_text("system:USD:gateway_clearing:sandbox")
    await screenshot(desk, "operator-03b-entry-found-desktop")
    await postings.get_by_role("button", name="system:USD:reconciliation_suspense").click()
    statement = desk.get_by_role("region", name="Statement of system:USD:reconciliation_suspense")
    await expect(statement).to_contain_text("Closing balance")
    await expect(statement.get_by_role("row").last).to_contain_text("$12.34")

    await (
        desk.get_by_role("navigation", name="Operator console")
        .get_by_role("link", name="Reconciliation", exact=True)
        .click()
    )
    await expect(desk.get_by_test_id("open-breaks").get_by_role("listitem")).to_have_count(0)
    await expect(desk.get_by_test_id("resolved-breaks")).to_contain_text("adjusting entry approved")
    # Today's statement was checked against customer money: one row, in USD.
    await expect(desk.get_by_test_id("safeguarding").get_by_role("row")).to_have_count(2)
    await screenshot(desk, "operator-04-reconciled-desktop")

    # The balance sheet, on screen and as a PDF.
    await (
        desk.get_by_role("navigation", name="Operator console")
        .get_by_role("link", name="Statements", exact=True)
        .click()
    )
    sheet = desk.get_by_role("table", name="Balance sheet")
    await expect(sheet).to_contain_text("Balances: assets equal liabilities and equity.")
    await expect(sheet).to_contain_text("$12.34")  # the suspense liability and the clearing asset
    async with desk.expect_download() as download_info:
        await desk.get_by_role("link", name="Download PDF").click()
    download = await download_info.value
    path = await download.path()
    assert path is not None and path.read_bytes().startswith(b"%PDF")
    assert download.suggested_filename.endswith(".pdf")
    await screenshot(desk, "operator-05-balance-sheet-desktop")
    await phone.context.close()
    await desk.context.close()


async def test_the_console_is_closed_to_customers_and_keeps_its_page_on_reload(
    browser: Browser, web_app: WebApp
) -> None:
    customer = await registered_user(web_app)
    page = await go_to(await logged_in_phone(browser, web_app, customer), "Profile")
    await expect(page.get_by_role("link", name="Open the operator console")).to_have_count(0)
    await page.goto(f"{web_app.url}/operator/reconciliation")
    await expect(page.get_by_role("heading", name="Operator console")).to_be_visible()
    await expect(page.get_by_text("Your account has no operator role")).to_be_visible()
    await page.context.close()

    first, _ = await admins(web_app)
    console = await open_console(await logged_in_phone(browser, web_app, first), "Ledger checks")
    assert console.url.endswith("/operator/checks")
    await console.reload()
    await expect(console.get_by_role("heading", name="Ledger checks", level=1)).to_be_visible()
    await console.get_by_role("button", name="Check the whole ledger now").click()
    await expect(console.get_by_role("status")).to_contain_text("Every invariant holds")
    await console.go_back()  # to /operator: an admin's first page, the ledger
    await expect(console.get_by_role("heading", name="Ledger", level=1)).to_be_visible()
    await expect(console.get_by_test_id("ledger-accounts")).to_contain_text(
        "system:USD:fee_revenue"
    )
    nav = console.get_by_role("navigation", name="Operator console")
    await nav.get_by_role("link", name="System", exact=True).click()
    await expect(console.get_by_test_id("system-figures")).to_contain_text("Outbox backlog")
    # The dev worker runs its jobs every few seconds; their last runs show up.
    await expect(console.get_by_test_id("job-runs")).to_contain_text("deliver gateway events")
    await screenshot(console, "operator-06-system-phone")
    await nav.get_by_role("link", name="Merchant fees", exact=True).click()
    await expect(console.get_by_role("heading", name="Merchant fees", level=1)).to_be_visible()
    await console.context.close()
