"""Devices and sessions: each sign-in binds a device; a new one alerts the user; sessions
are listed and can be signed out one by one."""

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.devices import TestDevice, device_for
from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, call, gql
from wallet.db.engine import connection
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import notify_new_device
from wallet.security.devices import device_label

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SESSIONS = "{ sessions { id device current } }"
DEVICES = "{ devices { label } }"
REVOKE = "mutation($id: ID!) { revokeSession(id: $id) { revoked } }"


async def log_in(
    live: LiveServer, username: str, agent: str, device: TestDevice | None = None
) -> str:
    """Sign in with `agent` as the user agent, from `device` (by default the one test
    device per user agent: the same browser is the same device)."""
    async with live.client() as http:
        http.headers["user-agent"] = agent
        proof = await (device or device_for(agent)).proof(http)
        login = {
            "login": username,
            "password": PASSWORD,
            "sessionTransport": "BEARER",
            "device": proof,
        }
        result = await gql(http, LOG_IN, {"input": login})
    return str(result["data"]["logIn"]["token"])


async def new_device_events(user_id: int) -> list[Any]:
    async with connection() as conn:
        return await conn.fetch(
            "SELECT id, payload FROM outbox_event WHERE topic = 'device.new' "
            "AND (payload->>'user_id')::bigint = $1 ORDER BY id",
            user_id,
        )


async def test_a_new_device_alerts_and_a_known_one_does_not(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    await log_in(live_server, user.username, CHROME)  # where the account is used first
    await log_in(live_server, user.username, CHROME)
    assert await new_device_events(user.id) == []
    await log_in(live_server, user.username, FIREFOX)
    await log_in(live_server, user.username, "WalletApp/2.1", TestDevice())
    events = await new_device_events(user.id)
    assert len(events) == 2
    email = SandboxEmailProvider(redis)
    assert await notify_new_device(int(events[0]["id"]), email=email) == 1
    assert await notify_new_device(int(events[0]["id"]), email=email) == 0  # once
    async with connection() as conn:
        title = await conn.fetchval(
            "SELECT title FROM notification WHERE user_id = $1 AND kind = 'new_device'", user.id
        )
    assert title == "New sign-in: Firefox on Windows"
    assert [m["subject"] for m in await email.sent_to(user.email)][-1] == title


async def test_sessions_are_listed_and_signed_out_one_by_one(live_server: LiveServer) -> None:
    user, other = await make_user(), await make_user()
    laptop = await log_in(live_server, user.username, CHROME)
    phone = await log_in(live_server, user.username, FIREFOX)
    listed = await call(live_server, laptop, SESSIONS)
    assert sorted((s["device"], s["current"]) for s in listed) == [
        ("Chrome on Linux", True),
        ("Firefox on Windows", False),
    ]
    devices = await call(live_server, laptop, DEVICES)
    assert {d["label"] for d in devices} == {"Chrome on Linux", "Firefox on Windows"}

    phone_id = next(s["id"] for s in listed if not s["current"])
    other_token = await log_in(live_server, other.username, CHROME)
    assert (await call(live_server, other_token, REVOKE, {"id": phone_id}))["revoked"] is False
    assert await call(live_server, phone, "{ me { username } }") == {"username": user.username}
    assert (await call(live_server, laptop, REVOKE, {"id": phone_id}))["revoked"] is True
    assert await call(live_server, phone, "{ me { username } }") is None
    assert [s["device"] for s in await call(live_server, laptop, SESSIONS)] == ["Chrome on Linux"]


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (CHROME, "Chrome on Linux"),
        (FIREFOX, "Firefox on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1",
            "Safari on iPhone",
        ),
        ("curl/8.0", "A browser"),
        ("WalletApp/2.1", "Wallet app"),
    ],
)
def test_device_labels_are_readable(agent: str, label: str) -> None:
    assert device_label(agent) == label
