"""The shop owner's dashboard in Chromium, at a desk and on a phone: a pay link made on
the dashboard is paid by a customer on their own phone and the sale shows up live (date,
time, @customer) with the next payout less fees; an API key is shown once, listed and
revoked after a confirmation."""

import re
import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    logged_in_desktop,
    logged_in_phone,
    open_shop,
    registered_user,
    screenshot,
    server_database,
)
from tests.graphql_client import LOG_IN, gql
from tests.merchant_helpers import CREATE, PAY, open_merchant
from wallet.db.engine import transaction
from wallet.merchants.approval import Decision, decide
from wallet.users.pin import set_pin
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


async def settled_shop(owner_id: int, officer_id: int) -> None:
    """The owner's shop, approved by compliance, with a bank account to pay out to (the
    payment method row an added sandbox bank leaves)."""
    merchant = await open_merchant(owner_id, "Corner Coffee", "5814", "US", "San Francisco")
    async with transaction() as conn:
        await conn.execute(
            "UPDATE app_user SET operator_role = 'compliance' WHERE id = $1", officer_id
        )
        method = await conn.fetchval(
            "INSERT INTO payment_method (user_id, kind, token, brand, last4) "
            "VALUES ($1, 'bank_account', $2, 'Sandbox Bank', '6789') RETURNING id",
            owner_id,
            f"tok_bank_dashboard_{owner_id}",
        )
        await conn.execute(
            "UPDATE merchant SET settlement_method_id = $2 WHERE id = $1", merchant.id, method
        )
    await decide(merchant.id, officer_id, Decision.APPROVE, "Registration checked")


async def ask_for_payment(page: Page, amount: str, what: str) -> str:
    """Make a pay link on the dashboard; its reference."""
    dashboard = page.get_by_role("region", name="Shop dashboard")
    ask = dashboard.get_by_role("button", name="Ask for a payment")
    if await ask.count():
        await ask.click()
    form = dashboard.get_by_role("form", name="Ask for a payment")
    await form.get_by_label("Amount (USD)").fill(amount)
    await form.get_by_label("What for").fill(what)
    await form.get_by_role("button", name="Create pay link").click()
    link = dashboard.get_by_role("textbox", name=f"Pay link for ${amount}")
    await expect(link).to_be_visible()
    url = await link.input_value()
    return parse_qs(urlparse(url).query)["pay"][0]


async def pay_link(buyer: Page, web_app: WebApp, reference: str, pin: str, paid: str) -> None:
    """The customer opens the pay link on their own phone and pays it with their PIN."""
    await buyer.goto(f"{web_app.url}/?pay={reference}")
    await expect(buyer.get_by_test_id("pay-confirm")).to_contain_text("Corner Coffee")
    await buyer.get_by_label("Transaction PIN").fill(pin)
    await buyer.get_by_role("button", name="Pay", exact=True).click()
    await expect(buyer.get_by_role("status")).to_have_text(paid)


