"""What the web app asks the server, counted in Chromium: each query once when the
screen opens, one refetch per change, no request torn down half-way (the server logged
them as 500s), and a favicon (issue 18, items 11 and 12)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, Page, Request, Response, WebSocket, expect

from tests.e2e.conftest import (
    PASSWORD,
    WebApp,
    available,
    confirm_send,
    go_to,
    new_phone,
    registered_user,
    screenshot,
)

pytestmark = pytest.mark.e2e

# Quiet for this long once the screen settled: the notifications panel looks again 1.5 s
# and 5 s after a change (the worker writes them just after it), the history 2 s after.
SETTLE_MS = 6_500


@dataclass
class Traffic:
    """The page's GraphQL operations by name, its failed requests and its error answers."""

    sent: Counter[str] = field(default_factory=Counter)
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    live_events: int = 0  # subscription results pushed to the page since the last take

    def watch(self, page: Page) -> None:
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.aborted.append(f"{_name(r)}: {r.failure}"))
        page.on("response", self._response)
        page.on("websocket", self._websocket)

    def _websocket(self, socket: WebSocket) -> None:
        socket.on("framereceived", self._frame)

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str) and json.loads(payload).get("type") == "next":
            self.live_events += 1

    def _request(self, request: Request) -> None:
        if request.url.endswith("/graphql") and request.method == "POST":
            self.sent[_name(request)] += 1

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.errors.append(f"{response.status} {response.url}")

    def take(self) -> Counter[str]:
        sent, self.sent = self.sent, Counter()
        self.live_events = 0
        return sent

    def take_with_events(self) -> tuple[Counter[str], int]:
        events = self.live_events
        return self.take(), events


def _name(request: Request) -> str:
    if not request.url.endswith("/graphql"):
        return request.url
    query = json.loads(request.post_data or "{}").get("query", "")
    match = re.search(r"\b(?:query|mutation)\s+(\w+)", query)
    return match.group(1) if match else query[:40]


async def test_the_wallet_asks_each_query_once_and_abandons_none(
    browser: Browser, web_app: WebApp
) -> None:
    sender = await registered_user(web_app, 5_000)
    friend = await registered_user(web_app)
    page = await new_phone(browser)
    traffic = Traffic()
    traffic.watch(page)
    await page.goto(web_app.url)
    await page.get_by_label("Email, phone or username").fill(sender)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {sender}")).to_be_visible()
    await expect(page.get_by_text("● live")).to_be_visible()
    await page.wait_for_timeout(SETTLE_MS)
    opened, events = traffic.take_with_events()
    # Before this fix MoneyRequests went twice on mount, the first torn down (aborted,
    # checked at the end). Live events landing after the first load (the new device's
    # alert, the opening balance's events on a loaded machine) are one more whole look
    # each at most, never a torn one; with none, it is looked at exactly once.
    assert opened["MoneyRequests"] in (range(1, 2) if events == 0 else range(1, 2 + events)), (
        opened,
        events,
    )
    assert opened["WalletBalances"] == 1, opened
    assert opened["Viewer"] == 2, opened  # signed out, then signed in

    # Through Cards & accounts' first page (balances), once it has loaded.
    await go_to(page, "Balances")
    await expect(page.get_by_label("Add a currency")).to_be_visible()
    await page.wait_for_timeout(1_000)
    traffic.take()
    await go_to(page, "Rewards")
    await expect(page.get_by_test_id("points")).to_be_visible()
    await page.wait_for_timeout(1_000)
    # Once on opening; a live event landing meanwhile (the relay publishes late on a
    # loaded machine) is one more look, settled, never a second request on mount.
    rewards, events = traffic.take_with_events()
    allowed = range(1, 2) if events == 0 else range(1, 3)
    assert rewards["Rewards"] in allowed, (rewards, events)

    # One send: a balance change and a transaction update arrive together; the open
    # requests and the rewards are looked at again once each.
    await go_to(page, "Send")
    # Pay's side column shows the open requests: looked at once as the page opens.
    await page.wait_for_timeout(SETTLE_MS)
    opened, events = traffic.take_with_events()
    allowed = range(1, 2) if events == 0 else range(1, 2 + events)
    assert opened["MoneyRequests"] in allowed, (opened, events)
    await page.get_by_label("To").fill("@" + friend)
    await page.get_by_label("Amount (USD)").fill("2.00")
    await confirm_send(page)
    await expect(page.get_by_role("status")).to_have_text(f"Sent $2.00 to @{friend}")
    await expect(available(page)).to_have_text("$48.00", timeout=10_000)
    await page.wait_for_timeout(SETTLE_MS)
    after_send = traffic.take()
    assert after_send["SendMoney"] == 1, after_send
    # Its two events settle into one look when they arrive together; on a loaded machine
    # the relay may publish them a cycle apart, which is a second look, never a torn one.
    assert 1 <= after_send["MoneyRequests"] <= 2, after_send
    await screenshot(page, "150-requests-counted-after-send")

    assert traffic.aborted == []
    assert traffic.errors == []
    await page.context.close()


async def test_the_favicon_is_served_and_linked(browser: Browser, web_app: WebApp) -> None:
    page = await new_phone(browser)
    await page.goto(web_app.url)
    ico = await page.request.get(f"{web_app.url}/favicon.ico")
    assert (ico.status, ico.headers["content-type"]) == (200, "image/vnd.microsoft.icon")
    assert (await ico.body())[:4] == b"\x00\x00\x01\x00"  # an ICO directory
    links = await page.locator("link[rel=icon]").evaluate_all("els => els.map(e => e.href)")
    assert links == [f"{web_app.url}/favicon.svg", f"{web_app.url}/favicon.ico"]
    for link in links:
        served = await page.request.get(link)
        assert served.status == 200 and served.headers["content-type"].startswith("image/")
    await page.context.close()
