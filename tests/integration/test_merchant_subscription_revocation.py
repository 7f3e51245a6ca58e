"""Finding 11 of the security review: `paymentRequestUpdated` kept streaming after its
API key was revoked. The credential (API key, or session and staff membership) is
checked again on every event, and the stream ends when it no longer holds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import LOG_OUT, call, gql, token_for
from tests.merchant_helpers import KEY, create, customer, pay, shop
from wallet.config import Settings
from wallet.outbox.relay import OutboxRelay
from wallet.realtime.channels import Channels

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

REVOKE = """mutation($m: ID!, $k: ID!) { revokeMerchantApiKey(merchantId: $m, keyId: $k) {
  __typename } }"""
ADD_STAFF = """mutation($m: ID!, $u: String!) {
  addMerchantStaff(merchantId: $m, username: $u, role: CASHIER) { __typename } }"""
REMOVE_STAFF = """mutation($m: ID!, $u: String!) {
  removeMerchantStaff(merchantId: $m, username: $u) { __typename
  ... on StaffRemovedPayload { username } ... on UserError { code } } }"""


class _NoJobs:
    async def enqueue_job(self, function: str, *args: object, _job_id: str | None = None) -> None:
        return None


@pytest.fixture
async def relay(database_url: str, redis: Redis, settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    channels = Channels(settings.channel_namespace)
    task = asyncio.create_task(
        OutboxRelay(publisher=redis, jobs=_NoJobs(), channels=channels).run(stop)
    )
    yield
    stop.set()
    await task


async def subscribe(
    live: LiveServer, token: str, request_id: str, redis: Redis, listeners: int = 1
) -> Any:
    """A subscription to the request's status, once it listens (the `listeners`-th)."""
    ws = await websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"])
    init = {"authorization": f"Bearer {token}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    query = f'subscription {{ paymentRequestUpdated(requestId: "{request_id}") {{ status }} }}'
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    deadline = time.monotonic() + 5
    while True:
        # One Redis subscriber per process (the app's hub), fanned out in memory: the
        # hub counts the subscriptions listening.
        if live.hub.listeners >= listeners:
            return ws
        assert time.monotonic() < deadline, "the subscription never listened"
        await asyncio.sleep(0.02)


async def next_message(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return message


@pytest.mark.usefixtures("relay")
async def test_a_revoked_api_key_hears_no_more_payment_events(
    live_server: LiveServer, redis: Redis
) -> None:
    """The reviewer's replay: subscribe with a key, revoke it, make an event."""
    _, owner_token, merchant_id = await shop(live_server)
    revoked, live = [
        await call(live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_WRITE"]})
        for _ in range(2)
    ]
    request = (await create(live_server, revoked["key"], merchant_id, amount="6.00"))["request"]
    ws_revoked = await subscribe(live_server, revoked["key"], request["id"], redis)
    ws_live = await subscribe(live_server, live["key"], request["id"], redis, listeners=2)
    answer = await call(live_server, owner_token, REVOKE, {"m": merchant_id, "k": revoked["id"]})
    assert answer["__typename"] == "ApiKeyRevokedPayload"
    _, buyer_token = await customer(live_server)
    assert "payment" in await pay(live_server, buyer_token, request["id"])
    assert await next_message(ws_revoked) == {"id": "1", "type": "complete"}  # no event
    heard = await next_message(ws_live)  # the key still valid hears it
    assert heard["payload"]["data"]["paymentRequestUpdated"]["status"] == "PAID"
    for ws in (ws_revoked, ws_live):
        await ws.close()


@pytest.mark.usefixtures("relay")
async def test_a_removed_cashier_and_a_logged_out_owner_hear_no_more_events(
    live_server: LiveServer, redis: Redis
) -> None:
    owner, owner_token, merchant_id = await shop(live_server)
    cashier = await make_user()
    added = await call(
        live_server, owner_token, ADD_STAFF, {"m": merchant_id, "u": cashier.username}
    )
    assert added["__typename"] == "StaffPayload"
    cashier_token = await token_for(live_server, cashier)
    second_owner_session = await token_for(live_server, owner)
    request = (await create(live_server, cashier_token, merchant_id, amount="6.00"))["request"]
    ws_cashier = await subscribe(live_server, cashier_token, request["id"], redis)
    ws_logged_out = await subscribe(live_server, owner_token, request["id"], redis, listeners=2)
    ws_owner = await subscribe(live_server, second_owner_session, request["id"], redis, listeners=3)
    removed = await call(
        live_server, owner_token, REMOVE_STAFF, {"m": merchant_id, "u": "@" + cashier.username}
    )
    assert removed == {"__typename": "StaffRemovedPayload", "username": cashier.username}
    async with live_server.client() as http:
        await gql(http, LOG_OUT, token=owner_token)
    _, buyer_token = await customer(live_server)
    assert "payment" in await pay(live_server, buyer_token, request["id"])
    assert await next_message(ws_cashier) == {"id": "1", "type": "complete"}
    assert await next_message(ws_logged_out) == {"id": "1", "type": "complete"}
    heard = await next_message(ws_owner)
    assert heard["payload"]["data"]["paymentRequestUpdated"]["status"] == "PAID"
    # And the removed cashier is refused from now on.
    again = await create(live_server, cashier_token, merchant_id, amount="1.00")
    assert again["code"] == "NOT_FOUND"
    for ws in (ws_cashier, ws_logged_out, ws_owner):
        await ws.close()


async def test_the_founding_owner_cannot_be_removed(live_server: LiveServer) -> None:
    owner, owner_token, merchant_id = await shop(live_server)
    removed = await call(
        live_server, owner_token, REMOVE_STAFF, {"m": merchant_id, "u": owner.username}
    )
    assert removed["code"] == "NOT_FOUND"
