"""Findings 4, 8, 16, 20 and 21 of the security review, replayed against real processes:
production (API and worker alike) refuses unsafe settings; its session cookie is
`__Host-` and Secure; its errors suggest no field names; and X-Forwarded-For is believed
only from the configured proxies."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys

import pytest

from tests.conftest import LiveServer, run_live_server
from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, gql
from wallet.app import create_app
from wallet.config import REPO_ROOT, Settings
from wallet.notifications.push import new_vapid_private_key
from wallet.security.crypto import DEVELOPMENT_KEYRING, Keyring


def production(settings: Settings, **overrides: object) -> Settings:
    fine = settings.replace(
        environment="production",
        gateway={"webhook_secret": secrets.token_hex(32)},
        audit={"key": secrets.token_hex(32)},
        metrics={"token": secrets.token_hex(32)},
        notifications={"vapid_private_key": new_vapid_private_key()},
        privacy={"pii_keys": Keyring.new_key_entry("k1")},
        providers={"allow_sandbox": True},
        auth={"webauthn_rp_id": "wallet.example.com"},
    )
    return fine.replace(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"privacy": {"pii_keys": DEVELOPMENT_KEYRING}},
        {"privacy": {"pii_keys": "k1:" + "A" * 43}},  # an all-zero key
        {"gateway": {"webhook_secret": ""}},
        {"providers": {"allow_sandbox": False}},
    ],
)
def test_the_api_refuses_to_start_in_production_on_unsafe_settings(
    settings: Settings, overrides: dict[str, object]
) -> None:
    with pytest.raises(RuntimeError, match="refusing to start"):
        create_app(production(settings, **overrides))


async def test_the_worker_refuses_to_start_in_production_on_the_development_key(
    settings: Settings,
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "WALLET_ENV": "production",
        "WALLET_PII_KEYS": DEVELOPMENT_KEYRING,
        "WALLET_GATEWAY_WEBHOOK_SECRET": "",
        "WALLET_ALLOW_SANDBOX_PROVIDERS": "true",
        "WALLET_WEBAUTHN_RP_ID": "wallet.example.com",
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "arq",
        "workers.settings.WorkerSettings",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(worker.communicate(), timeout=60)
    finally:
        if worker.returncode is None:
            worker.kill()
    assert worker.returncode != 0
    text = output.decode()
    assert "refusing to start" in text
    assert "is the development key" in text and "WALLET_GATEWAY_WEBHOOK_SECRET is empty" in text


async def test_the_production_session_cookie_is_host_prefixed_secure_and_http_only(
    settings: Settings,
) -> None:
    user = await make_user()
    async with run_live_server(production(settings)) as live, live.client() as http:
        response = await http.post(
            "/graphql",
            json={
                "query": LOG_IN,
                "variables": {"input": {"login": user.username, "password": PASSWORD}},
            },
        )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-wallet_session=")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)


SUGGESTIVE = [
    "{ mee { username } }",  # a field
    "{ transactions(frist: 1) { edges { cursor } } }",  # an argument
    'mutation { verifyStepUp(method: PINN, code: "1") { __typename } }',  # an enum value
    "query($x: SendMoneyInputt) { me { username } }",  # a type
]


async def test_production_errors_suggest_nothing(
    settings: Settings, live_server: LiveServer
) -> None:
    async with live_server.client() as http:
        development = [await gql(http, q) for q in SUGGESTIVE]
    assert all(any("Did you mean" in e["message"] for e in r["errors"]) for r in development)
    async with run_live_server(production(settings)) as live, live.client() as http:
        answers = [await gql(http, q) for q in SUGGESTIVE]
    for answer in answers:
        assert answer["errors"]
        assert not any("Did you mean" in e["message"] for e in answer["errors"]), answer


WHO_AM_I = "{ sessions { ip current } }"


async def _session_ip(live: LiveServer, forwarded_for: str) -> str:
    user = await make_user()
    async with live.client() as http:
        http.headers["x-forwarded-for"] = forwarded_for
        logged_in = await gql(
            http,
            LOG_IN,
            {"input": {"login": user.username, "password": PASSWORD, "sessionTransport": "BEARER"}},
        )
        token = logged_in["data"]["logIn"]["token"]
        sessions = await gql(http, WHO_AM_I, token=token)
    (mine,) = [s for s in sessions["data"]["sessions"] if s["current"]]
    return str(mine["ip"])


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    settings: Settings,
) -> None:
    async with run_live_server(settings) as live:  # no proxies configured
        assert await _session_ip(live, "203.0.113.9") == "127.0.0.1"


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(settings: Settings) -> None:
    trusting = settings.replace(trusted_proxies=("127.0.0.0/8",))
    async with run_live_server(trusting) as live:
        # The right-most hop that is not one of our proxies is the client; what the
        # client wrote further left is its own claim and is not believed.
        assert await _session_ip(live, "198.51.100.7, 203.0.113.9") == "203.0.113.9"
        assert await _session_ip(live, "203.0.113.9, 127.0.0.5") == "203.0.113.9"
