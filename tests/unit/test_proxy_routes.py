"""The compose stack's nginx forwards every API route to the API (issue 16).

It used to forward only /graphql, /health and /ready: the POS QR image and every
/export download fell through to the web app's index.html. This reads the proxy's
locations from deploy/nginx.conf and checks every route the app serves against them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar

from wallet.app import create_app
from wallet.config import Settings

NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
# Served by the API but not to the public: never proxied.
NOT_PUBLIC = {"/metrics"}
_LOCATION = re.compile(r"location\s+(~\*?|=|\^~)?\s*(\S+)\s*\{(.*?)\}", re.S)


def proxied_locations(config: str) -> list[tuple[str, str]]:
    """(modifier, pattern) of each location that passes requests to the API."""
    return [
        (modifier or "", pattern)
        for modifier, pattern, body in _LOCATION.findall(config)
        if "proxy_pass http://api:" in body
    ]


def forwarded(path: str, locations: list[tuple[str, str]]) -> bool:
    for modifier, pattern in locations:
        if modifier.startswith("~"):
            flags = re.I if modifier == "~*" else 0
            if re.search(pattern, path, flags):
                return True
        elif modifier == "=":
            if path == pattern:
                return True
        elif path.startswith(pattern):
            return True
    return False


def api_paths(app: Litestar) -> list[str]:
    """Each route the app serves, with its path parameters filled in with a sample."""
    paths = []
    for route in app.routes:
        if route.path == "/" or route.path.startswith("/{"):  # the web app's static files
            continue
        paths.append(re.sub(r"\{[^}]+\}", "sample", route.path))
    return sorted(set(paths))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return create_app(Settings(frontend_dist=tmp_path_factory.mktemp("no-web-app")))


def test_every_api_route_is_forwarded_by_the_proxy(app: Litestar) -> None:
    locations = proxied_locations(NGINX.read_text())
    paths = api_paths(app)
    assert "/graphql" in paths and "/export/transactions.csv" in paths
    missing = [p for p in paths if p not in NOT_PUBLIC and not forwarded(p, locations)]
    assert missing == [], f"deploy/nginx.conf does not forward {missing}"
    assert set(paths) >= NOT_PUBLIC
    assert [p for p in NOT_PUBLIC if forwarded(p, locations)] == []


def test_the_web_app_routes_stay_with_the_web_app() -> None:
    """The proxy takes only API paths: the web app's own pages are not forwarded."""
    locations = proxied_locations(NGINX.read_text())
    pages = ("/", "/index.html", "/assets/index.js", "/merchant", "/exports", "/pay/send")
    pages += ("/activity/budget", "/accounts/goals", "/profile/security", "/merchant/till")
    pages += ("/merchant/dashboard", "/operator", "/operator/ledger")
    for page in pages:
        assert not forwarded(page, locations), page


def test_the_check_notices_a_route_the_proxy_misses() -> None:
    locations = proxied_locations(
        "server { location ~ ^/(graphql|health|ready)$ { proxy_pass http://api:8000; } }"
    )
    assert forwarded("/graphql", locations)
    assert not forwarded("/export/transactions.csv", locations)
    assert not forwarded("/merchant/payment-requests/sample/qr.svg", locations)
