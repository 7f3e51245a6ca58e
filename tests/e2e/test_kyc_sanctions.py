"""Issue 18, item 3, in Chromium: someone named like a sanctioned person asks to be
verified; the KYC review shows the operator the sanctions case, approval is refused, a
compliance officer clears the match with a reason, approval goes through; and the
person's screen and mailbox never mention any of it."""

import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    go_to,
    logged_in_desktop,
    logged_in_phone,
    open_console,
    registered_user,
    screenshot,
    server_database,
)
from tests.integration.test_kyc_sanctions import REASON, TIP_OFF, WAIT
from wallet.aml import monitor
from wallet.db.engine import connection, transaction
from wallet.notifications.email import SandboxEmailProvider
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


async def assert_not_tipped_off(page: Page) -> None:
    text = await page.locator("body").inner_text()
    found = TIP_OFF.search(text)
    assert found is None, (found, text)


async def open_limits(page: Page) -> None:
    await go_to(page, "Limits")
    await expect(page.get_by_test_id("verification-level")).to_be_visible()


async def test_a_sanctions_match_waits_for_compliance_to_clear_it_and_the_person_never_knows(
    browser: Browser, web_app: WebApp
) -> None:
    ivan = await registered_user(web_app, balance_minor=5_000)
    reviewer, officer = await registered_user(web_app), await registered_user(web_app)
    async with server_database(web_app):
        ivan_id = (await authenticate(ivan, PASSWORD)).id
        async with transaction() as conn:
            for name in (reviewer, officer):
                await conn.execute(
                    "UPDATE app_user SET operator_role = 'compliance' WHERE username = $1", name
                )
            ivan_email = await conn.fetchval("SELECT email FROM app_user WHERE id = $1", ivan_id)

    # Ivan asks to be verified, on his phone.
    page = await logged_in_phone(browser, web_app, ivan)
    await open_limits(page)
    identity = page.get_by_role("form", name="Verify your identity")
    await identity.get_by_label("Full legal name").fill("Ivan Sanctionov")
    await identity.get_by_label("Date of birth").fill("1990-12-10")
    await identity.get_by_label("Country (2 letters)").fill("GB")
    await identity.get_by_label("Home address").fill("12 Harbour Road, Leeds")
    await identity.get_by_role("button", name="Verify").click()
    await expect(page.get_by_test_id("review-status")).to_contain_text("We are checking")
    await expect(page.get_by_test_id("verification-level")).to_have_text("Unverified")
    await page.reload()
    await go_to(page, "Home")  # notifications are on Home
    await expect(page.get_by_test_id("notifications")).to_contain_text(WAIT, timeout=15_000)
    await assert_not_tipped_off(page)
    await open_limits(page)
    await assert_not_tipped_off(page)
    await screenshot(page, "kyc-sanctions-01-person-waits-phone")
    on_desktop = await logged_in_desktop(browser, web_app, ivan)
    await open_limits(on_desktop)
    await expect(on_desktop.get_by_test_id("review-status")).to_contain_text("We are checking")
    await assert_not_tipped_off(on_desktop)
    await screenshot(on_desktop, "kyc-sanctions-02-person-waits-desktop")
    await on_desktop.context.close()

    async with server_database(web_app):
        assert await monitor.run() == []  # opened as he submitted; the monitor adds none
        async with connection() as conn:
            case_id = await conn.fetchval(
                "SELECT id FROM aml_case WHERE user_id = $1 AND detector = 'sanctions' "
                "AND status = 'open'",
                ivan_id,
            )
    assert case_id is not None

    # The reviewer, at a desk, sees the case in the review and cannot approve.
    console = await open_console(await logged_in_desktop(browser, web_app, reviewer))
    reviews = console.get_by_role("region", name="Verifications to review")
    item = reviews.get_by_role("listitem").filter(has_text=f"@{ivan}")
    cases = item.get_by_test_id("person-cases")
    await expect(cases).to_contain_text(f"Sanctions match: AML case #{case_id}")
    await expect(cases).to_contain_text("approval waits until compliance clears it")
    await expect(cases).to_contain_text("100% alike")
    await item.get_by_role("button", name="Approve").click()
    await expect(reviews.get_by_role("status")).to_contain_text("must clear it")
    await screenshot(console, "kyc-sanctions-03-approval-refused-desktop")
    await cases.get_by_role("link", name=f"Sanctions match: AML case #{case_id}").click()
    assert console.url.endswith(f"#aml-case-{case_id}")
    await expect(console.locator(f"#aml-case-{case_id}")).to_be_in_viewport()

    # The compliance officer, on a phone, clears the match, saying why.
    desk = await open_console(await logged_in_phone(browser, web_app, officer))
    aml = desk.get_by_role("region", name="AML cases")
    match = aml.get_by_role("listitem").filter(has_text=f"@{ivan}")
    await expect(match).to_contain_text("cannot be approved until this match is cleared")
    await expect(match.get_by_role("button", name="Close case")).to_have_count(0)
    await match.get_by_label("Narrative or reason").fill(REASON)
    await screenshot(desk, "kyc-sanctions-04-officer-clears-phone")
    await match.get_by_role("button", name="Clear the match (not this person)").click()
    await expect(aml.get_by_role("status")).to_contain_text(f"Case #{case_id}: match cleared")
    await expect(match).to_have_count(0)

    # Now the approval goes through; the review shows who cleared it and why.
    await console.reload()
    await expect(cases).to_contain_text(f"cleared by @{officer}")
    await expect(cases).to_contain_text(REASON)
    await screenshot(console, "kyc-sanctions-05-cleared-in-review-desktop")
    await item.get_by_role("button", name="Approve").click()
    await expect(reviews.get_by_role("status")).to_contain_text("approved")

    # Ivan is told he is verified, and nothing else.
    await page.reload()
    await go_to(page, "Home")
    await expect(page.get_by_test_id("notifications")).to_contain_text(
        "You are verified", timeout=15_000
    )
    await expect(page.get_by_test_id("notifications")).to_contain_text("Thanks for waiting")
    await assert_not_tipped_off(page)
    await open_limits(page)
    await expect(page.get_by_test_id("verification-level")).to_have_text("Basic")
    await assert_not_tipped_off(page)
    await screenshot(page, "kyc-sanctions-06-person-verified-phone")
    redis = Redis.from_url(web_app.redis_url)
    try:
        emails = await SandboxEmailProvider(redis).sent_to(ivan_email)
    finally:
        await redis.aclose()
    subjects = [str(e["subject"]) for e in emails]
    assert {WAIT, "Thanks for waiting", "You are verified"} <= set(subjects), subjects
    assert TIP_OFF.search(repr(emails)) is None, emails
    for opened in (page, console, desk):
        await opened.context.close()
