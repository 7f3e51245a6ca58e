"""Verification in Chromium: identity, document upload, compliance review, limits page."""

import io

import pytest
from PIL import Image
from playwright.async_api import Browser, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    go_to,
    logged_in_phone,
    open_console,
    registered_user,
    screenshot,
    server_database,
)
from wallet.db.engine import transaction
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e


def image(kind: str, colour: str) -> bytes:
    """A small real picture, so the reviewer's view shows something."""
    out = io.BytesIO()
    Image.new("RGB", (160, 100), colour).save(out, kind)
    return out.getvalue()


PNG = image("PNG", "#3b82f6")
JPEG = image("JPEG", "#f59e0b")


async def test_verify_upload_documents_and_compliance_approves(
    browser: Browser, web_app: WebApp
) -> None:
    username = await registered_user(web_app)
    officer = await registered_user(web_app)
    async with server_database(web_app):
        officer_id = (await authenticate(officer, PASSWORD)).id
        async with transaction() as conn:
            await conn.execute(
                "UPDATE app_user SET operator_role = 'compliance' WHERE id = $1", officer_id
            )
    page = await logged_in_phone(browser, web_app, username)
    await go_to(page, "Limits")
    await expect(page.get_by_test_id("verification-level")).to_have_text("Unverified")
    table = page.get_by_test_id("limits-table")
    await expect(table.get_by_role("row", name="Sending")).to_contain_text("$1,000")
    await expect(page.get_by_test_id("balance-cap")).to_contain_text("up to $10,000;")

    identity = page.get_by_role("form", name="Verify your identity")
    await identity.get_by_label("Full legal name").fill("Ada Lovelace")
    await identity.get_by_label("Date of birth").fill("1990-12-10")
    await identity.get_by_label("Country (2 letters)").fill("GB")
    await identity.get_by_label("Home address").fill("12 St James's Square, London")
    await identity.get_by_role("button", name="Verify").click()
    await expect(page.get_by_test_id("verification-level")).to_have_text("Basic")
    await expect(table.get_by_role("row", name="Sending")).to_contain_text("$5,000")

    documents = page.get_by_role("form", name="Upload your documents")
    await documents.get_by_label("Document number").fill("P1234567")
    await documents.get_by_label("Photo or scan of the document").set_input_files(
        {"name": "passport.png", "mimeType": "image/png", "buffer": PNG}
    )
    await documents.get_by_label("A selfie").set_input_files(
        {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": JPEG}
    )
    await documents.get_by_role("button", name="Send for review").click()
    await expect(page.get_by_test_id("review-status")).to_contain_text("We are checking")
    await screenshot(page, "95-verification-pending")

    console = await open_console(await logged_in_phone(browser, web_app, officer))
    queue = console.get_by_test_id("kyc-queue")
    case = queue.get_by_role("listitem").filter(has_text=f"@{username}")
    await expect(case).to_contain_text("Ada Lovelace")
    await expect(case).to_contain_text("••••4567")
    await case.get_by_role("button", name="Show document").click()
    await expect(case.get_by_role("img", name="Identity document")).to_be_visible()
    await screenshot(console, "96-kyc-review-queue")
    await case.get_by_role("button", name="Approve").click()
    await expect(console.get_by_role("status")).to_contain_text("approved")

    await page.reload()
    await go_to(page, "Limits")
    await expect(page.get_by_test_id("verification-level")).to_have_text("Fully verified")
    await expect(page.get_by_test_id("balance-cap")).to_contain_text("No cap")
    await screenshot(page, "97-limits-full")
    await page.context.close()
    await console.context.close()
