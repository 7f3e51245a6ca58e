"""Read replicas against a real streaming replica (`pg_basebackup -R` of a primary, both
on loopback ports): history reads go to the replica, a client reads its own writes
right after a send, a lagging or stopped replica leaves the rotation with no error a
user sees, and mutations read the primary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests import replica as clusters
from tests.conftest import run_live_server
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from wallet.config import Settings
from wallet.db import engine, replicas
from wallet.db.migrate import migrate
from wallet.db.roles import APP_ROLE, ensure_app_login, url_as
from wallet.transactions import history
from wallet.transactions.history import HistoryFilter

pytestmark = pytest.mark.skipif(
    not clusters.available(), reason="PostgreSQL 15 server binaries are not installed"
)

HISTORY = "{ transactions(first: 10) { edges { node { id amount } } } }"


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[clusters.Cluster, clusters.Cluster]]:
    with clusters.primary_and_replica() as both:
        yield both


@pytest.fixture
async def wallet_db(
    pair: tuple[clusters.Cluster, clusters.Cluster], database_url: str
) -> AsyncIterator[tuple[str, str]]:
    """A migrated `wallet` database on the primary (streamed to the replica); the
    engine points at the primary as the app's role. Yields (primary, replica) URLs."""
    primary, replica = pair
    admin = await asyncpg.connect(primary.url())
    try:
        await admin.execute("DROP DATABASE IF EXISTS wallet WITH (FORCE)")
        await admin.execute("CREATE DATABASE wallet")
        await ensure_app_login(admin)
    finally:
        await admin.close()
    await engine.disconnect()
    await engine.connect(primary.url("wallet"), pool_size=2)
    await migrate()
    await engine.disconnect()
    app_url = url_as(primary.url("wallet"), APP_ROLE)
    await engine.connect(app_url, pool_size=10)
    try:
        yield app_url, url_as(replica.url("wallet"), APP_ROLE)
    finally:
        await engine.disconnect_replicas()
        await engine.disconnect()
        await engine.connect(database_url, pool_size=20)


async def replica_sees(replica_url: str, sql: str) -> object:
    conn = await asyncpg.connect(replica_url.replace(f"{APP_ROLE}@", "postgres@"))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def until(check: object, seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


async def test_history_reads_the_replica_and_a_client_reads_its_own_send(
    wallet_db: tuple[str, str], redis_url: str, tmp_path: Path
) -> None:
    app_url, replica_url = wallet_db
    settings = Settings.from_env().replace(
        database_url=app_url,
        redis_url=redis_url,
        environment="test",
        database_replica_urls=(replica_url,),
        audit={"anchor_dir": tmp_path / "anchors"},
    )
    alice, bob = await make_user(balance="50.00"), await make_user()
    async with run_live_server(settings) as live:
        assert engine.has_replicas()
        router = engine.ROUTER
        assert router is not None
        await until(lambda: _true(router.replicas[0].in_rotation))

        # A read that opted in (as a GraphQL query does) is served by the replica.
        class Anywhere:
            replica: str | None = None

            async def position(self) -> int | None:
                return None

        scope = Anywhere()
        token = replicas.read_scope.set(scope)
        try:
            async with engine.read_connection() as conn:
                assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
            await history.page(alice.id, first=5, after_id=None, history_filter=HistoryFilter())
            assert replicas.served_by.get() == "replica-1"
            assert scope.replica == "replica-1"  # the rest of the request stays there
        finally:
            replicas.read_scope.reset(token)
        # Without opting in (a mutation's own reads, workers), the primary.
        async with engine.read_connection() as conn:
            assert await conn.fetchval("SELECT pg_is_in_recovery()") is False

        # The replica stops replaying: it falls behind, still within the lag bound.
        await replica_sees(replica_url, "SELECT pg_wal_replay_pause()")
        alice_token, bob_token = await token_for(live, alice), await token_for(live, bob)
        sent = await send(live, alice_token, bob.username, "5.00")
        sent_id = sent["transfer"]["id"]
        await router.check()
        assert router.replicas[0].in_rotation  # lagging a little is allowed

        # Alice reads her own send at once: the replica has not replayed it, so the
        # primary answers her.
        mine = await call(live, alice_token, HISTORY)
        assert sent_id in [e["node"]["id"] for e in mine["edges"]]
        # Bob wrote nothing: his read may come from the replica, which has not seen it yet.
        theirs = await call(live, bob_token, HISTORY)
        assert sent_id not in [e["node"]["id"] for e in theirs["edges"]]

        await replica_sees(replica_url, "SELECT pg_wal_replay_resume()")

        async def bob_sees_it() -> bool:
            edges = (await call(live, bob_token, HISTORY))["edges"]
            return sent_id in [e["node"]["id"] for e in edges]

        await until(bob_sees_it)


async def test_a_stopped_replica_leaves_the_rotation_and_reads_carry_on(
    pair: tuple[clusters.Cluster, clusters.Cluster],
    wallet_db: tuple[str, str],
    redis_url: str,
    tmp_path: Path,
) -> None:
    app_url, replica_url = wallet_db
    _, replica = pair
    settings = Settings.from_env().replace(
        database_url=app_url,
        redis_url=redis_url,
        environment="test",
        database_replica_urls=(replica_url,),
        audit={"anchor_dir": tmp_path / "anchors"},
    )
    alice = await make_user(balance="20.00")
    bob = await make_user()
    try:
        async with run_live_server(settings) as live:
            router = engine.ROUTER
            assert router is not None
            await until(lambda: _true(router.replicas[0].in_rotation))
            token = await token_for(live, alice)
            await send(live, token, bob.username, "1.00")
            replica.stop()
            await until(lambda: _true(not router.replicas[0].in_rotation), seconds=5)
            for _ in range(5):
                edges = (await call(live, token, HISTORY))["edges"]
                assert len(edges) == 2  # the opening credit and the send, from the primary
            sent = await send(live, token, bob.username, "2.00")
            assert sent["transfer"]["amount"] == "2.00"
    finally:
        replica.start()
        replica.wait_ready()


async def _true(value: bool) -> bool:
    return value
