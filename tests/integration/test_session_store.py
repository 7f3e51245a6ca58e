"""`SessionStore.resolve`, which every signed-in request makes: one round trip to Redis
(it was two: a read, then the idle window slid), the same outcomes."""

import time
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

from wallet.auth.sessions import HashRead, SessionStore, _key


class CountingConnection(Connection):
    """A real connection, counting its writes to the server: one per round trip (a
    pipeline's commands go in one write)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


async def test_a_lookup_is_one_round_trip_and_slides_the_idle_window(redis_url: str) -> None:
    client = Redis(
        connection_pool=ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    )
    try:
        store = SessionStore(client, idle_seconds=600, absolute_seconds=3600)
        token = await store.create(7, device="phone", new_device=True, device_id=3)
        await store.resolve(token)  # loads the script once
        await client.expire(_key(token), 5)
        before, sent = time.time(), CountingConnection.sent
        session = await store.resolve(token)
        assert CountingConnection.sent - sent == 1
        assert session is not None
        assert (session.user_id, session.new_device, session.device_id) == (7, True, 3)
        assert 590 <= await client.ttl(_key(token)) <= 600  # slid back to the idle window
        assert float(await client.hget(_key(token), "last_seen")) >= before
    finally:
        await client.aclose()


async def test_a_lookup_never_slides_past_the_absolute_deadline_and_ends_it_there(
    redis: Redis,
) -> None:
    store = SessionStore(redis, idle_seconds=600, absolute_seconds=3600)
    token = await store.create(8)
    await redis.hset(_key(token), "expires_at", str(time.time() + 30))
    assert await store.resolve(token) is not None
    assert await redis.ttl(_key(token)) <= 30
    await redis.hset(_key(token), "expires_at", str(time.time() - 1))
    assert await store.resolve(token) is None
    assert await redis.exists(_key(token)) == 0
    assert await store.resolve("no-such-token") is None


async def test_a_lookup_with_another_hash_is_still_one_round_trip(redis_url: str) -> None:
    """`resolve_with` reads a second hash (the step-up proofs) in the session's round
    trip, and reads it as empty once the session is gone."""
    client = Redis(
        connection_pool=ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    )
    try:
        store = SessionStore(client, idle_seconds=600, absolute_seconds=3600)
        token = await store.create(9)
        await client.hset("other:" + token, mapping={"pin": "1"})
        also = HashRead("other:" + token, lambda fields: sorted(fields.items()))
        await store.resolve_with(token, also)  # loads the script once
        sent = CountingConnection.sent
        session, other = await store.resolve_with(token, also)
        assert CountingConnection.sent - sent == 1
        assert session is not None and session.user_id == 9
        assert other == [(b"pin", b"1")]
        await store.revoke(token)
        assert await store.resolve_with(token, also) == (None, [])
        assert await store.resolve_with("", also) == (None, [])
    finally:
        await client.aclose()
