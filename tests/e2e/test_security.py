"""Second factors in Chromium: set up an authenticator app, then confirm a large send."""

import os
import re
import time

import pyotp
import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    confirm_send,
    confirm_with_emailed_code,
    go_to,
    logged_in_phone,
    registered_user,
    screenshot,
)
from wallet.notifications.email import SandboxEmailProvider

pytestmark = pytest.mark.e2e


async def test_enrol_totp_and_step_up_on_a_large_send(browser: Browser, web_app: WebApp) -> None:
    friend = await registered_user(web_app)
    username = await registered_user(web_app, 100_000)
    page = await logged_in_phone(browser, web_app, username)
    await go_to(page, "Security")
    await expect(page.get_by_test_id("totp-status")).to_have_text("off")
    await page.get_by_role("button", name="Set up an authenticator app").click()
    # A first factor takes the password plus a code sent to the email on file.
    await expect(page.get_by_role("form", name="Confirm it's you")).to_contain_text(
        "You have no second factor yet"
    )
    await screenshot(page, "89-first-factor-step-up")
    await confirm_with_emailed_code(page, web_app)
    await expect(page.get_by_role("img", name="Authenticator QR code")).to_be_visible()
    totp = pyotp.TOTP((await page.get_by_test_id("totp-secret").inner_text()).strip())
    await page.get_by_label("6-digit code from the app").fill(totp.now())
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_test_id("totp-status")).to_have_text("on")
    await expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    recovery = (
        await page.get_by_test_id("recovery-codes").locator("li").first.inner_text()
    ).strip()
    sessions = page.get_by_label("Sessions")
    await expect(sessions).to_contain_text("Chrome on Linux (this device)")
    await screenshot(page, "90-totp-enrolled")

    # Signing in again now takes a second step (a recovery code here: the current TOTP
    # step is used up).
    await go_to(page, "Profile")
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    second = page.get_by_role("form", name="Second step")
    await second.get_by_label("Authenticator code (or a recovery code)").fill(recovery)
    await screenshot(page, "92-second-step")
    await second.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()

    # In the new session, a large send asks for the authenticator.
    await go_to(page, "Send")
    await page.get_by_label("To", exact=True).fill(friend)
    await page.get_by_label("Amount (USD)").fill("600")
    await confirm_send(page)
    prompt = page.get_by_role("form", name="Confirm it's you")
    await expect(prompt).to_be_visible()
    await expect(available(page)).to_have_text("$1,000.00")  # nothing moved yet
    await screenshot(page, "91-step-up-prompt")
    await prompt.get_by_label("Authenticator code").fill(totp.at(time.time() + 30))
    await prompt.get_by_role("button", name="Confirm").click()
    sent = page.get_by_role("region", name="Send money").get_by_role("status")
    await expect(sent).to_have_text(f"Sent $600.00 to @{friend}")
    await expect(available(page)).to_have_text("$400.00")
    await page.context.close()


async def test_set_a_pin_then_change_email_and_password_behind_it(
    browser: Browser, web_app: WebApp
) -> None:
    username = await registered_user(web_app)
    page = await logged_in_phone(browser, web_app, username)
    await go_to(page, "Security")
    account = page.locator(".account-settings")
    await expect(page.get_by_test_id("contact-email")).to_contain_text("not confirmed")

    pin_form = page.get_by_role("form", name="Transaction PIN")
    await pin_form.get_by_label("New PIN (4 to 6 digits)").fill("2468")
    await pin_form.get_by_role("button", name="Set PIN").click()
    await confirm_with_emailed_code(page, web_app)  # the first factor
    await expect(pin_form.get_by_role("status")).to_have_text("PIN saved.")

    # Signed in again, the PIN from before this session confirms credential changes.
    await go_to(page, "Profile")
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    await go_to(page, "Security")
    email_row = page.get_by_test_id("contact-email")
    await email_row.get_by_role("button", name="Change email").click()
    new_email = f"moved.{os.getpid()}@example.org"
    await email_row.get_by_label("New email").fill(new_email)
    await email_row.get_by_role("button", name="Send a code").click()
    prompt = account.get_by_role("form", name="Confirm it's you")
    await expect(prompt).to_contain_text("to change your email")
    await screenshot(page, "93-change-email-step-up")
    await prompt.get_by_label("Transaction PIN").fill("2468")
    await prompt.get_by_role("button", name="Confirm").click()
    code_field = email_row.get_by_label(f"Code we sent to {new_email}")
    await expect(code_field).to_be_visible()
    redis = Redis.from_url(web_app.redis_url)
    try:
        (mail,) = await SandboxEmailProvider(redis).sent_to(new_email)
    finally:
        await redis.aclose()
    code = re.search(r"\b(\d{6})\b", str(mail["body"]))
    assert code is not None
    await code_field.fill(code.group(1))
    await email_row.get_by_role("button", name="Confirm").click()
    await expect(email_row.get_by_role("status")).to_have_text(f"{new_email} is confirmed.")
    await expect(email_row).to_contain_text(new_email)
    await expect(email_row.locator(".badge")).to_have_text("confirmed")

    await page.get_by_text("Change password").first.click()
    password_form = page.get_by_role("form", name="Change password")
    await password_form.get_by_label("Current password").fill(PASSWORD)
    await password_form.get_by_label("New password").fill("brand-new-harbour-92")
    await password_form.get_by_role("button", name="Change password").click()
    await expect(password_form.get_by_role("status")).to_contain_text("Password changed.")
    await screenshot(page, "94-account-settings")
    await page.context.close()
