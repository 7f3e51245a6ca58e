"""Scanning the till's QR code with the camera (issue 19), in a Chromium whose webcam is a
video of that QR code (tests/e2e/fake_camera.py).

Desktop Chromium on Linux has no `BarcodeDetector`, so this is the fallback decoder
(@zxing/browser) reading real camera frames: the till's EMVCo payload (what its QR
image encodes) goes to the server, which finds the request; the customer reviews it and
pays, and the shop is paid."""

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    CHROMIUM_FLAGS,
    PASSWORD,
    WebApp,
    available,
    find_chromium,
    go_to,
    logged_in_phone,
    open_shop,
    registered_user,
    screenshot,
    server_database,
)
from tests.e2e.fake_camera import camera_flags, write_qr_y4m
from tests.merchant_helpers import open_merchant
from wallet.db.engine import connection
from wallet.users.pin import set_pin
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

TILL_REQUEST = """
async (reference) => {
  const response = await fetch("/graphql", {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: "query($r: String!) { merchantPaymentRequest(reference: $r) { qrPayload payUrl } }",
      variables: { r: reference },
    }),
  });
  return (await response.json()).data.merchantPaymentRequest;
}
"""


# Every camera stream the page opened is kept in `__streams`, to count what is still live.
KEEP_STREAMS = """
(() => {
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__streams = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await open(constraints);
    window.__streams.push(stream);
    return stream;
  };
})();
"""
LIVE_TRACKS = """
() => window.__streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === "live").length
"""


async def log_in(camera_browser: Browser, web_app: WebApp, username: str) -> Page:
    """A phone-sized page of `camera_browser`, logged in as `username`."""
    context = await camera_browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        permissions=["clipboard-read", "clipboard-write"],
    )
    await context.add_init_script(KEEP_STREAMS)
    page = await context.new_page()
    await page.goto(web_app.url)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    return page


async def both_sizes(page: Page, name: str) -> None:
    await screenshot(page, name)
    await page.set_viewport_size(DESKTOP)
    await screenshot(page, f"{name}-desktop")
    await page.set_viewport_size(PHONE)


