"""Compliance console in Chromium: a held payment released, an AML case escalated to a
SAR draft and the wallet frozen."""

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    confirm_send,
    go_to,
    logged_in_phone,
    open_console,
    registered_user,
    screenshot,
    server_database,
)
from tests.e2e.test_money_flows import confirm_with_pin, user_with_pin
from wallet.aml import monitor
from wallet.db.engine import transaction
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


async def test_hold_release_and_aml_case_to_sar_and_freeze(
    browser: Browser, web_app: WebApp
) -> None:
    sender = await user_with_pin(web_app, 900_000)
    friend = await registered_user(web_app)
    officer = await registered_user(web_app)
    async with server_database(web_app):
        sender_id = (await authenticate(sender, PASSWORD)).id
        officer_id = (await authenticate(officer, PASSWORD)).id
        async with transaction() as conn:
            await conn.execute(
                "UPDATE app_user SET operator_role = 'compliance' WHERE id = $1", officer_id
            )
            await conn.execute(
                "UPDATE app_user SET verification_level = 'basic' WHERE id = $1", sender_id
            )
            # A first large payment to someone new is enough to hold it here.
            await conn.execute("UPDATE fraud_rule SET score = 60 WHERE code = 'new_recipient'")

    page = await go_to(await logged_in_phone(browser, web_app, sender), "Send")

    async def send_2900(expected: str) -> None:  # just under the $3,000 reporting threshold
        await page.get_by_label("To", exact=True).fill(friend)
        await page.get_by_label("Amount (USD)").fill("2900")
        await confirm_send(page)
        status = page.get_by_role("region", name="Send money").get_by_role("status")
        await expect(status).to_contain_text(expected)
        await page.get_by_role("button", name="Done", exact=True).click()  # the receipt

    await page.get_by_label("To", exact=True).fill(friend)
    await page.get_by_label("Amount (USD)").fill("2900")
    await confirm_send(page)
    await confirm_with_pin(page)
    status = page.get_by_role("region", name="Send money").get_by_role("status")
    await expect(status).to_contain_text("on hold while we check it is really you")
    await screenshot(page, "98-payment-on-hold")
    await page.get_by_role("button", name="Done", exact=True).click()  # the receipt

    console = await open_console(await logged_in_phone(browser, web_app, officer))
    held = (
        console.get_by_test_id("fraud-queue").get_by_role("listitem").filter(has_text=f"@{sender}")
    )
    await expect(held).to_contain_text("first payment to this recipient")
    await held.get_by_label("Note").fill("Called the customer")
    await held.get_by_role("button", name="Release").click()
    await expect(console.get_by_role("status")).to_contain_text("released")
    for _ in range(2):
        await send_2900("Sent $2,900.00")

    async with server_database(web_app):
        assert await monitor.run() != []
    await console.reload()
    case = console.get_by_test_id("aml-cases").get_by_role("listitem").filter(has_text=f"@{sender}")
    await expect(case).to_contain_text("Structuring")
    await case.get_by_label("Narrative or reason").fill(
        "Three payments of $2,900 to one person within minutes, each under $3,000."
    )
    await case.get_by_role("button", name="Escalate to SAR").click()
    await expect(case).to_contain_text("escalated")
    async with console.expect_download() as download:
        await case.get_by_role("button", name="Download SAR draft").click()
    assert (await download.value).suggested_filename.startswith("sar-case-")
    await case.get_by_label("Narrative or reason").fill("SAR filed; stop outgoing money")
    await case.get_by_role("button", name="Freeze wallet").click()
    await expect(case).to_contain_text("wallet frozen (SAR filed; stop outgoing money)")
    await screenshot(console, "99-aml-case-frozen")

    await page.reload()
    await expect(available(page)).to_have_text("$300.00")
    # The frozen wallet's Send says why, at the button, before anyone tries.
    await expect(page.get_by_role("button", name="Review", exact=True)).to_be_disabled()
    await expect(page.get_by_role("region", name="Send money")).to_contain_text("frozen")

    await case.get_by_role("button", name="Lift the freeze").click()
    await expect(case).to_contain_text("wallet active")
    await page.reload()
    await page.get_by_label("To", exact=True).fill(friend)
    await page.get_by_label("Amount (USD)").fill("10")
    await confirm_send(page)
    await expect(available(page)).to_have_text("$290.00", timeout=10_000)
    await page.context.close()
    await console.context.close()
