"""Browser fixtures: a live `wallet dev` server process and headless Debian Chromium.

Without Chromium the e2e tests skip with the reason, except under CI (CI set), where
a missing browser is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from redis.asyncio import Redis

from tests.conftest import TestServers, empty_redis, with_database
from wallet.config import REPO_ROOT
from wallet.db import engine
from wallet.db.engine import transaction
from wallet.money import Currency, Money
from wallet.notifications.email import SandboxEmailProvider
from wallet.users.models import SignUpRequest
from wallet.users.service import sign_up
from wallet.wallets.service import grant_promotional_credit

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@dataclass
class WebApp:
    url: str
    database_url: str
    redis_url: str
    tokenize_url: str = ""  # the sandbox gateway's tokeniser, another origin
    log: Path | None = None  # what the server printed (one per test worker)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def web_app(
    servers: TestServers, template_database: str, request: pytest.FixtureRequest
) -> AsyncIterator[WebApp]:
    """`wallet dev` (API + worker + web app) on its own database, as a real process.

    Each module's app starts on a new database made from the template, so user ids
    start over; its Redis database is emptied too. Otherwise what Redis keeps per user
    id (codes sent this hour, rate limits) from an earlier module's user is charged to
    this module's user with the same id: a new user's first "Confirm it" was refused
    as a sixth code this hour, and no mail came."""
    await empty_redis(servers.redis_url)
    _require(
        (REPO_ROOT / "frontend" / "dist" / "index.html").exists(),
        "frontend/dist is not built (run `make frontend`)",
    )
    name = f"wallet_e2e_{os.getpid()}"
    admin = await asyncpg.connect(with_database(servers.database_url, "postgres"))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    # The owner's URL: `wallet dev` migrates with it and runs the API and the worker as
    # the app's role (wallet_app), which the template's grants already name.
    database_url = with_database(servers.database_url, name)
    anchors = Path(tempfile.mkdtemp(prefix="wallet-e2e-anchors-"))
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": servers.redis_url,
        "PYTHONPATH": str(REPO_ROOT),
        # A simulated gateway day of one second: ACH top-ups settle while the test watches.
        "WALLET_SANDBOX_DAY_SECONDS": "1",
        # Tests change fraud rules in the database: read them on every payment.
        "WALLET_FRAUD_RULES_TTL_SECONDS": "0",
        # The worker anchors this database's audit chain: not beside a developer's own.
        "WALLET_AUDIT_ANCHOR_DIR": str(anchors),
        # The sandbox card tokeniser on a free port of its own (not the API's port + 1,
        # which another run may hold).
        "WALLET_GATEWAY_TOKENIZE_URL": f"http://127.0.0.1:{_free_port()}/v1/tokens",
        # The development mail sink too (email goes to it over SMTP).
        "WALLET_SMTP_PORT": str(_free_port()),
    }
    env.pop("WALLET_MIGRATION_DATABASE_URL", None)
    # One log per test worker (pytest-xdist runs a `wallet dev` in each).
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    # Per module too: a later module's server must not overwrite a failure's log.
    module = request.module.__name__.rsplit(".", 1)[-1]
    log = ARTIFACTS / (f"server-{worker}-{module}.log" if worker else f"server-{module}.log")
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "wallet.cli", "dev", "--no-seed", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{url}/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start; see {log}")
                await asyncio.sleep(0.2)
        yield WebApp(url, database_url, servers.redis_url, env["WALLET_GATEWAY_TOKENIZE_URL"], log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        shutil.rmtree(anchors, ignore_errors=True)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    chromium = find_chromium()
    _require(chromium is not None, "Chromium not found (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


async def new_phone(browser: Browser) -> Page:
    """A page in a fresh browser context the size of a phone (iPhone 14-like viewport)."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    return await context.new_page()


@pytest.fixture
async def phone_page(browser: Browser) -> AsyncIterator[Page]:
    page = await new_phone(browser)
    context = page.context
    yield page
    await context.close()


@contextlib.asynccontextmanager
async def server_database(web_app: WebApp) -> AsyncIterator[None]:
    """Point this process's engine at the live server's database, for server-side
    arrangements and checks (no test-only endpoint exists in the product)."""
    owns = await engine.connect(web_app.database_url, pool_size=2)
    try:
        yield
    finally:
        if owns:
            await engine.disconnect()


PASSWORD = "sunny-harbour-91"
_seq = itertools.count(1)


async def registered_user(web_app: WebApp, balance_minor: int = 0) -> str:
    """A new user of the live server, optionally with a USD balance; returns the username."""
    n = f"{os.getpid() % 1000:03d}{next(_seq)}"
    async with server_database(web_app):
        user = await sign_up(
            SignUpRequest(f"pay{n}@example.com", f"+1415557{n[-4:]:0>4}", f"pay_{n}", PASSWORD)
        )
        if balance_minor:
            async with transaction() as conn:
                await grant_promotional_credit(conn, user.id, Money(balance_minor, Currency.USD))
    return user.username


