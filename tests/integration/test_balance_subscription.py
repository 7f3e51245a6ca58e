"""`balanceChanged` end to end: commit → outbox → relay → Redis pub/sub → WebSocket."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from arq import create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, LOG_OUT, gql
from wallet.config import Settings
from wallet.db.engine import transaction
from wallet.money import Currency, Money
from wallet.outbox.relay import OutboxRelay
from wallet.realtime.channels import Channels
from wallet.wallets.service import grant_promotional_credit

SUBSCRIBE = "subscription { balanceChanged { currency available posted } }"


@pytest.fixture
async def relay(
    database_url: str, redis: Redis, redis_url: str, settings: Settings
) -> AsyncIterator[None]:
    jobs = await create_pool(RedisSettings.from_dsn(redis_url))
    stop = asyncio.Event()
    channels = Channels(settings.channel_namespace)
    task = asyncio.create_task(OutboxRelay(publisher=redis, jobs=jobs, channels=channels).run(stop))
    yield
    stop.set()
    await task
    await jobs.aclose()


async def open_subscription(
    live: LiveServer,
    *,
    headers: dict[str, str] | None = None,
    init: dict[str, Any] | None = None,
    query: str = SUBSCRIBE,
) -> Any:
    ws = await websockets.connect(
        live.ws_url, subprotocols=["graphql-transport-ws"], additional_headers=headers or {}
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    return ws


async def wait_for_listener(redis: Redis, user_id: int, namespace: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        [(_, count)] = await redis.pubsub_numsub(Channels(namespace).balance(user_id))
        if count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("subscription never listened on its channel")


async def credit(user_id: int, minor: int) -> None:
    async with transaction() as conn:
        await grant_promotional_credit(conn, user_id, Money(minor, Currency.USD))


async def log_in(live: LiveServer, username: str, transport: str) -> tuple[str | None, str]:
    async with live.client() as http:
        result = await gql(
            http,
            LOG_IN,
            {"input": {"login": username, "password": PASSWORD, "sessionTransport": transport}},
        )
        return result["data"]["logIn"]["token"], http.cookies.get("wallet_session", "")


@pytest.mark.usefixtures("relay")
async def test_cookie_session_receives_balance_changes(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user(balance="10.00")
    _, cookie = await log_in(live_server, user.username, "COOKIE")
    ws = await open_subscription(live_server, headers={"cookie": f"wallet_session={cookie}"})
    await wait_for_listener(redis, user.id, live_server.settings.channel_namespace)
    await credit(user.id, 250)
    # First the balance as it was (the subscription's snapshot), and perhaps the sign-up
    # grant's own event if the relay is still publishing it: skip them.
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    while message["payload"]["data"]["balanceChanged"]["posted"] == "10.00":
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message == {
        "id": "1",
        "type": "next",
        "payload": {
            "data": {"balanceChanged": {"currency": "USD", "available": "12.50", "posted": "12.50"}}
        },
    }
    await ws.close()


@pytest.mark.usefixtures("relay")
async def test_bearer_token_in_connection_init_authenticates(
    live_server: LiveServer, redis: Redis
) -> None:
    user, other = await make_user(), await make_user()
    token, _ = await log_in(live_server, user.username, "BEARER")
    ws = await open_subscription(live_server, init={"authorization": f"Bearer {token}"})
    await wait_for_listener(redis, user.id, live_server.settings.channel_namespace)
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert snapshot["payload"]["data"]["balanceChanged"]["available"] == "0.00"
    await credit(other.id, 999)  # someone else's money: must not reach this socket
    await credit(user.id, 100)
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["payload"]["data"]["balanceChanged"]["available"] == "1.00"
    await ws.close()


async def test_anonymous_subscription_is_refused(live_server: LiveServer) -> None:
    ws = await open_subscription(live_server)
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next"
    assert message["payload"]["data"] is None
    (error,) = message["payload"]["errors"]
    assert (error["message"], error["extensions"]) == (
        "Log in first",
        {"code": "NOT_AUTHENTICATED"},
    )
    await ws.close()


@pytest.mark.usefixtures("relay")
async def test_subscription_ends_when_the_session_is_logged_out(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token, _ = await log_in(live_server, user.username, "BEARER")
    ws = await open_subscription(live_server, init={"authorization": f"Bearer {token}"})
    await wait_for_listener(redis, user.id, live_server.settings.channel_namespace)
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert snapshot["type"] == "next"
    async with live_server.client() as http:
        await gql(http, LOG_OUT, token=token)
    await credit(user.id, 100)
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message == {"id": "1", "type": "complete"}
    await ws.close()


async def test_cross_site_websocket_handshake_is_refused(live_server: LiveServer) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await websockets.connect(
            live_server.ws_url,
            subprotocols=["graphql-transport-ws"],
            additional_headers={"origin": "https://evil.example"},
        )


@pytest.mark.usefixtures("relay")
async def test_every_event_carries_its_sequence_after_the_snapshots(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user(balance="10.00")
    token, _ = await log_in(live_server, user.username, "BEARER")
    # The relay's cursor passes the opening balance's event before the subscription.
    deadline = time.monotonic() + 10
    async with transaction() as conn:
        opened = await conn.fetchval("SELECT max(id) FROM outbox_event")
    while time.monotonic() < deadline:
        async with transaction() as conn:
            if await conn.fetchval("SELECT last_id FROM outbox_relay_cursor") >= opened:
                break
        await asyncio.sleep(0.05)
    ws = await open_subscription(
        live_server,
        init={"authorization": f"Bearer {token}"},
        query="subscription { balanceChanged { currency available sequence } }",
    )
    await wait_for_listener(redis, user.id, live_server.settings.channel_namespace)
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))["payload"]["data"]
    async with transaction() as conn:
        cursor = await conn.fetchval("SELECT last_id FROM outbox_relay_cursor")
    shown = snapshot["balanceChanged"]
    assert shown["available"] == "10.00"
    assert 0 < int(shown["sequence"]) <= cursor  # everything up to it is in the snapshot
    sequences = []
    for minor, total in ((100, "11.00"), (50, "11.50")):
        await credit(user.id, minor)
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))["payload"]["data"]
        assert message["balanceChanged"]["available"] == total
        sequences.append(int(message["balanceChanged"]["sequence"]))
    async with transaction() as conn:
        events = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'balance.changed' "
            "AND (payload->>'user_id')::bigint = $1 AND id > $2 ORDER BY id",
            user.id,
            int(shown["sequence"]),
        )
    assert sequences == [int(e["id"]) for e in events]
    assert int(shown["sequence"]) < sequences[0] < sequences[1]
    await ws.close()


@pytest.mark.usefixtures("relay")
async def test_a_users_listeners_share_one_balance_read_per_event(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user(balance="10.00")
    token, _ = await log_in(live_server, user.username, "BEARER")
    sockets = [
        await open_subscription(live_server, init={"authorization": f"Bearer {token}"})
        for _ in range(5)
    ]
    await wait_for_listener(redis, user.id, live_server.settings.channel_namespace)
    for ws in sockets:  # every device's snapshot
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert snapshot["payload"]["data"]["balanceChanged"]["available"] == "10.00"
    reads = live_server.app.state["services"].balance_reads
    before = reads.loads
    await credit(user.id, 100)
    for ws in sockets:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        while message["payload"]["data"]["balanceChanged"]["available"] == "10.00":
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))  # a late sign-up event
        assert message["payload"]["data"]["balanceChanged"]["available"] == "11.00"
    assert reads.loads - before <= 2  # the credit's read, and perhaps the sign-up's
    for ws in sockets:
        await ws.close()
