"""A shop's sales live (issue 19): `merchantSales` tells the shop's dashboards of every
sale as it is paid or refunded (a request, a static code, a bill), and only them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.integration.test_merchant_subscription_revocation import relay as relay
from tests.merchant_helpers import KEY, REFUND, create, customer, pay, shop

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

SALES = """subscription($m: ID!) { merchantSales(merchantId: $m) {
  transactionId amount refunded payerName sequence } }"""


async def listen(live: LiveServer, token: str, merchant_id: str, listeners: int) -> Any:
    ws = await websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    payload = {"query": SALES, "variables": {"m": merchant_id}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    deadline = time.monotonic() + 5
    while live.hub.listeners < listeners:
        assert time.monotonic() < deadline, "the subscription never listened"
        await asyncio.sleep(0.02)
    return ws


async def next_sale(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "next", message
    return message["payload"]["data"]["merchantSales"]  # type: ignore[no-any-return]


@pytest.mark.usefixtures("relay")
async def test_the_dashboard_hears_each_sale_and_refund_as_it_happens(
    live_server: LiveServer, redis: Redis
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    other_shop_token, other_merchant = (await shop(live_server))[1:]
    buyer, buyer_token = await customer(live_server, "50.00")
    dashboard = await listen(live_server, owner_token, merchant_id, 1)
    rival = await listen(live_server, other_shop_token, other_merchant, 2)

    request = (await create(live_server, owner_token, merchant_id, amount="4.50"))["request"]
    paid = (await pay(live_server, buyer_token, request["id"]))["payment"]["transactionId"]
    sale = await next_sale(dashboard)
    assert (sale["transactionId"], sale["amount"], sale["payerName"]) == (
        paid,
        "4.50",
        f"@{buyer.username}",
    )
    static = (await create(live_server, owner_token, merchant_id))["request"]
    second = (await pay(live_server, buyer_token, static["id"], amount="2.00"))["payment"]
    later = await next_sale(dashboard)
    assert (later["transactionId"], later["amount"]) == (second["transactionId"], "2.00")
    assert int(later["sequence"]) > int(sale["sequence"])

    refund = {"merchantId": merchant_id, "transactionId": paid, "amount": "1.50"}
    await call(live_server, owner_token, REFUND, {"input": {**refund, "idempotencyKey": "r1"}})
    refunded = await next_sale(dashboard)
    assert (refunded["transactionId"], refunded["refunded"]) == (paid, "1.50")
    # Another shop heard nothing of these.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rival.recv(), 1)
    await dashboard.close()
    await rival.close()


async def test_only_the_shops_own_people_and_reading_keys_may_listen(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    writer = await call(
        live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_WRITE"]}
    )
    for token in (await token_for(live_server, await make_user()), writer["key"]):
        ws = await websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"])
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": SALES, "variables": {"m": merchant_id}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        refused = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND", refused
        await ws.close()
