"""The app's structure in Chromium, on a phone (390x844) and a desk (1280x800): a bottom
bar or a side bar of five destinations, a URL per screen (deep links, reload, the back
button), and the shop's and the console's own modes without the wallet's navigation."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    go_to,
    registered_user,
    screenshot,
    server_database,
)
from tests.merchant_helpers import open_merchant
from wallet.db.engine import transaction
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# Each destination of the main navigation: its address and its screen's heading.
DESTINATIONS = [
    ("Home", "/", None),
    ("Pay", "/pay/send", "Pay"),
    ("Activity", "/activity", "Activity"),
    ("Cards & accounts", "/accounts", "Cards & accounts"),
    ("Profile", "/profile", "Profile"),
]


async def log_in(
    browser: Browser, web_app: WebApp, username: str, size: str, path: str = "/"
) -> Page:
    viewport = PHONE if size == "phone" else DESKTOP
    phone = size == "phone"
    context = await browser.new_context(
        viewport=viewport, device_scale_factor=2 if phone else 1, is_mobile=phone, has_touch=phone
    )
    page = await context.new_page()
    await page.goto(web_app.url + path)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    main_nav = page.get_by_role("navigation", name="Main", exact=True)
    await expect(main_nav).to_be_visible(timeout=15_000)
    return page


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_each_destination_renders_in_its_navigation_with_its_url(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    username = await registered_user(web_app, 4_200)
    page = await log_in(browser, web_app, username, size)
    await expect(page.get_by_role("heading", name=f"Hi, {username}", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main", exact=True)
    await expect(nav).to_be_visible()
    box = await nav.bounding_box()
    assert box is not None
    if size == "phone":
        # A bar along the bottom of the screen, the width of the screen.
        assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1), box
        assert box["width"] == pytest.approx(PHONE["width"], abs=1) and box["height"] < 90, box
    else:
        # A bar down the left side, the height of the window; the content uses the rest.
        assert box["x"] == 0 and box["height"] == pytest.approx(DESKTOP["height"], abs=1), box
        assert box["width"] < 300, box
        content = await page.get_by_role("main").bounding_box()
        assert content is not None and content["x"] >= box["width"] and content["width"] > 800

    for label, path, heading in DESTINATIONS:
        link = nav.get_by_role("link", name=label, exact=True)
        await link.click()
        await expect(page).to_have_url(re.compile(re.escape(path) + r"$"))
        await expect(link).to_have_attribute("aria-current", "page")
        await expect(nav.locator("[aria-current=page]")).to_have_count(1)
        title = heading or f"Hi, {username}"
        await expect(page.get_by_role("heading", name=title, level=1, exact=True)).to_be_visible()
        await expect(page.get_by_role("main")).to_have_count(1)
        name = label.lower().replace(" & ", "-")
        await screenshot(page, f"nav-{name}-{size}")

    # Every screen behind the five is two taps away, each at its own address.
    for screen, path in [
        ("Send", "/pay/send"),
        ("Request", "/pay/request"),
        ("Pay", "/pay/scan"),
        ("Add", "/pay/add"),
        ("Withdraw", "/pay/withdraw"),
        ("Convert", "/pay/convert"),
        ("Split", "/pay/split"),
        ("Bills", "/pay/bills"),
        ("Budget", "/activity/budget"),
        ("Balances", "/accounts"),
        ("Goals", "/accounts/goals"),
        ("Rewards", "/accounts/rewards"),
        ("Security", "/profile/security"),
        ("Limits", "/profile/limits"),
    ]:
        await go_to(page, screen)
        await expect(page).to_have_url(re.compile(re.escape(path) + r"$"))
    await page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_a_deep_link_survives_log_in_reload_and_the_back_button(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    username = await registered_user(web_app, 1_000)
    # Signed out, the address opens the log-in; once in, the page that was asked for.
    page = await log_in(browser, web_app, username, size, "/activity/budget")
    budget = page.get_by_role("navigation", name="Activity", exact=True).get_by_role(
        "link", name="Budget"
    )
    await expect(budget).to_have_attribute("aria-current", "page")
    await expect(page).to_have_url(re.compile(r"/activity/budget$"))

    await page.reload()
    await expect(budget).to_have_attribute("aria-current", "page")
    await expect(page.get_by_role("heading", name="Activity", level=1)).to_be_visible()

    nav = page.get_by_role("navigation", name="Main", exact=True)
    await nav.get_by_role("link", name="Pay", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/pay/send$"))
    await expect(page.get_by_role("region", name="Send money")).to_be_visible()
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"/activity/budget$"))
    await expect(budget).to_have_attribute("aria-current", "page")
    await page.go_forward()
    await expect(page).to_have_url(re.compile(r"/pay/send$"))

    # Home's actions are links to their screens.
    await nav.get_by_role("link", name="Home", exact=True).click()
    await expect(available(page)).to_have_text("$10.00")
    actions = page.get_by_role("navigation", name="Move money")
    await actions.get_by_role("link", name="Request").click()
    await expect(page).to_have_url(re.compile(r"/pay/request$"))
    await page.go_back()
    await actions.get_by_role("link", name="Scan").click()
    await expect(page).to_have_url(re.compile(r"/pay/scan$"))

    # An address that is no page says so, inside the wallet.
    await page.goto(f"{web_app.url}/pay/nowhere")
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    await expect(nav).to_be_visible()
    await page.context.close()


async def test_a_payment_link_opens_scan_and_pay(browser: Browser, web_app: WebApp) -> None:
    username = await registered_user(web_app, 1_000)
    page = await log_in(browser, web_app, username, "phone", "/?pay=R42")
    await expect(page).to_have_url(re.compile(r"/pay/scan\?pay=R42$"))
    await page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_the_shop_and_the_console_are_modes_of_their_own(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    owner = await registered_user(web_app)
    async with server_database(web_app):
        owner_id = (await authenticate(owner, PASSWORD)).id
        await open_merchant(owner_id, "Corner Coffee", "5814", "US", "San Francisco")
        async with transaction() as conn:
            await conn.execute(
                "UPDATE app_user SET operator_role = 'admin' WHERE id = $1", owner_id
            )
    page = await log_in(browser, web_app, owner, size)
    main_nav = page.get_by_role("navigation", name="Main", exact=True)

    await go_to(page, "Profile")
    await page.get_by_role("link", name="Open Corner Coffee's till").click()
    shop = page.get_by_role("navigation", name="Shop", exact=True)
    await expect(shop.get_by_role("link", name="Till")).to_have_attribute("aria-current", "page")
    await expect(page).to_have_url(re.compile(r"/merchant/till$"))
    await expect(page.get_by_role("heading", name="Corner Coffee · point of sale")).to_be_visible()
    await expect(main_nav).to_have_count(0)
    await expect(page.get_by_test_id("balance-USD")).to_have_count(0)
    await screenshot(page, f"nav-merchant-till-{size}")
    await shop.get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_role("region", name="Shop dashboard")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("region", name="Shop dashboard")).to_be_visible()
    await expect(main_nav).to_have_count(0)
    await screenshot(page, f"nav-merchant-dashboard-{size}")
    await shop.get_by_role("link", name="Disputes").click()
    await expect(page.get_by_text("No disputes.")).to_be_visible()
    await shop.get_by_role("link", name="My wallet").click()
    await expect(page.get_by_role("heading", name=f"Hi, {owner}")).to_be_visible()
    await expect(main_nav).to_be_visible()

    await page.goto(f"{web_app.url}/operator/ledger")
    console = page.get_by_role("navigation", name="Operator console")
    await expect(console.get_by_role("link", name="Ledger", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.get_by_role("heading", name="Ledger", level=1)).to_be_visible()
    await expect(main_nav).to_have_count(0)
    await expect(page.get_by_role("navigation", name="Shop", exact=True)).to_have_count(0)
    await screenshot(page, f"nav-operator-{size}")
    await page.context.close()


async def test_landmarks_focus_and_labels(browser: Browser, web_app: WebApp) -> None:
    username = await registered_user(web_app)
    page = await log_in(browser, web_app, username, "desktop")
    await expect(page.get_by_role("main")).to_have_count(1)
    # On a freshly opened page, the first Tab reaches the skip link.
    await page.reload()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    assert await skip.evaluate("e => e.getBoundingClientRect().top >= 0")
    # Focus is visible: the focused link draws an outline.
    await page.keyboard.press("Tab")
    focused = page.locator(":focus")
    outline = await focused.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("none", ""), outline
    # No button or link without a name a screen reader can say.
    unnamed = await page.evaluate(
        """() => [...document.querySelectorAll('button, a[href]')]
             .filter(e => !(e.getAttribute('aria-label') || e.textContent.trim() || e.title))
             .map(e => e.outerHTML)"""
    )
    assert unnamed == []
    await page.context.close()
