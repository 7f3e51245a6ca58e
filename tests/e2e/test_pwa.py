"""The wallet as an installable app (issue 19): its manifest and icons, the service
worker, the offline shell with the last balances seen, and web push on this browser."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from tests.e2e.conftest import (
    WebApp,
    available,
    logged_in_desktop,
    logged_in_phone,
    registered_user,
    screenshot,
    server_database,
)
from tests.e2e.test_notifications import send_from
from wallet.db.engine import connection
from wallet.notifications.push import SandboxPushProvider

pytestmark = pytest.mark.e2e

SIZES = ["phone", "desktop"]


async def open_as(browser: Browser, web_app: WebApp, username: str, size: str) -> Page:
    if size == "phone":
        return await logged_in_phone(browser, web_app, username)
    return await logged_in_desktop(browser, web_app, username)


async def controlled_by_the_service_worker(page: Page) -> str:
    """Wait until /sw.js is active and controls the page; its script URL."""
    script: str = await page.evaluate(
        """async () => {
             const registration = await navigator.serviceWorker.ready;
             if (!navigator.serviceWorker.controller) {
               const sw = navigator.serviceWorker;
               await new Promise((resolve) =>
                 sw.addEventListener("controllerchange", resolve, { once: true }));
             }
             return registration.active.scriptURL;
           }"""
    )
    return script


async def test_the_manifest_names_the_app_and_its_icons_load(
    browser: Browser, web_app: WebApp
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(web_app.url)
    href = await page.locator("link[rel=manifest]").get_attribute("href")
    assert href == "/manifest.webmanifest"
    response = await page.request.get(f"{web_app.url}{href}")
    assert response.ok
    manifest = await response.json()
    assert manifest["name"] == "Wallet" and manifest["short_name"] == "Wallet"
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    icons = {(i["sizes"], i.get("purpose", "any")): i["src"] for i in manifest["icons"]}
    assert set(icons) >= {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for (sizes, _purpose), src in icons.items():
        icon = await page.request.get(f"{web_app.url}{src}")
        assert icon.ok and icon.headers["content-type"] == "image/png", src
        image = Image.open(io.BytesIO(await icon.body()))
        assert f"{image.width}x{image.height}" == sizes, src

    assert (await controlled_by_the_service_worker(page)).endswith("/sw.js")
    await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_the_install_offer_then_offline_the_last_balances_seen(
    browser: Browser, web_app: WebApp, size: str
) -> None:
    user = await registered_user(web_app, 2_500)
    page = await open_as(browser, web_app, user, size)
    await expect(available(page)).to_have_text("$25.00")

    # The browser offers to install the app (beforeinstallprompt): an "Install app"
    # button, which asks the browser's own prompt.
    install = page.get_by_role("button", name="Install app")
    await expect(install).to_have_count(0)
    await page.evaluate(INSTALL_OFFER)
    await install.click()
    await page.wait_for_function("window.__installPrompted === true")
    await expect(install).to_have_count(0)

    await controlled_by_the_service_worker(page)
    await page.wait_for_function("localStorage.getItem('wallet:last-balances') !== null")

    await page.context.set_offline(True)
    await page.reload()
    banner = page.get_by_test_id("offline-banner")
    await expect(banner).to_contain_text("Offline — balances as of")
    await expect(available(page)).to_have_text("$25.00")
    await expect(page.get_by_role("heading", name=f"Hi, {user}")).to_be_visible()
    await screenshot(page, f"offline-{size}")

    # Back online, the wallet is live again (and says nothing of being offline).
    await page.context.set_offline(False)
    await page.reload()
    await expect(available(page)).to_have_text("$25.00")
    await expect(banner).to_have_count(0)
    await page.context.close()


INSTALL_OFFER = """() => {
  const offer = new Event("beforeinstallprompt", { cancelable: true });
  offer.prompt = async () => { window.__installPrompted = true; };
  offer.userChoice = Promise.resolve({ outcome: "accepted", platform: "web" });
  window.dispatchEvent(offer);
}"""


def browser_keys() -> tuple[str, str]:
    """A push subscription's keys as a browser makes them: a P-256 public key
    (uncompressed point) and a 16-byte auth secret, base64url."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    encode = lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")  # noqa: E731
    return encode(point), encode(uuid.uuid4().bytes)


