"""Referrals in Chromium (issue 18, item 8): a user shares their link, a friend signs up
from it, verifies and adds money, and both see the bonus and the badge."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    confirm_with_emailed_code,
    go_to,
    logged_in_phone,
    new_phone,
    registered_user,
    screenshot,
)

pytestmark = pytest.mark.e2e


async def desktop(browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    return await context.new_page()


async def sign_up_from(page: Page, link: str, username: str) -> None:
    n = username.removeprefix("friend_")
    await page.goto(link)
    # The link opens the sign-up form, says what the friend gets, and carries the code.
    await expect(page.get_by_role("heading", name="Create your wallet")).to_be_visible()
    await expect(page.get_by_test_id("invitation")).to_contain_text(
        "A friend invited you: you get $5.00 when you verify your identity and add, send or "
        "pay $10.00 or more in your first 30 days."
    )
    code = link.rsplit("=", 1)[1]
    await expect(page.get_by_label("Invitation code (optional)")).to_have_value(code)
    await page.get_by_label("Email").fill(f"{username}@example.com")
    await page.get_by_label("Phone").fill(f"+1415558{n[-4:]:0>4}")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create wallet").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()


async def verify_identity(page: Page) -> None:
    await go_to(page, "Limits")
    identity = page.get_by_role("form", name="Verify your identity")
    await identity.get_by_label("Full legal name").fill("Kim Newcomer")
    await identity.get_by_label("Date of birth").fill("1992-03-14")
    await identity.get_by_label("Country (2 letters)").fill("US")
    await identity.get_by_label("Home address").fill("1 Market Street, San Francisco")
    await identity.get_by_role("button", name="Verify").click()
    await expect(page.get_by_test_id("verification-level")).to_have_text("Basic")


async def add_money_by_card(page: Page, web_app: WebApp, number: str, amount: str) -> None:
    await go_to(page, "Add")
    await page.get_by_role("button", name="+ Link a card").click()
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry (MM/YY)").fill("12/30")
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name="Link card").click()
    # A new account has no second factor yet: its password and an emailed code.
    await confirm_with_emailed_code(page, web_app)
    await expect(page.get_by_label("From")).to_contain_text("ending 4444")
    await page.get_by_label("Amount (USD)").fill(amount)
    await page.get_by_role("button", name="Add money", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(f"Added ${amount}")


async def test_a_friend_joins_from_the_link_qualifies_and_both_get_the_bonus_and_badge(
    browser: Browser, web_app: WebApp
) -> None:
    referrer = await registered_user(web_app, 2_000)
    inviter = await logged_in_phone(browser, web_app, referrer)
    await go_to(inviter, "Rewards")
    link = await inviter.get_by_label("Your invitation link").input_value()
    code = await inviter.get_by_test_id("referral-code").inner_text()
    assert link == f"{web_app.url}/?ref={code}"
    await expect(inviter.get_by_label("Badges")).to_contain_text("☆ Brought a friend")
    await inviter.get_by_role("heading", name="Invite friends").scroll_into_view_if_needed()
    await screenshot(inviter, "160-referral-share-phone")

    friend = f"friend_{os.getpid() % 10_000:04d}"
    newcomer = await new_phone(browser)  # the friend's own phone
    await sign_up_from(newcomer, link, friend)
    await screenshot(newcomer, "161-referral-joined-phone")
    # The inviter opens Rewards again and finds the friend there.
    await go_to(inviter, "Send")
    await go_to(inviter, "Rewards")
    friends = inviter.get_by_label("Friends you invited")
    await expect(friends).to_contain_text(f"@{friend} joined: waiting for their first top-up")

    await verify_identity(newcomer)
    await add_money_by_card(newcomer, web_app, "5555 5555 5555 4444", "20.00")
    # The worker pays both once the top-up completes; the balances update live.
    await expect(available(newcomer)).to_have_text("$25.00", timeout=15_000)
    await expect(available(inviter)).to_have_text("$30.00", timeout=15_000)
    await expect(friends).to_contain_text(f"@{friend} bonus paid", timeout=10_000)
    await expect(inviter.get_by_label("Badges")).to_contain_text("★ Brought a friend")
    await screenshot(inviter, "162-referral-paid-inviter-phone")
    await go_to(newcomer, "Rewards")
    await expect(newcomer.get_by_text(f"You joined with @{referrer}'s invitation.")).to_be_visible()
    await go_to(newcomer, "Activity")
    await expect(newcomer.get_by_test_id("activity")).to_contain_text(
        f"Welcome bonus: invited by @{referrer}"
    )
    await screenshot(newcomer, "163-referral-paid-friend-phone")

    # The same at desktop size.
    wide = await desktop(browser)
    await wide.goto(web_app.url)
    await wide.get_by_label("Email, phone or username").fill(referrer)
    await wide.get_by_label("Password").fill(PASSWORD)
    await wide.get_by_role("button", name="Log in").click()
    await go_to(wide, "Rewards")
    await expect(wide.get_by_label("Friends you invited")).to_contain_text("bonus paid")
    await screenshot(wide, "164-referral-paid-inviter-desktop")
    for page in (inviter, newcomer, wide):
        await page.context.close()


async def test_a_code_nobody_has_still_signs_up_and_says_so(
    browser: Browser, web_app: WebApp
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    friend = f"friend_{os.getpid() % 10_000:04d}9"
    await page.goto(f"{web_app.url}/?ref=ZZZZZZZZZZ")
    await page.get_by_label("Email").fill(f"{friend}@example.com")
    await page.get_by_label("Phone").fill(f"+1415559{friend[-4:]}")
    await page.get_by_label("Username").fill(friend)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create wallet").click()
    notice = page.get_by_role("status")
    await expect(notice).to_contain_text(
        "Your wallet is ready, but the invitation was not applied: No one has that invitation code."
    )
    await screenshot(page, "165-referral-unknown-code-desktop")
    await page.get_by_role("button", name="Go to your wallet").click()
    await expect(page.get_by_role("heading", name=f"Hi, {friend}")).to_be_visible()
    await expect(page.get_by_test_id("notifications")).to_contain_text("Invitation not applied")
    await context.close()
