"""Paying at the counter by NFC (issue 19, docs/nfc.md), in Chromium with Web NFC stubbed.

Headless Chromium has no NFC hardware, so each page gets a fake `NDEFReader` (an init
script) that records what `write()` was asked to write and lets the test hold a tag to
the phone: a `reading` event carrying NDEF records. The till writes its sale's pay link
to the "tag"; the customer's phone reads those same records, opens the request's review
from the server and pays it with the PIN. A desktop without `NDEFReader` says NFC is not
there and keeps the QR code."""

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    go_to,
    logged_in_desktop,
    open_shop,
    registered_user,
    screenshot,
    server_database,
)
from tests.merchant_helpers import open_merchant
from wallet.users.pin import set_pin
from wallet.users.service import authenticate

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}

# A stand-in for Chrome on Android's Web NFC. `write()` waits until the test holds a tag
# to the phone (`__nfc.holdTag()`), or fails as the test says (`__nfc.failNext`);
# `__nfc.tap(records)` is a tag read by every reader that is scanning.
FAKE_NFC = """
(() => {
  const nfc = { writes: [], scans: 0, readers: [], pending: [], failNext: null };
  nfc.holdTag = () => { const p = nfc.pending.shift(); if (p) p(); return !!p; };
  nfc.tap = (records) => {
    const encoded = records.map((r) => ({
      recordType: r.recordType,
      mediaType: null, id: null, encoding: r.recordType === "text" ? "utf-8" : null, lang: null,
      data: new DataView(new TextEncoder().encode(r.data).buffer),
    }));
    const readers = [...nfc.readers];  // a reader may stop (abort) as it reads
    for (const reader of readers) {
      const event = new Event("reading");
      event.serialNumber = "04:a2:19:7c:3e:51:80";
      event.message = { records: encoded };
      reader.dispatchEvent(event);
    }
    return readers.length;
  };
  class NDEFReader extends EventTarget {
    async scan(options = {}) {
      nfc.scans += 1;
      nfc.readers.push(this);
      options.signal?.addEventListener("abort", () => {
        nfc.readers = nfc.readers.filter((r) => r !== this);
      });
    }
    write(message, options = {}) {
      nfc.writes.push(JSON.parse(JSON.stringify(message)));
      if (nfc.failNext) {
        const name = nfc.failNext;
        nfc.failNext = null;
        return Promise.reject(new DOMException("fake", name));
      }
      return new Promise((resolve, reject) => {
        nfc.pending.push(resolve);
        options.signal?.addEventListener(
          "abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    }
  }
  window.NDEFReader = NDEFReader;
  window.__nfc = nfc;
})();
"""