async def test_the_customer_scans_the_tills_qr_with_the_camera_and_pays(
    browser: Browser, web_app: WebApp, tmp_path: Path
) -> None:
    owner_name = await registered_user(web_app)
    buyer_name = await registered_user(web_app, 2_000)
    async with server_database(web_app):
        owner_id = (await authenticate(owner_name, PASSWORD)).id
        buyer_id = (await authenticate(buyer_name, PASSWORD)).id
        await open_merchant(owner_id, "Corner Coffee", "5814", "US", "San Francisco")
        await set_pin(buyer_id, "2468")
    till = await open_shop(await logged_in_phone(browser, web_app, owner_name))
    await till.get_by_label("Charge (USD)").fill("3.25")
    await till.get_by_label("Description").fill("Cortado")
    await till.get_by_role("button", name="Show QR code").click()
    pos = till.get_by_test_id("pos-request")
    await expect(pos.get_by_role("img", name="Payment QR code")).to_be_visible()
    reference = (await pos.locator("strong").inner_text()).strip().replace("-", "")
    request = await till.evaluate(TILL_REQUEST, reference)
    assert request["qrPayload"].startswith("000201")
    video = write_qr_y4m(request["qrPayload"], tmp_path / "till-qr.y4m")

    chromium = find_chromium()
    assert chromium is not None
    camera_browser = await browser.browser_type.launch(
        executable_path=chromium, args=CHROMIUM_FLAGS + camera_flags(video)
    )
    try:
        buyer = await log_in(camera_browser, web_app, buyer_name)
        # The fallback decoder is what reads here: no native BarcodeDetector on Linux.
        assert not await buyer.evaluate("'BarcodeDetector' in window")
        await go_to(buyer, "Pay")

        scanner = buyer.get_by_test_id("qr-scanner")
        # Scanned: the review appears from the server's copy of the request.
        await buyer.get_by_role("button", name="Scan QR").click()
        review = buyer.get_by_test_id("pay-confirm")
        await expect(review).to_contain_text("Corner Coffee", timeout=15_000)
        await expect(review).to_contain_text("$3.25")
        await expect(review).to_contain_text("Cortado")
        await expect(review.get_by_test_id("balance-after")).to_have_text("$16.75")
        await expect(scanner).to_have_count(0)
        assert await buyer.evaluate(LIVE_TRACKS) == 0  # the camera is let go once it read
        await both_sizes(buyer, "qr-02-review")
        await buyer.get_by_label("Transaction PIN").fill("2468")
        await buyer.get_by_role("button", name="Pay", exact=True).click()
        receipt = buyer.get_by_test_id("receipt")
        await expect(receipt).to_contain_text("Paid $3.25 to Corner Coffee")
        await expect(receipt.get_by_test_id("receipt-status")).to_have_text("Paid")
        await expect(available(buyer)).to_have_text(re.compile(r"^\$16\.7\d$"), timeout=10_000)
        await both_sizes(buyer, "qr-03-receipt")
        # Share, where the browser has no share sheet (desktop Linux): the receipt is copied.
        await buyer.evaluate("delete Navigator.prototype.share; delete navigator.share")
        await receipt.get_by_role("button", name="Share").click()
        await expect(receipt.get_by_role("status").last).to_have_text("Receipt copied")
        copied = await buyer.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("Receipt: $3.25 to Corner Coffee\nStatus: Paid\n")

        # The same code again: the request is paid, there is nothing to pay.
        await receipt.get_by_role("button", name="Done").click()
        await buyer.get_by_role("button", name="Scan QR").click()
        await expect(buyer.get_by_role("status").last).to_have_text(
            "That code is not a payment request you can pay.", timeout=15_000
        )
        await expect(scanner).to_have_count(0)
    finally:
        await camera_browser.close()

    # The shop was paid: the till turned green, and the request is paid in the books.
    await expect(pos.get_by_role("status")).to_have_text("Paid ✓", timeout=10_000)
    async with server_database(web_app), connection() as conn:
        row = await conn.fetchrow(
            "SELECT r.status, t.amount FROM payment_request r "
            "JOIN money_transaction t ON t.id = r.transaction_id WHERE r.reference = $1",
            reference,
        )
    assert row is not None and row["status"] == "paid" and int(row["amount"]) == 325
    await till.context.close()


async def test_the_scanner_looks_until_it_sees_a_code_and_lets_the_camera_go(
    browser: Browser, web_app: WebApp
) -> None:
    """Chromium's own fake camera (a moving test pattern, no QR code): the scanner keeps
    looking, and Stop scanning closes it and stops the camera."""
    buyer_name = await registered_user(web_app, 1_000)
    chromium = find_chromium()
    assert chromium is not None
    camera_browser = await browser.browser_type.launch(
        executable_path=chromium,
        args=[
            *CHROMIUM_FLAGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ],
    )
    try:
        buyer = await log_in(camera_browser, web_app, buyer_name)
        await go_to(buyer, "Pay")
        await buyer.get_by_role("button", name="Scan QR").click()
        scanner = buyer.get_by_test_id("qr-scanner")
        await expect(scanner.get_by_role("status")).to_have_text(
            "Point the camera at the shop's QR code."
        )
        assert await buyer.evaluate(LIVE_TRACKS) == 1
        await buyer.wait_for_timeout(1_000)  # frames go by, none of them a code
        await expect(buyer.get_by_test_id("pay-confirm")).to_have_count(0)
        await both_sizes(buyer, "qr-01-scanning")
        await scanner.get_by_role("button", name="Stop scanning").click()
        await expect(scanner).to_have_count(0)
        await buyer.wait_for_function(f"({LIVE_TRACKS.strip()})() === 0")
    finally:
        await camera_browser.close()