# Headless Chromium has no push service to subscribe with (PushManager.subscribe fails
# with "push service not available"): this stands in for it, as the browser would
# answer, and keeps what the app asked for.
STUB = """
(() => {
  const keys = %(keys)s;
  const bytes = (b64) => {
    const padding = "==".slice(0, (4 - (b64.length %% 4)) %% 4);
    const raw = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + padding);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  let current = null;
  PushManager.prototype.subscribe = async function (options) {
    window.__pushAsked = {
      userVisibleOnly: options.userVisibleOnly,
      keyLength: new Uint8Array(options.applicationServerKey).length,
    };
    current = {
      endpoint: keys.endpoint,
      expirationTime: null,
      getKey: (name) => bytes(name === "p256dh" ? keys.p256dh : keys.auth),
      unsubscribe: async () => { current = null; return true; },
    };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


async def test_turning_push_on_and_off_reaches_the_server(
    browser: Browser, web_app: WebApp
) -> None:
    user = await registered_user(web_app)
    page = await logged_in_phone(browser, web_app, user)
    await page.context.grant_permissions(["notifications"], origin=web_app.url)

    # First the real thing: with no push service, the app says so (and stays usable).
    await page.goto(f"{web_app.url}/profile/notifications")
    await controlled_by_the_service_worker(page)
    push = page.get_by_role("region", name="Push on this device")
    await push.get_by_role("button", name="Turn on push").click()
    status = page.get_by_test_id("push-status")
    await expect(status).not_to_be_empty(timeout=15_000)
    real = await status.inner_text()
    print(f"push with the browser's own PushManager: {real!r}")

    if real != "Push is on for this browser.":
        assert "could not subscribe" in real
        p256dh, auth = browser_keys()
        endpoint = f"https://push.example.com/wallet-e2e/{uuid.uuid4().hex}"
        keys = f'{{"endpoint": "{endpoint}", "p256dh": "{p256dh}", "auth": "{auth}"}}'
        await page.context.add_init_script(STUB % {"keys": keys})
        await page.reload()
        await push.get_by_role("button", name="Turn on push").click()
        await expect(status).to_have_text("Push is on for this browser.")
        asked = await page.evaluate("window.__pushAsked")
        assert asked == {"userVisibleOnly": True, "keyLength": 65}
    else:
        endpoint = ""
    await screenshot(page, "push-on")

    async with server_database(web_app), connection() as conn:
        stored = await conn.fetch(
            "SELECT s.endpoint, s.p256dh FROM push_subscription s JOIN app_user u "
            "ON u.id = s.user_id WHERE u.username = $1",
            user,
        )
    assert len(stored) == 1
    if endpoint:
        assert stored[0]["endpoint"] == endpoint

    if endpoint:
        await a_payment_is_pushed_and_the_service_worker_shows_it(page, web_app, user, endpoint)

    await push.get_by_role("button", name="Turn off push").click()
    await expect(status).to_have_text("Push is off for this browser.")
    async with server_database(web_app), connection() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM push_subscription s JOIN app_user u ON u.id = s.user_id "
            "WHERE u.username = $1",
            user,
        )
    assert left == 0
    await page.context.close()


async def a_payment_is_pushed_and_the_service_worker_shows_it(
    page: Page, web_app: WebApp, user: str, endpoint: str
) -> None:
    """Money arrives: the server pushes it to the subscription (the dev server's sandbox
    push service keeps it), linking where the app lists it; delivered to this browser's
    service worker, it shows as a notification that opens that page."""
    payer = await registered_user(web_app, 5_000)
    await send_from(web_app, payer, user, "3.21")
    redis = Redis.from_url(web_app.redis_url)
    try:
        sandbox = SandboxPushProvider(redis)
        for _ in range(100):
            pushed = await sandbox.sent_to(endpoint)
            if pushed:
                break
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()
    assert [(m["title"], m["url"]) for m in pushed] == [("You received $3.21", "/activity")]

    cdp = await page.context.new_cdp_session(page)
    registrations: list[dict[str, str]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if registrations:
            break
        await asyncio.sleep(0.1)
    [registration] = [r for r in registrations if r["scopeURL"] == f"{web_app.url}/"]
    content = {key: pushed[0][key] for key in ("title", "body", "url")}
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": web_app.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(content),
        },
    )
    shown = None
    for _ in range(50):
        shown = await page.evaluate(
            """async () => {
                 const registration = await navigator.serviceWorker.ready;
                 const [n] = await registration.getNotifications();
                 return n ? { title: n.title, body: n.body, url: n.data.url } : null;
               }"""
        )
        if shown:
            break
        await asyncio.sleep(0.2)
    assert shown == content
