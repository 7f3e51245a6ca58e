"""Receive the first event of a GraphQL subscription while the outbox relay runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from redis.asyncio import Redis

from tests.conftest import LiveServer
from wallet.outbox.relay import OutboxRelay
from wallet.realtime.channels import Channels


class _NoJobs:
    """The relay's job queue, unused here: only pub/sub matters to subscriptions."""

    async def enqueue_job(self, function: str, *args: object, _job_id: str | None = None) -> None:
        return None


async def first_event(
    live: LiveServer,
    token: str,
    query: str,
    trigger: Callable[[], Awaitable[Any]],
    accept: Callable[[dict[str, Any]], bool] = lambda _: True,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Subscribe as `token`, run `trigger`, and return the first event's data that
    `accept` takes (earlier events, e.g. from before the trigger, are skipped)."""
    redis = Redis.from_url(live.settings.redis_url or "")
    stop = asyncio.Event()
    channels = Channels(live.settings.channel_namespace)
    relay = OutboxRelay(publisher=redis, jobs=_NoJobs(), channels=channels)
    relay_task = asyncio.create_task(relay.run(stop))
    try:
        async with websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
            init = {"authorization": f"Bearer {token}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": init}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            payload = {"query": query, "variables": variables or {}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await asyncio.sleep(0.3)
            await trigger()
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if accept(message["payload"]["data"]):
                    break
    finally:
        stop.set()
        await relay_task
        await redis.aclose()
    data: dict[str, Any] = message["payload"]["data"]
    return data
