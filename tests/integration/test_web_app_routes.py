"""The built web app's pages: each section's URL (`/activity`, `/pay/send`...) answers with
the app shell, so deep links and reloads work, while the API's routes beside and below
them (/graphql, /health, /operator/books/..., /merchant/payment-requests/...) stay the API's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, run_live_server
from wallet.config import Settings

SHELL = '<!doctype html><html><body><div id="root"></div><!-- app shell --></body></html>'


@pytest.fixture
async def server(settings: Settings, tmp_path: Path) -> AsyncIterator[LiveServer]:
    (tmp_path / "index.html").write_text(SHELL)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("console.log('app');")
    async with run_live_server(settings.replace(frontend_dist=tmp_path)) as live:
        yield live


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/activity",
        "/activity/bills",
        "/pay/send",
        "/accounts/goals",
        "/profile/security",
        "/notifications",
        "/merchant",
        "/merchant/till",
        "/operator",
        "/operator/ledger",
    ],
)
async def test_each_page_of_the_web_app_is_the_app_shell(server: LiveServer, path: str) -> None:
    async with server.client() as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<!-- app shell -->" in response.text


async def test_the_api_beside_and_below_the_pages_is_unaffected(server: LiveServer) -> None:
    async with server.client() as http:
        graphql = await http.post("/graphql", json={"query": "{ __typename }"})
        assert graphql.status_code == 200
        assert graphql.json() == {"data": {"__typename": "Query"}}
        health = await http.get("/health")
        assert health.status_code == 200 and "app shell" not in health.text
        # Downloads under a section's prefix: still the API (no session here).
        books = await http.get("/operator/books/balance-sheet.csv?currency=USD")
        assert books.status_code == 401 and "app shell" not in books.text
        qr = await http.get("/merchant/payment-requests/R1/qr.png")
        assert qr.status_code in (401, 404) and "app shell" not in qr.text
        script = await http.get("/assets/app.js")
        assert script.status_code == 200 and script.text == "console.log('app');"


@pytest.mark.parametrize("path", ["/no-such-page", "/activity/bills/extra", "/assets/missing.js"])
async def test_paths_that_are_no_page_are_not_found(server: LiveServer, path: str) -> None:
    async with server.client() as http:
        response = await http.get(path)
    assert response.status_code == 404
    assert "<!-- app shell -->" not in response.text
