"""The notification centre over GraphQL: deep links, the unread count, marking one or
all read, and `notificationReceived` (commit → outbox → relay → pub/sub → WebSocket),
which starts with the unread count and numbers its events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import websockets
from arq import create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from wallet.config import Settings
from wallet.db.engine import connection
from wallet.notifications import centre
from wallet.notifications import money as money_notifications
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.outbox.relay import OutboxRelay
from wallet.realtime.channels import Channels

LIST = """{ notifications { id kind title read transactionId
  target { kind id path } } unreadNotificationCount }"""
MARK_ONE = """mutation($id: ID!) { markNotificationRead(id: $id) {
  __typename ... on MarkReadPayload { marked unreadCount } ... on NotFound { code message } } }"""
MARK_ALL = """mutation { markAllNotificationsRead {
  __typename ... on MarkReadPayload { marked unreadCount } } }"""
SUBSCRIBE = """subscription { notificationReceived { unreadCount sequence
  notification { id title target { kind path } } } }"""
_keys = iter(range(10**6))


async def notify(redis: Redis, user_id: int, title: str, **fields: Any) -> int:
    notice = Notice(user_id, "money_added", title, "Body", f"centre:{next(_keys)}", **fields)
    assert await deliver_notices([notice], SandboxEmailProvider(redis)) == 1
    [latest] = await centre.notifications_of(user_id, 1)
    return latest.id


async def test_notifications_link_to_their_transaction_request_dispute_or_page(
    live_server: LiveServer, redis: Redis
) -> None:
    alice, bob = await make_user(balance="10.00"), await make_user()
    sent = await send(live_server, await token_for(live_server, alice), bob.username, "3.00")
    async with connection() as conn:
        event_id = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(sent["transfer"]["id"]),
        )
    await money_notifications.notify_transaction(event_id, email=SandboxEmailProvider(redis))
    await notify(redis, bob.id, "Dispute opened", link="/disputes/42")
    await notify(redis, bob.id, "Your week", link="/insights")
    token = await token_for(live_server, bob)

    async with live_server.client() as http:
        body = (await http.post("/graphql", json={"query": LIST}, headers=auth(token))).json()
    listed, unread = body["data"]["notifications"], body["data"]["unreadNotificationCount"]

    txid = sent["transfer"]["id"]
    assert [(n["title"], n["target"]) for n in listed] == [
        ("Your week", {"kind": "PAGE", "id": None, "path": "/activity/budget"}),
        ("Dispute opened", {"kind": "DISPUTE", "id": "42", "path": "/activity"}),
        ("You received $3.00", {"kind": "TRANSACTION", "id": txid, "path": "/activity"}),
    ]
    assert unread == 3


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_marking_one_read_and_all_read_changes_the_unread_count(
    live_server: LiveServer, redis: Redis
) -> None:
    bob, eve = await make_user(), await make_user()
    first = await notify(redis, bob.id, "One")
    await notify(redis, bob.id, "Two")
    await notify(redis, bob.id, "Three")
    eves = await notify(redis, eve.id, "Eve's")
    token = await token_for(live_server, bob)

    marked = await call(live_server, token, MARK_ONE, {"id": str(first)})
    assert marked == {"__typename": "MarkReadPayload", "marked": 1, "unreadCount": 2}
    again = await call(live_server, token, MARK_ONE, {"id": str(first)})
    assert again == {"__typename": "MarkReadPayload", "marked": 0, "unreadCount": 2}
    # Someone else's notification is not found, and stays unread.
    refused = await call(live_server, token, MARK_ONE, {"id": str(eves)})
    assert refused["__typename"] == "NotFound"
    assert await centre.unread_count(eve.id) == 1
    assert (await call(live_server, token, MARK_ONE, {"id": "nope"}))["__typename"] == "NotFound"

    all_read = await call(live_server, token, MARK_ALL)
    assert all_read == {"__typename": "MarkReadPayload", "marked": 2, "unreadCount": 0}
    assert await call(live_server, token, "{ unreadNotificationCount }") == 0
    assert [n["read"] for n in await call(live_server, token, "{ notifications { read } }")] == [
        True
    ] * 3
    assert await centre.unread_count(eve.id) == 1


@pytest.fixture
async def relay(redis: Redis, redis_url: str, settings: Settings) -> AsyncIterator[None]:
    jobs = await create_pool(RedisSettings.from_dsn(redis_url))
    stop = asyncio.Event()
    channels = Channels(settings.channel_namespace)
    task = asyncio.create_task(OutboxRelay(publisher=redis, jobs=jobs, channels=channels).run(stop))
    yield
    stop.set()
    await task
    await jobs.aclose()


async def next_event(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "next", message
    event: dict[str, Any] = message["payload"]["data"]["notificationReceived"]
    return event


@pytest.mark.usefixtures("relay")
async def test_notification_received_starts_with_the_unread_count_then_streams(
    live_server: LiveServer, redis: Redis
) -> None:
    bob = await make_user()
    await notify(redis, bob.id, "Before")
    await notify(redis, bob.id, "Also before")
    token = await token_for(live_server, bob)
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))

        snapshot = await next_event(ws)
        assert snapshot == {"unreadCount": 2, "sequence": "0", "notification": None}

        new_id = await notify(redis, bob.id, "Fresh", link="/insights")
        arrived = await next_event(ws)
        assert arrived["unreadCount"] == 3
        assert arrived["notification"] == {
            "id": str(new_id),
            "title": "Fresh",
            "target": {"kind": "PAGE", "path": "/activity/budget"},
        }
        assert int(arrived["sequence"]) > 0

        # Read in another tab: this one hears the new count, with a later sequence.
        await call(live_server, token, MARK_ALL)
        read = await next_event(ws)
        assert (read["unreadCount"], read["notification"]) == (0, None)
        assert int(read["sequence"]) > int(arrived["sequence"])

        # Someone else's notification never reaches this subscription.
        await notify(redis, (await make_user()).id, "Not for Bob")
        mine = await notify(redis, bob.id, "For Bob")
        assert (await next_event(ws))["notification"]["id"] == str(mine)


@pytest.mark.parametrize("link", ["//evil.example/pay", "/\\evil.example", "https://evil.example"])
async def test_a_link_to_another_site_is_refused_by_the_database(
    live_server: LiveServer, link: str
) -> None:
    """A service worker's openWindow("//evil.example") opens another site: a notification's
    link must be a path of this app."""
    user = await make_user()
    async with connection() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO notification (user_id, kind, title, body, link, dedupe_key) "
                "VALUES ($1, 'test', 't', 'b', $2, 'bad')",
                user.id,
                link,
            )
        await conn.execute(
            "INSERT INTO notification (user_id, kind, title, body, link, dedupe_key) "
            "VALUES ($1, 'test', 't', 'b', '/activity', 'good')",
            user.id,
        )
