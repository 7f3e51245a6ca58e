"""PgBouncer in transaction mode (Debian's 1.18): why the app connects with
`pgbouncer=True`, and that its way of working (transaction-scoped advisory locks, no
session state) holds when consecutive transactions land on different server connections."""

from __future__ import annotations

import asyncio
import subprocess

import asyncpg
import pytest

from tests import pgbouncer
from tests.conftest import TestServers, with_database
from wallet.db import engine
from wallet.db.roles import APP_ROLE, url_as


def pools_seen(port: int) -> str:
    """PgBouncer's own account of its pools (its admin console, over psql)."""
    return subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "pgbouncer",
            "-At",
            "-c",
            "SHOW POOLS",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


async def work(pool: asyncpg.Pool, n: int) -> int:
    """A transaction of the app's shape: an advisory lock, parameterised reads."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", n % 7)
        value = await conn.fetchval(
            "SELECT $1::int + count(*) FROM ledger_account WHERE id > $2", n, 0
        )
        return int(value)


async def test_named_prepared_statements_break_and_the_apps_setting_does_not(
    servers: TestServers, database_url: str
) -> None:
    name = database_url.rsplit("/", 1)[1]
    direct = url_as(with_database(servers.database_url, name), APP_ROLE)
    # Two server connections for twenty clients: transactions hop between them.
    with pgbouncer.running(servers.database_url, (APP_ROLE, "postgres"), pool_size=2) as port:
        url = pgbouncer.through(direct, port)
        cached = await asyncpg.create_pool(url, min_size=20, max_size=20)
        try:
            outcomes = await asyncio.gather(
                *(work(cached, n) for n in range(400)), return_exceptions=True
            )
        finally:
            await cached.close()
        broken = [o for o in outcomes if isinstance(o, asyncpg.PostgresError)]
        assert broken, "asyncpg's statement cache was expected to break behind PgBouncer"
        assert all("prepared statement" in str(b) for b in broken), broken[:3]

        plain = await asyncpg.create_pool(url, min_size=20, max_size=20, statement_cache_size=0)
        try:
            outcomes = await asyncio.gather(*(work(plain, n) for n in range(400)))
        finally:
            await plain.close()
        assert len(outcomes) == 400
        assert f"{name}|{APP_ROLE}|" in pools_seen(port)


async def test_the_engine_runs_commands_through_pgbouncer(
    servers: TestServers, database_url: str
) -> None:
    name = database_url.rsplit("/", 1)[1]
    direct = url_as(with_database(servers.database_url, name), APP_ROLE)
    with pgbouncer.running(servers.database_url, (APP_ROLE, "postgres"), pool_size=2) as port:
        await engine.disconnect()
        await engine.connect(pgbouncer.through(direct, port), pool_size=20, pgbouncer=True)
        try:

            async def command(n: int) -> int:
                async def body(conn: asyncpg.Connection) -> int:
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", n % 5)
                    return int(await conn.fetchval("SELECT $1::int", n))

                return await engine.retrying(body)

            assert await asyncio.gather(*(command(n) for n in range(300))) == list(range(300))
            assert f"{name}|{APP_ROLE}|" in pools_seen(port)
        finally:
            await engine.disconnect()
            await engine.connect(database_url, pool_size=20, pgbouncer=pgbouncer.wanted())


pytestmark = pytest.mark.skipif(
    not pgbouncer.installed(), reason="pgbouncer is not installed (apt-get install pgbouncer)"
)
