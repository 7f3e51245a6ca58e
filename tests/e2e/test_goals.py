"""Savings goals in Chromium: create one, fund it, take some back."""

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


async def test_create_and_fund_a_goal(browser: Browser, web_app: WebApp) -> None:
    page = await logged_in_phone(browser, web_app, await registered_user(web_app, 10_000))
    await go_to(page, "Goals")
    await page.get_by_label("Name").fill("New bike")
    await page.get_by_label("Target").fill("200")
    await page.get_by_label("Every week").fill("10")
    await page.get_by_label("Round up my payments into it").check()
    await page.get_by_role("button", name="Create goal").click()
    goal = page.get_by_test_id("goal-New bike")
    await expect(goal).to_contain_text("$0.00 of $200.00")
    await expect(goal).to_contain_text("round-ups on · $10.00 weekly")

    await goal.get_by_label("Amount").fill("25")
    await goal.get_by_role("button", name="Add").click()
    await expect(goal.get_by_role("status")).to_have_text("Added $25.00")
    await expect(goal).to_contain_text("$25.00 of $200.00")
    await expect(goal.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "12")
    await expect(available(page)).to_have_text("$75.00")
    await goal.get_by_label("Amount").fill("5")
    await goal.get_by_role("button", name="Take out").click()
    await expect(goal).to_contain_text("$20.00 of $200.00")
    await expect(available(page)).to_have_text("$80.00")
    await screenshot(page, "75-savings-goal")
    await go_to(page, "Activity")
    activity = page.get_by_test_id("activity")
    await expect(activity).to_contain_text("Moved to New bike")
    await expect(activity).to_contain_text("From New bike")
    await page.context.close()
