"""Issue 18 in Chromium, as a new user would: confirm an email with the development
Inbox (item 7), reset a forgotten password through to signing in (item 5), and add a
passkey at the address `make dev` used to print (item 6)."""

from __future__ import annotations

import itertools
import os
import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    go_to,
    logged_in_phone,
    new_phone,
    registered_user,
    screenshot,
    server_database,
)
from wallet.db.engine import transaction
from wallet.users.pin import set_pin
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "river-lantern-2049"
_seq = itertools.count(1)


async def code_in_inbox(page: Page, web_app: WebApp, to: str, name: str) -> str:
    """Open the Inbox page in a new tab of the same browser, read the newest code to `to`."""
    inbox = await page.context.new_page()
    await inbox.goto(f"{web_app.url.replace('127.0.0.1', 'localhost')}/dev/inbox")
    await expect(inbox.get_by_role("heading", name="Inbox (development)")).to_be_visible()
    code = inbox.get_by_label(f"Code for {to}").first
    # As a person would: the mail may land a moment after the page opened (on a loaded
    # machine, several); refresh.
    for _ in range(30):
        if await code.count():
            break
        await inbox.wait_for_timeout(1_000)
        await inbox.get_by_role("button", name="Refresh").click()
    await expect(code).to_have_text(re.compile(r"^\d{6}$"))
    await screenshot(inbox, name)
    found = await code.inner_text()
    await inbox.close()
    return found


async def test_a_new_user_confirms_their_email_with_the_inbox_page(
    browser: Browser, web_app: WebApp
) -> None:
    n = f"{os.getpid() % 1000:03d}{next(_seq)}"
    email, username = f"new{n}@example.com", f"new_{n}"
    page = await new_phone(browser)
    await page.goto(web_app.url.replace("127.0.0.1", "localhost"))
    await page.get_by_role("tab", name="Sign up").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Phone").fill(f"+1415556{n[-4:]:0>4}")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create wallet").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    await expect(page.get_by_role("link", name="Inbox")).to_be_visible()

    await go_to(page, "Security")
    row = page.get_by_test_id("contact-email")
    await expect(row).to_contain_text("not confirmed")
    await row.get_by_role("button", name="Confirm it").click()
    # As a person would: the app says where the code went before they look for it (a
    # refusal would show here instead, in the failure's snapshot).
    await expect(row.get_by_label(f"Code we sent to {email}")).to_be_visible()
    code = await code_in_inbox(page, web_app, email, "i18-inbox-phone")
    await row.get_by_label(f"Code we sent to {email}").fill(code)
    await row.get_by_role("button", name="Confirm", exact=True).click()
    await expect(row.get_by_role("status")).to_have_text(f"{email} is confirmed.")
    await expect(row).to_contain_text("confirmed")
    await expect(row).not_to_contain_text("not confirmed")
    await screenshot(page, "i18-email-confirmed-phone")

    desktop = await browser.new_page(viewport={"width": 1280, "height": 900})
    await desktop.goto(f"{web_app.url}/dev/inbox")
    await expect(desktop.get_by_label(f"Code for {email}").first).to_have_text(code)
    await screenshot(desktop, "i18-inbox-desktop")
    await desktop.close()
    await page.context.close()


async def test_forgot_password_with_a_pin_through_to_signing_in(
    browser: Browser, web_app: WebApp
) -> None:
    username = await registered_user(web_app)
    async with server_database(web_app):
        user = await authenticate(username, PASSWORD)
        await set_pin(user.id, "2468")
        async with transaction() as conn:
            await conn.execute(
                "UPDATE app_user SET email_verified_at = now() WHERE id = $1", user.id
            )
    for size, viewport in (("phone", None), ("desktop", {"width": 1280, "height": 900})):
        if viewport is None:
            page = await new_phone(browser)
        else:
            page = await (await browser.new_context(viewport=viewport)).new_page()
        await page.goto(web_app.url.replace("127.0.0.1", "localhost"))
        await page.get_by_role("button", name="Forgot your password?").click()
        await expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
        await page.get_by_label("Email, phone or username").fill(username)
        await screenshot(page, f"i18-forgot-{size}")
        await page.get_by_role("button", name="Send me a code").click()
        form = page.get_by_role("form", name="Choose a new password")
        await expect(form.get_by_role("status")).to_contain_text("reset code is on its way")
        code = await code_in_inbox(page, web_app, user.email, f"i18-reset-inbox-{size}")
        new_password = NEW_PASSWORD + size
        await form.get_by_label("Code from the message").fill(code)
        await form.get_by_label("New password").fill(new_password)
        await form.get_by_role("button", name="Set new password").click()
        # The account has a PIN: the reset asks for it instead of going around it.
        await expect(form.get_by_role("alert")).to_contain_text("second factor")
        await form.get_by_label("Your transaction PIN").fill("2468")
        await screenshot(page, f"i18-reset-asks-pin-{size}")
        await form.get_by_role("button", name="Set new password").click()
        await expect(page.get_by_role("status")).to_contain_text("Sign in with your new password")
        await screenshot(page, f"i18-reset-done-{size}")
        await page.get_by_label("Email, phone or username").fill(username)
        await page.get_by_label("Password").fill(new_password)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
        await page.context.close()


async def test_at_the_ip_address_the_app_says_passkeys_need_localhost(
    browser: Browser, web_app: WebApp
) -> None:
    """The tester: at http://127.0.0.1:8000/, "No passkey was made"."""
    username = await registered_user(web_app)
    page = await logged_in_phone(browser, web_app, username)  # at 127.0.0.1
    await go_to(page, "Security")
    await page.get_by_role("button", name="Add a passkey").click()
    port = web_app.url.rsplit(":", 1)[1]
    status = page.get_by_role("region", name="Passkeys").get_by_role("status")
    await expect(status).to_contain_text(f"Passkeys need http://localhost:{port}")
    await screenshot(page, "i18-passkey-needs-localhost-phone")
    await page.context.close()