async def pay_at_the_till(web_app: WebApp, owner: str, buyer: str, amount: str) -> None:
    """A sale the dashboard did not make: the till's request, paid from another app (as
    a cashier's till and the customer's phone would), over the API."""
    async with httpx.AsyncClient(base_url=web_app.url) as http:
        tokens = {}
        for name in (owner, buyer):
            login = {"login": name, "password": PASSWORD, "sessionTransport": "BEARER"}
            tokens[name] = (await gql(http, LOG_IN, {"input": login}))["data"]["logIn"]["token"]
        shop = (await gql(http, "{ myMerchants { id } }", token=tokens[owner]))["data"]
        request = {"merchantId": shop["myMerchants"][0]["id"], "amount": amount}
        made = await gql(http, CREATE, {"input": request}, token=tokens[owner])
        reference = made["data"]["createPaymentRequest"]["request"]["id"]
        paying = {"requestId": reference, "pin": "2468", "idempotencyKey": uuid.uuid4().hex}
        paid = await gql(http, PAY, {"input": paying}, token=tokens[buyer])
        assert paid["data"]["payPaymentRequest"]["__typename"] == "PayPaymentRequestPayload", paid


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot from the top (the sticky top bar stays where it belongs)."""
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, name)


async def expect_date_and_time(page: Page, sale) -> None:  # type: ignore[no-untyped-def]
    """The sale's date and time, as the browser's locale writes them."""
    when = sale.locator("time")
    iso = await when.get_attribute("datetime")
    expected = await page.evaluate(
        "(iso) => [new Intl.DateTimeFormat(undefined, {dateStyle: 'medium'}).format(new Date(iso)),"
        " new Intl.DateTimeFormat(undefined, {timeStyle: 'short'}).format(new Date(iso))]",
        iso,
    )
    await expect(when).to_have_text(f"{expected[0]}, {expected[1]}")
    assert re.search(r"\d{1,2}:\d{2}", expected[1])


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_sales_arrive_live_with_the_payout_and_keys_are_shown_once_and_revoked(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    owner_name = await registered_user(web_app)
    buyer_name = await registered_user(web_app, 2_000)
    officer_name = await registered_user(web_app)
    # At a desk the shop is approved and pays out to a bank; the phone's shop waits for
    # approval and has no bank account yet (it takes payments all the same).
    settles = size == "desktop"
    async with server_database(web_app):
        owner_id = (await authenticate(owner_name, PASSWORD)).id
        buyer_id = (await authenticate(buyer_name, PASSWORD)).id
        if settles:
            await settled_shop(owner_id, (await authenticate(officer_name, PASSWORD)).id)
        else:
            await open_merchant(owner_id, "Corner Coffee", "5814", "US", "San Francisco")
        await set_pin(buyer_id, "2468")
    login = logged_in_desktop if size == "desktop" else logged_in_phone
    owner = await open_shop(await login(browser, web_app, owner_name), "Dashboard")
    buyer = await logged_in_phone(browser, web_app, buyer_name)
    dashboard = owner.get_by_role("region", name="Shop dashboard")
    payout = dashboard.get_by_test_id("next-payout")
    await expect(payout).to_contain_text("Nothing to pay out yet")
    await expect(dashboard.get_by_test_id("merchant-payments")).to_have_count(1)
    await expect(dashboard.get_by_role("region", name="Payments")).to_contain_text(
        "No payments yet."
    )

    # Two sales, each paid on the customer's phone; the dashboard is never reloaded.
    sales = dashboard.get_by_test_id("merchant-payments").get_by_role("listitem")
    first = await ask_for_payment(owner, "4.50", "Flat white")
    await shot(owner, f"dashboard-{size}-1-pay-link")
    await pay_link(buyer, web_app, first, "2468", "Paid $4.50 to Corner Coffee")
    await expect(sales).to_have_count(1, timeout=10_000)
    await expect(sales.first).to_contain_text("$4.50 · completed")
    await expect(sales.first).to_contain_text(f"@{buyer_name}")
    await expect(sales.first).to_contain_text("New")
    await expect_date_and_time(owner, sales.first)

    second = await ask_for_payment(owner, "8.50", "Beans, 1 kg")
    await pay_link(buyer, web_app, second, "2468", "Paid $8.50 to Corner Coffee")
    await expect(sales).to_have_count(2, timeout=10_000)
    await expect(sales.first).to_contain_text("$8.50 · completed")
    await expect(sales.first).to_contain_text(f"@{buyer_name}")
    await expect(
        dashboard.get_by_role("list", name="Pay links").get_by_text("Paid ✓")
    ).to_have_count(2)

    # A sale made at the till, not on this page, shows up live too (merchantSales).
    await pay_at_the_till(web_app, owner_name, buyer_name, "1.00")
    await expect(sales).to_have_count(3, timeout=10_000)
    await expect(sales.first).to_contain_text("$1.00 · completed")
    await expect(sales.first).to_contain_text("New")

    # $14.00 less 2.9 % (0.406 -> $0.41) and $0.30 a payment: $1.31 of fees.
    await expect(payout).to_contain_text("$12.69 (after $1.31 fees, 3 payments)")
    if settles:
        await expect(payout).to_contain_text(re.compile(r"Next payout: \w{3} \d{1,2}, \d{4}, \d"))
        await expect(payout).not_to_contain_text("settlement account")
    else:
        await expect(payout).to_contain_text("Next payout: not scheduled yet")
        await expect(payout).to_contain_text(
            "Payouts start once the shop is approved and has a settlement account"
        )
        await expect(dashboard.get_by_test_id("merchant-approval")).to_contain_text(
            "Waiting for approval"
        )
    await shot(owner, f"dashboard-{size}-2-sales-live")

    # An API key: shown once, listed, revoked after a confirmation.
    keys = dashboard.get_by_role("region", name="API keys")
    await keys.get_by_label("Key label").fill("web shop server")
    await keys.get_by_role("button", name="Create API key").click()
    secret = keys.get_by_role("group", name="API key (shown once)")
    await expect(secret).to_contain_text("Store it now")
    await expect(secret).to_contain_text("API key (shown once): mk_")
    key = await secret.locator("code").inner_text()
    listed = (
        keys.get_by_test_id("api-keys").get_by_role("listitem").filter(has_text="web shop server")
    )
    await expect(listed).to_contain_text("Active")
    prefix = (await listed.locator("code").inner_text()).rstrip("…")
    assert key.startswith(prefix) and len(key) > len(prefix)
    await expect(secret.get_by_role("button", name="Copy the api key")).to_be_visible()
    await shot(owner, f"dashboard-{size}-3-key-shown-once")
    await secret.get_by_role("button", name="I have stored it").click()
    await expect(secret).to_have_count(0)
    await expect(keys).not_to_contain_text(key)
    # One secret on the page at a time: the webhook's signing secret replaces a key.
    await keys.get_by_label("Key label").fill("till tablet")
    await keys.get_by_role("button", name="Create API key").click()
    await expect(secret).to_be_visible()
    await dashboard.get_by_label("Endpoint URL").fill("https://93.184.215.14/hooks")
    await dashboard.get_by_role("button", name="Save endpoint").click()
    await expect(dashboard.get_by_test_id("secret")).to_contain_text(
        "Signing secret (shown once): whsec_"
    )
    await expect(secret).to_have_count(0)

    await listed.get_by_role("button", name="Revoke the key web shop server").click()
    confirm = listed.get_by_role("group", name="Revoke the key web shop server?")
    await expect(confirm).to_contain_text("stops working at once")
    await shot(owner, f"dashboard-{size}-4-revoke-confirmation")
    await confirm.get_by_role("button", name="Revoke key").click()
    await expect(listed).to_contain_text("Revoked")
    await expect(listed).not_to_contain_text("Active")
    await expect(listed.get_by_role("button", name=re.compile("Revoke"))).to_have_count(0)
    await expect(keys.get_by_role("status")).to_contain_text("Revoked “web shop server”")
    await shot(owner, f"dashboard-{size}-5-key-revoked")
    for page in (owner, buyer):
        await page.context.close()
