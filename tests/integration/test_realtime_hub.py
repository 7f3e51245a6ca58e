"""The pub/sub hub (wallet.realtime.hub) and the channels' namespace, against real Redis.

Issue 19's defects: each subscription held its own Redis connection (which capped the
service below Redis's 10,000 clients), and pub/sub ignores the database number (two
deployments on one Redis server woke each other's subscribers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from wallet.config import Settings
from wallet.realtime.channels import Channels
from wallet.realtime.hub import Hub


@pytest.fixture
async def hub(redis: Redis) -> AsyncIterator[Hub]:
    made = Hub(redis)
    yield made
    await made.aclose()


class Listener:
    """A task reading one channel through the hub, keeping what it got."""

    def __init__(self, hub: Hub, channel: str) -> None:
        self.got: list[dict[str, Any]] = []
        self._task = asyncio.create_task(self._run(hub, channel))

    async def _run(self, hub: Hub, channel: str) -> None:
        async for message in hub.listen(channel):
            self.got.append(message)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def until(condition: Any, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def numsub(redis: Redis, channel: str) -> int:
    [(_, count)] = await redis.pubsub_numsub(channel)
    return int(count)


async def test_many_subscriptions_share_one_redis_subscriber_per_channel(
    hub: Hub, redis: Redis
) -> None:
    channels = Channels("hub-test")
    listeners = {
        user: [Listener(hub, channels.balance(user)) for _ in range(10)] for user in range(5)
    }
    await until(lambda: hub.listeners == 50)
    assert hub.channels == 5
    for user in range(5):
        assert await numsub(redis, channels.balance(user)) == 1  # not 10
        await redis.publish(channels.balance(user), json.dumps({"user": user}))
    for user, group in listeners.items():
        for listener in group:
            await until(lambda listener=listener: len(listener.got) == 1)
            assert listener.got == [{"user": user}]

    # The channel stays subscribed while any listener is left, and goes with the last.
    for listener in listeners[0][:9]:
        await listener.stop()
    assert await numsub(redis, channels.balance(0)) == 1
    await listeners[0][9].stop()
    await until(lambda: hub.channels == 4)
    assert await numsub(redis, channels.balance(0)) == 0
    for group in list(listeners.values())[1:]:
        for listener in group:
            await listener.stop()
    assert hub.listeners == 0 and hub.channels == 0


async def test_a_listener_that_falls_behind_loses_its_oldest_messages_only(
    redis: Redis,
) -> None:
    hub = Hub(redis, queue_size=2)
    try:
        channel = Channels("hub-test").transactions(7)
        async with hub.subscribe(channel) as slow:  # subscribed, and not reading yet
            fast = Listener(hub, channel)
            await until(lambda: hub.listeners == 2)
            for n in range(5):
                await redis.publish(channel, json.dumps({"n": n}))
            await until(lambda: len(fast.got) == 5)
            got = [await slow.__anext__(), await slow.__anext__()]
            # The slow one kept the newest its queue holds; the fast one had them all.
            assert got == [{"n": 3}, {"n": 4}]
            assert fast.got == [{"n": n} for n in range(5)]
            assert hub.dropped == 3
            await fast.stop()
    finally:
        await hub.aclose()


async def test_the_hub_resubscribes_after_its_connection_is_killed(hub: Hub, redis: Redis) -> None:
    channel = Channels("hub-test").requests(3)
    listener = Listener(hub, channel)
    await until(lambda: hub.listeners == 1)
    await until(lambda: hub._pubsub is not None and hub._pubsub.connection is not None)
    assert hub._pubsub is not None and hub._pubsub.connection is not None
    writer = hub._pubsub.connection._writer
    assert writer is not None
    host, port = writer.get_extra_info("sockname")[:2]
    assert await redis.client_kill_filter(_id=None, addr=f"{host}:{port}") == 1

    # Messages published while it reconnects are lost (pub/sub keeps nothing): publish
    # until one arrives, which is the hub subscribed again on a new connection.
    deadline = time.monotonic() + 10
    while not listener.got:
        assert time.monotonic() < deadline, "the hub never came back"
        await redis.publish(channel, json.dumps({"after": "reconnect"}))
        await asyncio.sleep(0.1)
    assert listener.got[0] == {"after": "reconnect"}
    assert await numsub(redis, channel) == 1
    await listener.stop()


async def test_two_deployments_on_one_redis_server_do_not_wake_each_other(
    redis: Redis,
) -> None:
    ours, theirs = Hub(redis), Hub(redis)
    try:
        mine = Listener(ours, Channels("deployment-a").balance(1))
        other = Listener(theirs, Channels("deployment-b").balance(1))
        await until(lambda: ours.listeners == 1 and theirs.listeners == 1)
        await redis.publish(Channels("deployment-b").balance(1), json.dumps({"for": "b"}))
        await until(lambda: other.got == [{"for": "b"}])
        await asyncio.sleep(0.2)
        assert mine.got == []
        await mine.stop()
        await other.stop()
    finally:
        await ours.aclose()
        await theirs.aclose()


def test_the_namespace_is_configured_or_told_apart_by_database_and_redis_number(
    settings: Settings,
) -> None:
    base = settings.replace(
        database_url="postgresql://app@db:5432/wallet_eu",
        redis_url="redis://cache:6379/3",
        realtime_namespace=None,
    )
    assert base.channel_namespace == "wallet_eu:3"
    other = base.replace(database_url="postgresql://app@db:5432/wallet_us")
    assert other.channel_namespace == "wallet_us:3"
    assert base.replace(redis_url="redis://cache:6379/4").channel_namespace == "wallet_eu:4"
    assert base.replace(realtime_namespace="prod-eu").channel_namespace == "prod-eu"
    assert Channels("prod-eu").balance(5) == "prod-eu:user:5:balance"
