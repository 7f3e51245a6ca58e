"""Rewards in Chromium: cashback and points on a merchant payment, taken back on refund."""

import pytest
from playwright.async_api import Browser, expect

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
from tests.merchant_helpers import open_merchant
from wallet.db.engine import transaction
from wallet.merchants.checkout import charge, refund
from wallet.merchants.service import staff_principal
from wallet.money import Currency, Money
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


async def test_cashback_on_a_payment_and_its_reversal_on_refund(
    browser: Browser, web_app: WebApp
) -> None:
    owner = await registered_user(web_app)
    buyer = await registered_user(web_app, 5_000)
    async with server_database(web_app):
        owner_id = (await authenticate(owner, PASSWORD)).id
        buyer_id = (await authenticate(buyer, PASSWORD)).id
        shop = await open_merchant(owner_id, "Corner Coffee", "5814", "US", "SF")
    page = await logged_in_phone(browser, web_app, buyer)
    await go_to(page, "Rewards")
    await expect(page.get_by_text("Pay a merchant to earn points and cashback.")).to_be_visible()

    async with server_database(web_app), transaction() as conn:
        payment_id = await charge(
            conn,
            payer_id=buyer_id,
            merchant_id=shop.id,
            amount=Money(1_000, Currency.USD),
            note="Lunch",
        )
    awards = page.get_by_test_id("awards")
    # The worker awards it; the list refreshes with the balance change it announces.
    await expect(awards).to_contain_text("+30 pts · $0.20 back", timeout=15_000)
    await expect(page.get_by_test_id("points")).to_have_text("30 points")
    await expect(available(page)).to_have_text("$40.20")
    await expect(page.get_by_label("Badges")).to_contain_text("★ First payment")
    await screenshot(page, "80-rewards-cashback")

    async with server_database(web_app):
        await refund(
            await staff_principal(shop.id, owner_id),
            payment_id,
            Money(1_000, Currency.USD),
            "refund-lunch",
        )
    await expect(available(page)).to_have_text("$50.00", timeout=10_000)
    await expect(awards).to_contain_text("+0 pts · $0.20 back ($0.20 returned)", timeout=10_000)
    await expect(page.get_by_test_id("points")).to_have_text("0 points")
    await screenshot(page, "81-rewards-reversed")
    await page.context.close()
