"""Split a bill and settle up in Chromium: a group, invitations accepted, an expense, real
transfers and requests."""

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    WebApp,
    available,
    go_to,
    logged_in_phone,
    registered_user,
    screenshot,
)

pytestmark = pytest.mark.e2e


async def test_split_a_bill_and_settle_up(browser: Browser, web_app: WebApp) -> None:
    alice = await registered_user(web_app)
    bob = await registered_user(web_app, 5_000)
    carol = await registered_user(web_app, 5_000)
    page = await logged_in_phone(browser, web_app, alice)
    await go_to(page, "Split")
    await page.get_by_label("Group name").fill("Ski weekend")
    await page.get_by_label("Invite").fill(f"@{bob}, @{carol}")
    await page.get_by_role("button", name="Create group").click()
    await expect(page.get_by_test_id("split-invited")).to_have_text(f"Invited: @{bob} · @{carol}")
    await screenshot(page, "59-split-invited")

    # Each joins by accepting in their own app (review finding 17: no one is added, or
    # charged, without saying yes).
    phones = {}
    for name in (bob, carol):
        invitee = phones[name] = await logged_in_phone(browser, web_app, name)
        await go_to(invitee, "Split")
        invitations = invitee.get_by_test_id("split-invitations")
        await expect(invitations).to_contain_text(f"@{alice} invited you to Ski weekend")
        if name == bob:
            await screenshot(invitee, "59-split-invitation")
        await invitations.get_by_role("button", name="Accept").click()
        await expect(invitee.get_by_test_id("split-group")).to_contain_text(f"@{alice}")
        await expect(invitations).to_have_count(0)
    await phones[carol].context.close()

    await page.reload()
    await go_to(page, "Split")
    group = page.get_by_test_id("split-group")
    await expect(group).to_contain_text(f"@{alice} · @{bob} · @{carol}")
    await expect(page.get_by_test_id("split-invited")).to_have_count(0)
    await expect(group).to_contain_text("Everyone is square.")

    await page.get_by_text("Add an expense").click()
    await page.get_by_label("What for").fill("Cabin")
    await page.get_by_label("Amount", exact=True).fill("90")
    await page.get_by_label("Split", exact=True).select_option("SHARES")
    await page.get_by_label(f"Shares for @{alice}").fill("1")
    await page.get_by_label(f"Shares for @{bob}").fill("1")
    await page.get_by_label(f"Shares for @{carol}").fill("1")
    await page.get_by_role("button", name="Add expense").click()
    balances = page.get_by_role("list", name="Balances")
    await expect(balances).to_contain_text(f"@{alice} (you)is owed $60.00")
    await expect(balances).to_contain_text(f"@{bob}owes $30.00")
    suggested = page.get_by_role("list", name="Suggested payments")
    await expect(suggested).to_contain_text(f"@{carol} → @{alice}: $30.00")
    await screenshot(page, "60-split-group")

    bob_page = phones[bob]  # Bob's own phone (the same device he accepted on)
    await bob_page.reload()
    await go_to(bob_page, "Split")
    await bob_page.get_by_role("button", name="Settle up", exact=True).click()
    await expect(bob_page.get_by_role("status")).to_have_text(f"Settled up: paid @{alice} $30.00")
    await expect(available(bob_page)).to_have_text("$20.00")
    await screenshot(bob_page, "61-split-settled-by-bob")
    await bob_page.context.close()

    await expect(available(page)).to_have_text("$30.00", timeout=10_000)  # live
    await page.get_by_role("button", name="Settle up", exact=True).click()
    await expect(page.get_by_text(f"Settled up: asked @{carol} for $30.00")).to_be_visible()
    await screenshot(page, "62-split-asked-carol")
    await go_to(page, "Home")  # the request waits among Home's pending items
    await expect(page.get_by_test_id("requests")).to_contain_text("$30.00", timeout=10_000)
    await page.context.close()
