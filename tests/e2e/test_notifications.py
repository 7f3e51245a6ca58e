"""The notification centre in Chromium (issue 19): the bell counts live, the centre
lists what came with where it leads, one or all are marked read; the preferences grid
keeps what is chosen and security alerts cannot be turned off."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    logged_in_desktop,
    logged_in_phone,
    registered_user,
    screenshot,
)

pytestmark = pytest.mark.e2e

SIZES = ["phone", "desktop"]

LOG_IN = """mutation($input: LogInInput!) { logIn(input: $input) {
  __typename ... on AuthPayload { token } } }"""
SEND = """mutation($input: SendMoneyInput!) { sendMoney(input: $input) {
  __typename ... on UserError { message } } }"""


async def graphql(
    web_app: WebApp, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=web_app.url, timeout=20) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


_tokens: dict[str, str] = {}


async def send_from(web_app: WebApp, sender: str, recipient: str, amount: str) -> None:
    """`sender` pays `recipient` from another client (the API, one bearer session: a
    second sign-in would be a new device, asked to confirm it is them)."""
    if sender not in _tokens:
        login = {"login": sender, "password": PASSWORD, "sessionTransport": "BEARER"}
        _tokens[sender] = (await graphql(web_app, LOG_IN, {"input": login}))["logIn"]["token"]
    token = _tokens[sender]
    assert token, "no bearer token"
    send = {"recipient": f"@{recipient}", "amount": amount, "idempotencyKey": uuid.uuid4().hex}
    sent = (await graphql(web_app, SEND, {"input": send}, token))["sendMoney"]
    assert sent["__typename"] == "SendMoneyPayload", sent


async def open_as(browser: Browser, web_app: WebApp, username: str, size: str) -> Page:
    if size == "phone":
        return await logged_in_phone(browser, web_app, username)
    return await logged_in_desktop(browser, web_app, username)


def bell(page: Page) -> Locator:
    """The bell in the header (the top bar on a phone, the side bar on a wide screen)."""
    return page.locator("[data-testid=bell]:visible")


async def unread_on_bell(page: Page) -> int:
    label = await bell(page).get_attribute("aria-label") or ""
    found = re.search(r"(\d+) unread", label)
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("size", SIZES)
async def test_money_received_rings_the_bell_live_and_the_centre_links_to_it(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    alice = await registered_user(web_app, 5_000)
    bob = await registered_user(web_app)
    page = await open_as(browser, web_app, bob, size)
    await expect(bell(page)).to_have_count(1)
    await expect(bell(page)).to_have_attribute("aria-label", re.compile("^Notifications"))
    await page.wait_for_timeout(1_500)  # notices of the sign-in itself, if any, land first
    before = await unread_on_bell(page)

    await send_from(web_app, alice, bob, "12.34")
    await expect(bell(page)).to_have_attribute(
        "aria-label", f"Notifications, {before + 1} unread", timeout=15_000
    )
    await expect(bell(page).get_by_test_id("bell-count")).to_have_text(str(before + 1))
    await screenshot(page, f"notifications-bell-{size}")

    await bell(page).click()
    await expect(page).to_have_url(re.compile(r"/notifications$"))
    await expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    item = page.get_by_test_id("centre-item").filter(has_text="You received $12.34")
    await expect(item).to_have_class(re.compile("unread"))
    await expect(item.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    await screenshot(page, f"notifications-centre-{size}")

    # Mark that one read: the bell goes down with it.
    await item.get_by_role("button", name=re.compile("^Mark .* as read$")).click()
    await expect(item).to_have_class(re.compile(r"\bread\b"))
    await expect(bell(page)).to_have_attribute(
        "aria-label",
        re.compile(f"^Notifications(, {before} unread)?$") if before else "Notifications",
    )

    # Its deep link opens where the payment is listed.
    await item.get_by_role("link", name="You received $12.34").click()
    await expect(page).to_have_url(re.compile(r"/activity$"))
    await expect(page.get_by_role("heading", name="Activity", level=1)).to_be_visible()

    # Another one, then all read at once.
    await send_from(web_app, alice, bob, "1.00")
    await expect(bell(page).get_by_test_id("bell-count")).to_be_visible(timeout=15_000)
    await bell(page).click()
    await page.get_by_role("button", name="Mark all as read").click()
    await expect(page.get_by_role("heading", name="All caught up")).to_be_visible()
    await expect(bell(page)).to_have_attribute("aria-label", "Notifications")
    await expect(
        page.get_by_test_id("centre-item").filter(has_text="You received $1.00")
    ).to_have_class(re.compile(r"\bread\b"))

    # A reload lands on the centre (a page of the app of its own).
    await page.reload()
    await expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    await expect(page.get_by_test_id("centre-item")).not_to_have_count(0)
    await page.context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_preferences_are_kept_and_security_alerts_stay_on(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    user = await registered_user(web_app, 2_500)
    page = await open_as(browser, web_app, user, size)
    main = page.get_by_role("navigation", name="Main", exact=True)
    await main.get_by_role("link", name="Profile", exact=True).click()
    await (
        page.get_by_role("navigation", name="Profile", exact=True)
        .get_by_role("link", name="Notifications", exact=True)
        .click()
    )
    await expect(page).to_have_url(re.compile(r"/profile/notifications$"))

    grid = page.get_by_test_id("preference-grid")
    await expect(grid).to_be_visible()
    for channel in ("IN_APP", "EMAIL", "SMS", "PUSH"):
        security = page.get_by_test_id(f"pref-SECURITY-{channel}")
        await expect(security).to_be_checked()
        await expect(security).to_be_disabled()

    marketing = page.get_by_test_id("pref-MARKETING-EMAIL")
    was = await marketing.is_checked()
    await marketing.click()
    await expect(page.get_by_text("Saved.")).to_be_visible()
    weekly = page.get_by_test_id("pref-WEEKLY_SUMMARY-SMS")
    weekly_was = await weekly.is_checked()
    await weekly.click()
    await expect(weekly).to_be_checked(checked=not weekly_was)

    await page.get_by_label("USD below").fill("20.00")
    await (
        page.get_by_role("listitem")
        .filter(has=page.get_by_label("USD below"))
        .get_by_role("button", name="Save")
        .click()
    )
    await expect(page.get_by_test_id("low-balance-status")).to_contain_text("below 20.00")
    await screenshot(page, f"notifications-preferences-{size}")

    await page.reload()
    await expect(page.get_by_test_id("pref-MARKETING-EMAIL")).to_be_checked(checked=not was)
    await expect(page.get_by_test_id("pref-WEEKLY_SUMMARY-SMS")).to_be_checked(
        checked=not weekly_was
    )
    await expect(page.get_by_test_id("pref-SECURITY-EMAIL")).to_be_disabled()
    await expect(page.get_by_label("USD below")).to_have_value("20.00")
    await page.context.close()
