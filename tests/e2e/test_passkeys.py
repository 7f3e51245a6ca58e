"""Passkeys in Chromium with a virtual authenticator (Chrome DevTools Protocol WebAuthn
domain): add one, sign in with it alone, and confirm a large send with it."""

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    confirm_send,
    confirm_with_emailed_code,
    go_to,
    new_phone,
    registered_user,
    screenshot,
)

pytestmark = pytest.mark.e2e


async def test_add_a_passkey_sign_in_with_it_and_step_up(browser: Browser, web_app: WebApp) -> None:
    username = await registered_user(web_app, 100_000)
    friend = await registered_user(web_app)
    page = await new_phone(browser)
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    authenticator = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    # Passkeys need a domain (the relying party is "localhost"), not an IP address.
    site = web_app.url.replace("127.0.0.1", "localhost")
    await page.goto(site)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()

    await go_to(page, "Security")
    await page.get_by_role("button", name="Add a passkey").click()
    await confirm_with_emailed_code(page, web_app)  # a first factor: password + emailed code
    passkeys = page.get_by_role("region", name="Passkeys")
    await expect(passkeys.get_by_role("status")).to_contain_text("Passkey added")
    await expect(page.get_by_test_id("passkeys").get_by_role("listitem")).to_have_count(1)
    stored = await cdp.send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]}
    )
    assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]
    await screenshot(page, "93-passkey-added")

    await go_to(page, "Profile")
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_role("button", name="Sign in with a passkey").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()

    await go_to(page, "Send")
    await page.get_by_label("To", exact=True).fill(friend)
    await page.get_by_label("Amount (USD)").fill("600")
    await confirm_send(page)
    prompt = page.get_by_role("form", name="Confirm it's you")
    await expect(prompt.get_by_role("button", name="Use a passkey")).to_be_visible()
    await screenshot(page, "94-step-up-with-passkey")
    await prompt.get_by_role("button", name="Use a passkey").click()
    sent = page.get_by_role("region", name="Send money").get_by_role("status")
    await expect(sent).to_have_text(f"Sent $600.00 to @{friend}")
    await expect(available(page)).to_have_text("$400.00")
    await page.context.close()
