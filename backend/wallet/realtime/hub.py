"""One Redis pub/sub connection per process, fanned out to its subscriptions in memory.

A GraphQL subscription used to open a pub/sub connection of its own: 1,000 open apps
held 1,000 Redis connections, and Redis's 10,000 clients capped the service. The hub
holds one. A channel is SUBSCRIBEd when its first listener comes and UNSUBSCRIBEd when
its last one goes; one reader task takes every message off the connection and puts it
on the queue of each of the channel's listeners.

Each listener's queue is bounded: a listener that stops reading loses its oldest
messages, never the hub's memory, and never the other listeners' messages. That loses
nothing a client needs: every subscription reads the current state when a message
arrives (a message says *that* something changed, with the outbox event's id as its
sequence), and starts with a snapshot.

If the connection drops, redis-py reconnects on the next read and subscribes the
channels again; the hub retries with a short backoff meanwhile. Messages published
while it was down are gone (Redis pub/sub keeps nothing): a client catches up from the
snapshot it gets when it resubscribes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger(__name__)

QUEUE_SIZE = 64  # messages a listener may fall behind before its oldest are dropped


class Hub:
    def __init__(self, redis: Redis, *, queue_size: int = QUEUE_SIZE) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._pubsub: PubSub | None = None
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._changing = asyncio.Lock()  # SUBSCRIBE/UNSUBSCRIBE one at a time
        self._subscribed = asyncio.Event()  # some channel is subscribed
        self._reader: asyncio.Task[None] | None = None
        self.dropped = 0  # messages dropped for listeners that fell behind

    @property
    def channels(self) -> int:
        return len(self._listeners)

    @property
    def listeners(self) -> int:
        return sum(len(queues) for queues in self._listeners.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Subscribed to `channel` on entry (SUBSCRIBE has been answered): what a caller
        reads after entering, a snapshot included, misses no message published since.
        Yields the channel's messages, decoded; unsubscribed on exit."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        async with self._changing:
            pubsub = self._connection()
            queues = self._listeners.setdefault(channel, set())
            if not queues:
                await pubsub.subscribe(channel)
            queues.add(queue)
            self._subscribed.set()
        try:
            yield _messages(queue)
        finally:
            async with self._changing:
                queues = self._listeners.get(channel, set())
                queues.discard(queue)
                if not queues:
                    self._listeners.pop(channel, None)
                    with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
                        await self._connection().unsubscribe(channel)
                if not self._listeners:
                    self._subscribed.clear()

    async def listen(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """The channel's messages, decoded, from now until the caller stops iterating."""
        async with self.subscribe(channel) as messages:
            async for message in messages:
                yield message

    def _connection(self) -> PubSub:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="realtime-hub")
        return self._pubsub

    async def _read(self) -> None:
        backoff = 0.05
        while True:
            await self._subscribed.wait()
            pubsub = self._pubsub
            assert pubsub is not None
            try:
                message = await pubsub.get_message(timeout=1.0)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("realtime.hub_disconnected", error=str(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            try:
                decoded = json.loads(message["data"])
            except ValueError:
                log.warning("realtime.undecodable_message", channel=name)
                continue
            for queue in tuple(self._listeners.get(name, ())):
                if queue.full():
                    queue.get_nowait()
                    self.dropped += 1
                queue.put_nowait(decoded)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None


async def _messages(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await queue.get()