async def logged_in_phone(browser: Browser, web_app: WebApp, username: str) -> Page:
    """A phone-sized page logged in as `username`, with live updates connected."""
    page = await new_phone(browser)
    await page.goto(web_app.url)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    await expect(page.get_by_text("● live")).to_be_visible()
    return page


async def logged_in_desktop(browser: Browser, web_app: WebApp, username: str) -> Page:
    """A desktop-sized page (1280x900) logged in as `username`."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(web_app.url)
    await page.get_by_label("Email, phone or username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name=f"Hi, {username}")).to_be_visible()
    return page


# Where each screen of the wallet is: the main navigation's item (the bottom bar on a
# phone, the side bar on a wide screen), then the section's own link.
SCREENS: dict[str, tuple[str, str | None]] = {
    "Home": ("Home", None),
    "Send": ("Pay", "Send"),
    "Request": ("Pay", "Request"),
    "Pay": ("Pay", "Scan & pay"),
    "Add": ("Pay", "Add money"),
    "Withdraw": ("Pay", "Withdraw"),
    "Convert": ("Pay", "Convert"),
    "Split": ("Pay", "Split"),
    "Activity": ("Activity", "All activity"),
    "Bills": ("Pay", "Bills"),
    "Budget": ("Activity", "Budget"),
    "Balances": ("Cards & accounts", "Balances"),
    "Goals": ("Cards & accounts", "Goals"),
    "Rewards": ("Cards & accounts", "Rewards"),
    "Profile": ("Profile", "Overview"),
    "Security": ("Profile", "Security"),
    "Limits": ("Profile", "Limits & verification"),
}


async def go_to(page: Page, screen: str) -> Page:
    """Open one of the wallet's screens the way a person does: at most two taps."""
    section, link = SCREENS[screen]
    main = page.get_by_role("navigation", name="Main", exact=True)
    await main.get_by_role("link", name=section, exact=True).click()
    if link:
        nav = page.get_by_role("navigation", name=section, exact=True)
        await nav.get_by_role("link", name=link, exact=True).click()
        await expect(nav.get_by_role("link", name=link, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
    else:
        await expect(main.get_by_role("link", name=section, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
    return page


async def confirm_send(page: Page) -> None:
    """On a filled-in Send form: Review, then Send on the review (a send is reviewed
    before money moves)."""
    await page.get_by_role("button", name="Review", exact=True).click()
    await page.get_by_test_id("review").get_by_role("button", name="Send", exact=True).click()


async def open_shop(page: Page, section: str = "Till") -> Page:
    """From a shop owner's or cashier's wallet, into the shop's own mode at `section`."""
    await go_to(page, "Profile")
    await page.get_by_role("link", name=re.compile(r"^Open .+'s till$")).click()
    nav = page.get_by_role("navigation", name="Shop", exact=True)
    await nav.get_by_role("link", name=section, exact=True).click()
    await expect(nav.get_by_role("link", name=section, exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    return page


async def open_console(page: Page, section: str = "Queues") -> Page:
    """From an operator's wallet page, into the operator console's `section`."""
    await go_to(page, "Profile")
    await page.get_by_role("link", name="Open the operator console").click()
    nav = page.get_by_role("navigation", name="Operator console")
    await nav.get_by_role("link", name=section, exact=True).click()
    await expect(page.get_by_role("heading", name=section, level=1)).to_be_visible()
    return page


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def available(page: Page):  # type: ignore[no-untyped-def]
    """The USD balance card's available amount on a logged-in page."""
    return page.get_by_test_id("balance-USD").get_by_test_id("available")


def _code_in(mail: dict[str, object]) -> re.Match[str] | None:
    return re.search(r"\b(\d{6})\b", str(mail["body"]))


async def confirm_with_emailed_code(page: Page, web_app: WebApp, password: str = PASSWORD) -> None:
    """Answer the "Confirm it's you" prompt the way an account with no second factor
    does: ask for the emailed code, read it from the sandbox mailbox, type it with the
    password."""
    prompt = page.get_by_role("form", name="Confirm it's you")
    await prompt.get_by_role("button", name="Email me a code").click()
    code_label = prompt.locator("label[for=step-up-code]")
    await expect(code_label).to_contain_text("Code we sent to")
    address = (await code_label.inner_text()).removeprefix("Code we sent to ").strip()
    # The newest mail with a code: another (a notice sent by the worker meanwhile) may
    # land after it, and on a loaded machine the code itself may land a moment late.
    redis = Redis.from_url(web_app.redis_url)
    try:
        for _ in range(30):
            sent = await SandboxEmailProvider(redis).sent_to(address)
            codes = [m for m in map(_code_in, reversed(sent)) if m is not None]
            if codes:
                break
            await asyncio.sleep(0.5)
    finally:
        await redis.aclose()
    assert codes, sent
    code = codes[0]
    await prompt.get_by_label("Your password").fill(password)
    await prompt.get_by_label(f"Code we sent to {address}").fill(code.group(1))
    await prompt.get_by_role("button", name="Confirm").click()
    await expect(prompt).to_be_hidden()