async def phone_with_nfc(browser: Browser, web_app: WebApp, username: str) -> Page:
    """A logged-in phone-sized page whose browser has (fake) Web NFC."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    await context.add_init_script(FAKE_NFC)
    page = await context.new_page()
    await page.goto(web_app.url)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    await expect(page.get_by_text("● live")).to_be_visible()
    return page


async def charge(till: Page, amount: str, description: str) -> str:
    """A new sale on the till; returns its reference (the code under the QR, no dashes)."""
    await till.get_by_label("Charge (USD)").fill(amount)
    await till.get_by_label("Description").fill(description)
    await till.get_by_role("button", name="Show QR code").click()
    pos = till.get_by_test_id("pos-request")
    await expect(pos.locator(".pos-amount")).to_have_text(f"${amount}")
    await expect(pos.get_by_role("img", name="Payment QR code")).to_be_visible()
    return (await pos.locator("strong").inner_text()).strip().replace("-", "")


async def test_the_till_writes_the_tag_and_the_customer_taps_it_to_pay(
    browser: Browser, web_app: WebApp
) -> None:
    owner_name = await registered_user(web_app)
    buyer_name = await registered_user(web_app, 2_000)
    async with server_database(web_app):
        owner_id = (await authenticate(owner_name, PASSWORD)).id
        buyer_id = (await authenticate(buyer_name, PASSWORD)).id
        await open_merchant(owner_id, "Corner Coffee", "5814", "US", "San Francisco")
        await set_pin(buyer_id, "2468")
    till = await open_shop(await phone_with_nfc(browser, web_app, owner_name))
    buyer = await phone_with_nfc(browser, web_app, buyer_name)

    reference = await charge(till, "4.50", "Flat white")
    pos = till.get_by_test_id("pos-request")
    status = pos.get_by_test_id("nfc-status")
    await expect(status).to_contain_text("Write this sale to the counter's NFC tag")
    # A refusal first, in plain words, then a write that waits for the tag.
    await till.evaluate("window.__nfc.failNext = 'NotAllowedError'")
    await pos.get_by_role("button", name="Write to NFC tag").click()
    await expect(status).to_have_text(re.compile(r"^NFC permission was refused"))
    await pos.get_by_role("button", name="Write to NFC tag").click()
    await expect(status).to_have_text(re.compile(r"^Waiting for the tag"))
    await screenshot(till, "nfc-01-pos-waiting-for-tag")
    assert await till.evaluate("window.__nfc.holdTag()")
    await expect(status).to_have_text(re.compile(r"^Written ✓"))
    await screenshot(till, "nfc-02-pos-tag-written")
    writes = await till.evaluate("window.__nfc.writes")
    assert len(writes) == 2
    (record,) = writes[-1]["records"]
    assert record["recordType"] == "url"
    pay_url = record["data"]
    assert re.fullmatch(rf"https?://[^/]+/\?pay={reference}", pay_url), pay_url

    await go_to(buyer, "Pay")
    await buyer.get_by_role("button", name="Tap to pay").click()
    await expect(buyer.get_by_test_id("nfc-waiting")).to_be_visible()
    await screenshot(buyer, "nfc-03-pay-waiting-for-tap")
    # Anything but a pay link with a well-formed reference is turned away, still listening.
    for junk in (
        [{"recordType": "text", "data": pay_url}],
        [{"recordType": "url", "data": "https://shop.example/menu"}],
        [{"recordType": "url", "data": "https://wallet.example/?pay=NOT-A-REFERENCE"}],
        [{"recordType": "url", "data": "javascript:alert(1)//?pay=" + reference}],
    ):
        assert await buyer.evaluate("(r) => window.__nfc.tap(r)", junk) == 1
        await expect(buyer.get_by_text("This tag is not a payment")).to_be_visible()
    await expect(buyer.get_by_test_id("pay-confirm")).to_have_count(0)
    # The till's own record, as written.
    assert await buyer.evaluate("(r) => window.__nfc.tap(r)", writes[-1]["records"]) == 1
    review = buyer.get_by_test_id("pay-confirm")
    await expect(review).to_contain_text("Corner Coffee")
    await expect(review).to_contain_text("$4.50")
    await expect(review).to_contain_text("Flat white")
    await expect(review.get_by_test_id("balance-after")).to_have_text("$15.50")
    assert await buyer.evaluate("window.__nfc.readers.length") == 0  # stopped listening
    await screenshot(buyer, "nfc-04-review")
    await buyer.get_by_label("Transaction PIN").fill("2468")
    await buyer.get_by_role("button", name="Pay", exact=True).click()
    receipt = buyer.get_by_test_id("receipt")
    await expect(receipt).to_contain_text("Paid $4.50 to Corner Coffee")
    await expect(receipt.get_by_test_id("receipt-status")).to_have_text("Paid")
    await expect(receipt).to_contain_text(re.sub(r"(.{4})(?!$)", r"\1-", reference))
    await expect(pos.get_by_role("status")).to_have_text("Paid ✓", timeout=10_000)
    await expect(available(buyer)).to_have_text(re.compile(r"^\$15\.(50|59)$"), timeout=10_000)
    await screenshot(buyer, "nfc-05-receipt")
    # Share: the phone's share sheet (Chrome on Android has navigator.share) gets the text.
    await buyer.evaluate("navigator.share = async (data) => { window.__shared = data; }")
    await receipt.get_by_role("button", name="Share").click()
    await buyer.wait_for_function("window.__shared !== undefined")
    shared = await buyer.evaluate("window.__shared")
    assert shared["title"] == "Receipt from Corner Coffee"
    assert "Receipt: $4.50 to Corner Coffee" in shared["text"]
    assert "Status: Paid" in shared["text"]
    assert re.sub(r"(.{4})(?!$)", r"\1-", reference) in shared["text"]
    await screenshot(till, "nfc-06-pos-paid")
    # The same tag again: the request is paid, so there is nothing to pay.
    await receipt.get_by_role("button", name="Done").click()
    await buyer.get_by_role("button", name="Tap to pay").click()
    await buyer.evaluate("(r) => window.__nfc.tap(r)", writes[-1]["records"])
    await expect(buyer.get_by_role("status").last).to_have_text(
        "That code is not a payment request you can pay."
    )
    for page in (till, buyer):
        await page.context.close()


async def test_a_desktop_without_web_nfc_says_so_and_keeps_the_qr_code(
    browser: Browser, web_app: WebApp
) -> None:
    owner_name = await registered_user(web_app)
    buyer_name = await registered_user(web_app, 1_000)
    async with server_database(web_app):
        owner_id = (await authenticate(owner_name, PASSWORD)).id
        await open_merchant(owner_id, "Desk Books", "5942", "US", "Boston")
    till = await open_shop(await logged_in_desktop(browser, web_app, owner_name))
    assert not await till.evaluate("'NDEFReader' in window")
    await charge(till, "12.00", "Paperback")
    pos = till.get_by_test_id("pos-request")
    await expect(pos.get_by_test_id("nfc-status")).to_contain_text(
        "NFC is not available on this device"
    )
    await expect(pos.get_by_role("button", name="Write to NFC tag")).to_have_count(0)
    await expect(pos.get_by_role("img", name="Payment QR code")).to_be_visible()
    await screenshot(till, "nfc-07-pos-desktop-no-nfc")

    buyer = await logged_in_desktop(browser, web_app, buyer_name)
    await go_to(buyer, "Pay")
    await expect(buyer.get_by_test_id("nfc-unsupported")).to_contain_text("This browser has no NFC")
    await expect(buyer.get_by_role("button", name="Tap to pay")).to_be_disabled()
    await expect(buyer.get_by_role("button", name="Scan QR")).to_be_enabled()
    await screenshot(buyer, "nfc-08-pay-desktop-no-nfc")
    for page in (till, buyer):
        await page.context.close()
