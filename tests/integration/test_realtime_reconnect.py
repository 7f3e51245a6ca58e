"""A client that reconnects catches up on what changed while it was away (issue 19).

The API process a client listens on is killed (SIGKILL) mid-stream; a send is made
through another API process meanwhile, so its event is published while nobody listens
for it there; the first process comes back and the client subscribes again. The
subscription starts with each balance as it is now, so the client sees the send.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, SEND
from tests.integration.test_bank import Server
from tests.subscriptions import _NoJobs
from wallet.config import Settings
from wallet.outbox.relay import OutboxRelay
from wallet.realtime.channels import Channels

BALANCES = "subscription { balanceChanged { currency available } }"


@pytest.fixture
async def relay(database_url: str, settings: Settings) -> AsyncIterator[None]:
    redis = Redis.from_url(settings.redis_url or "")
    relay = OutboxRelay(
        publisher=redis, jobs=_NoJobs(), channels=Channels(settings.channel_namespace)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop, poll_seconds=0.05))
    yield
    stop.set()
    await task
    await redis.aclose()


async def log_in(url: str, username: str) -> str:
    async with httpx.AsyncClient(timeout=20) as http:
        login = {"login": username, "password": PASSWORD, "sessionTransport": "BEARER"}
        response = await http.post(
            f"{url}/graphql", json={"query": LOG_IN, "variables": {"input": login}}
        )
    token: str = response.json()["data"]["logIn"]["token"]
    return token


async def send(url: str, token: str, to: str, amount: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=20) as http:
        return await http.post(
            f"{url}/graphql",
            json={
                "query": SEND,
                "variables": {
                    "input": {
                        "recipient": f"@{to}",
                        "amount": amount,
                        "idempotencyKey": uuid.uuid4().hex,
                    }
                },
            },
            headers={"authorization": f"Bearer {token}"},
        )


async def subscribe(url: str, token: str) -> Any:
    ws = await websockets.connect(
        url.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
    )
    init = {"authorization": f"Bearer {token}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": BALANCES}}))
    return ws


async def next_balance(ws: Any) -> dict[str, str]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "next", message
    balance: dict[str, str] = message["payload"]["data"]["balanceChanged"]
    return balance


@pytest.mark.usefixtures("relay")
async def test_a_client_back_from_a_killed_api_sees_the_send_it_missed(
    settings: Settings,
) -> None:
    payer = await make_user(balance="10.00")
    payee = await make_user()
    first, second = Server(settings), Server(settings)
    await first.start()
    await second.start()
    try:
        payee_token = await log_in(first.url, payee.username)
        ws = await subscribe(first.url, payee_token)
        # It starts with the balance as it is: nothing has arrived yet.
        assert await next_balance(ws) == {"currency": "USD", "available": "0.00"}

        first.kill()
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)

        # Meanwhile, through the other process: its event is published to nobody.
        payer_token = await log_in(second.url, payer.username)
        sent = await send(second.url, payer_token, payee.username, "2.50")
        assert sent.json()["data"]["sendMoney"]["__typename"] == "SendMoneyPayload", sent.text
        await asyncio.sleep(0.5)  # the relay has published it by now

        # The first process is back; the client reconnects with the same session.
        await first.start()
        ws = await subscribe(first.url, payee_token)
        assert await next_balance(ws) == {"currency": "USD", "available": "2.50"}

        # And it goes on live from there.
        await send(second.url, payer_token, payee.username, "1.00")
        assert await next_balance(ws) == {"currency": "USD", "available": "3.50"}
        await ws.close()
    finally:
        first.stop()
        second.stop()
