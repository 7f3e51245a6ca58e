"""A brand new user's first steps on Home (issue 19): the checklist says what each step
unlocks and links to where it is done; a step flips to done when it is; then a first
send."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    confirm_send,
    go_to,
    registered_user,
    screenshot,
)
from tests.e2e.test_notifications import send_from
from tests.e2e.test_web_app import identity, sign_up

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.mark.parametrize("size", list(VIEWPORTS))
async def test_a_new_user_sees_the_checklist_completes_a_step_and_sends(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    friend = await registered_user(web_app, 5_000)
    context = await browser.new_context(viewport=VIEWPORTS[size])  # type: ignore[arg-type]
    page = await context.new_page()
    who = identity()
    await sign_up(page, web_app, who, PASSWORD)
    await expect(page.get_by_role("heading", name=f"Hi, {who['username']}")).to_be_visible()

    checklist = page.get_by_test_id("onboarding")
    await expect(checklist.get_by_role("heading", name="Get started")).to_be_visible()
    await expect(checklist.get_by_test_id("onboarding-progress")).to_have_text("0 of 5 done")
    add = checklist.get_by_test_id("onboarding-ADD_MONEY")
    await expect(add).to_have_attribute("data-done", "false")
    await expect(add.get_by_role("link", name="Add money")).to_have_attribute("href", "/pay/add")
    await expect(add).to_contain_text("Send, pay and split bills from your balance")
    phone = checklist.get_by_test_id("onboarding-VERIFY_PHONE")
    await expect(phone.get_by_role("link", name="Verify your phone")).to_have_attribute(
        "href", "/profile/security"
    )
    # The empty states say what to do next.
    await expect(page.get_by_text("Nothing waiting for you")).to_be_visible()
    await screenshot(page, f"onboarding-checklist-{size}")

    # The step links to where it is done.
    await add.get_by_role("link", name="Add money").click()
    await expect(page).to_have_url(re.compile(r"/pay/add$"))
    await go_to(page, "Home")

    # Money arrives (a friend pays): "Add money" is done, the checklist says so.
    await send_from(web_app, friend, who["username"], "20.00")
    await expect(available(page)).to_have_text("$20.00", timeout=15_000)
    await expect(add).to_have_attribute("data-done", "true", timeout=15_000)
    await expect(checklist.get_by_test_id("onboarding-progress")).to_have_text("1 of 5 done")
    await screenshot(page, f"onboarding-step-done-{size}")

    # And a first send.
    await go_to(page, "Send")
    await page.get_by_label("To").fill("@" + friend)
    await page.get_by_label("Amount (USD)").fill("5.00")
    await confirm_send(page)
    await expect(page.get_by_role("status").filter(has_text="Sent")).to_have_text(
        f"Sent $5.00 to @{friend}"
    )
    await go_to(page, "Home")
    await expect(available(page)).to_have_text("$15.00", timeout=10_000)
    await context.close()
