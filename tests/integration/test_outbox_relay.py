"""The outbox relay publishes only committed events, at least once, and survives crashes."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import Redis

from tests.factories import make_user
from wallet.config import REPO_ROOT
from wallet.db.engine import connection, transaction
from wallet.money import Currency, Money
from wallet.notifications.email import SandboxEmailProvider
from wallet.outbox.relay import OutboxRelay, job_id
from wallet.outbox.service import Topic, emit
from wallet.realtime.channels import Channels
from wallet.wallets.service import grant_promotional_credit

CHANNELS = Channels("relay-test")


@pytest.fixture
async def arq_redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()


async def unpublished() -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval("SELECT count(*) FROM outbox_event WHERE published_at IS NULL")
        )


async def next_message(pubsub, timeout: float = 5.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message:
            return json.loads(message["data"])
    raise AssertionError("no pub/sub message arrived")


async def test_event_is_published_only_after_its_transaction_commits(
    database_url: str,
    redis: Redis,
    arq_redis: ArqRedis,
) -> None:
    relay = OutboxRelay(publisher=redis, jobs=arq_redis, channels=CHANNELS)
    pubsub = redis.pubsub()
    await pubsub.subscribe(CHANNELS.balance(42))
    business = await asyncpg.connect(database_url)
    txn = business.transaction()
    await txn.start()
    event_id = await emit(business, Topic.BALANCE_CHANGED, {"user_id": 42, "currency": "USD"})
    assert await relay.drain() == 0  # not committed: invisible to the relay
    await txn.commit()
    await business.close()
    assert await relay.drain() == 1
    message = await next_message(pubsub)
    assert message["event_id"] == event_id
    assert message["payload"] == {"user_id": 42, "currency": "USD"}
    assert await unpublished() == 0
    await pubsub.aclose()


async def test_rolled_back_event_is_never_published(
    database_url: str,
    redis: Redis,
    arq_redis: ArqRedis,
) -> None:
    with pytest.raises(RuntimeError):
        async with transaction() as conn:
            await emit(conn, Topic.USER_SIGNED_UP, {"user_id": 1})
            raise RuntimeError("command failed after writing its event")
    assert await OutboxRelay(publisher=redis, jobs=arq_redis, channels=CHANNELS).drain() == 0
    assert await arq_redis.queued_jobs() == []


async def test_relay_crash_before_marking_republishes_and_jobs_are_deduplicated(
    database_url: str,
    redis: Redis,
    arq_redis: ArqRedis,
) -> None:
    async with transaction() as conn:
        event_id = await emit(conn, Topic.USER_SIGNED_UP, {"user_id": 7})
        created_at = await conn.fetchval(
            "SELECT created_at FROM outbox_event WHERE id = $1", event_id
        )

    async def crash() -> None:
        raise RuntimeError("relay died after publishing, before marking")

    with pytest.raises(RuntimeError):
        await OutboxRelay(
            publisher=redis, jobs=arq_redis, channels=CHANNELS, before_mark=crash
        ).drain()
    assert await unpublished() == 1  # still owed: the mark rolled back
    assert await OutboxRelay(publisher=redis, jobs=arq_redis, channels=CHANNELS).drain() == 1
    assert await unpublished() == 0
    jobs = await arq_redis.queued_jobs()
    assert [(j.job_id, j.function, j.args) for j in jobs] == [
        (job_id(event_id, created_at), "send_welcome_email", (event_id,))
    ]


async def test_running_relay_publishes_a_commit_within_its_poll(
    database_url: str,
    redis: Redis,
    arq_redis: ArqRedis,
) -> None:
    user = await make_user()
    pubsub = redis.pubsub()
    await pubsub.subscribe(CHANNELS.balance(user.id))
    stop = asyncio.Event()
    relay_task = asyncio.create_task(
        OutboxRelay(publisher=redis, jobs=arq_redis, channels=CHANNELS).run(stop, poll_seconds=0.2)
    )
    await asyncio.sleep(0.3)  # let it drain the sign-up event
    started = time.monotonic()
    async with transaction() as conn:
        await grant_promotional_credit(conn, user.id, Money(500, Currency.USD))
    message = await next_message(pubsub, timeout=5)
    assert message["payload"]["user_id"] == user.id
    assert time.monotonic() - started < 2  # a poll or two, on a loaded machine
    stop.set()
    await relay_task
    await pubsub.aclose()


async def test_writing_an_event_sends_no_notify(database_url: str) -> None:
    # NOTIFY would take PostgreSQL's database-wide notify lock at every sending COMMIT.
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener("outbox_event", lambda *args: heard.append(args[2]))
        async with transaction() as conn:
            await emit(conn, Topic.USER_SIGNED_UP, {"user_id": 1})
        await asyncio.sleep(0.5)
        await listener.execute("SELECT 1")  # notifications arrive between statements
        assert heard == []
    finally:
        await listener.close()


class RecordingRedis:
    """Publishes to the real Redis, counting what was published per event."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.published: list[int] = []

    async def publish(self, channel: str, message: str) -> object:
        self.published.append(json.loads(message)["event_id"])
        return await self.redis.publish(channel, message)


async def cursor() -> int:
    async with connection() as conn:
        return int(await conn.fetchval("SELECT last_id FROM outbox_relay_cursor"))


async def test_event_committed_out_of_id_order_is_published_exactly_once(
    database_url: str,
    redis: Redis,
    arq_redis: ArqRedis,
) -> None:
    recording = RecordingRedis(redis)
    relay = OutboxRelay(publisher=recording, jobs=arq_redis, channels=CHANNELS)
    await relay.drain()  # anything from before
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        a = first.transaction()
        await a.start()
        n = await emit(first, Topic.BALANCE_CHANGED, {"user_id": 1, "currency": "USD"})
        async with second.transaction():
            n1 = await emit(second, Topic.BALANCE_CHANGED, {"user_id": 2, "currency": "USD"})
        assert n1 > n  # drawn after, committed first
        for _ in range(3):  # the cursor must not pass n while A may still commit it
            await relay.drain()
            assert await cursor() < n
        assert recording.published == [n1]
        await a.commit()
        assert await relay.drain() == 1
        for _ in range(3):
            await relay.drain()
        assert recording.published == [n1, n]
        assert await unpublished() == 0
        assert await cursor() == n1  # and it moves on once A has ended
    finally:
        await first.close()
        await second.close()


async def test_rolled_back_event_ids_do_not_hold_the_cursor(
    database_url: str,
    redis: Redis,
    arq_redis: ArqRedis,
) -> None:
    relay = OutboxRelay(publisher=redis, jobs=arq_redis, channels=CHANNELS)
    with pytest.raises(RuntimeError):
        async with transaction() as conn:
            gone = await emit(conn, Topic.BALANCE_CHANGED, {"user_id": 1, "currency": "USD"})
            raise RuntimeError("rolled back")
    async with transaction() as conn:
        kept = await emit(conn, Topic.BALANCE_CHANGED, {"user_id": 1, "currency": "USD"})
    for _ in range(3):
        await relay.drain()
    assert kept > gone
    assert await cursor() == kept
    assert await unpublished() == 0


async def test_an_event_costs_one_index_entry(database_url: str) -> None:
    async with connection() as conn:
        indexes = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'outbox_event'"
        )
    assert [r["indexname"] for r in indexes] == ["outbox_event_pkey"]


def _start_worker(database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # This checkout's `wallet` first: the venv's editable install may be another
        # checkout's (a git worktree's worker would otherwise run the main one's code).
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "backend"), str(REPO_ROOT)]),
        # The worker anchors this test database's audit chain: not in the repo's .data/.
        "WALLET_AUDIT_ANCHOR_DIR": tempfile.mkdtemp(prefix="wallet-test-anchors-"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "arq", "workers.settings.WorkerSettings"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_for_mail(email: SandboxEmailProvider, address: str, timeout: float = 20) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sent := await email.sent_to(address):
            return sent
        await asyncio.sleep(0.1)
    raise AssertionError(f"no welcome email reached {address}")


async def test_killed_worker_loses_no_event_and_sends_each_welcome_once(
    database_url: str,
    redis_url: str,
    redis: Redis,
) -> None:
    email = SandboxEmailProvider(redis)
    before_crash = await make_user()  # committed while no worker runs at all
    worker = _start_worker(database_url, redis_url)
    try:
        assert len(await _wait_for_mail(email, before_crash.email)) == 1
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        while_dead = await make_user()  # committed while the worker is dead
        await asyncio.sleep(0.5)
        assert await email.sent_to(while_dead.email) == []
        worker = _start_worker(database_url, redis_url)
        assert len(await _wait_for_mail(email, while_dead.email)) == 1
        await asyncio.sleep(1.0)  # a redelivery, if any, would land by now
        assert len(await email.sent_to(before_crash.email)) == 1
        assert len(await email.sent_to(while_dead.email)) == 1
        assert await unpublished() == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)


def test_job_ids_repeat_for_one_event_and_differ_for_a_reused_id() -> None:
    first = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert job_id(1, first) == job_id(1, first)
    # A recreated database starts its ids over; Redis still remembers the old job ids.
    assert job_id(1, first) != job_id(1, first + timedelta(seconds=5))
