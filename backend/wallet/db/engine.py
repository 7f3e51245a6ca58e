"""The single Piccolo engine every table is bound to, and the transaction helper.

The engine is created unconfigured; `connect(dsn)` points it at a database and starts the
pool. Tests re-point it at a fresh database per test. Domain commands run inside
`transaction()`, which yields the asyncpg connection of the Piccolo transaction, so raw
SQL (the ledger's locked write path) and Piccolo queries share one database transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from wallet.db.replicas import DEFAULT_MAX_LAG_BYTES, ReadRouter, parse_lsn

DB = PostgresEngine(config={})
# The read replicas, when DATABASE_REPLICA_URLS names some (`read_connection`).
ROUTER: ReadRouter | None = None

Connection = asyncpg.Connection  # type alias used by domain services
T = TypeVar("T")

# How PostgreSQL breaks a deadlock or a serialization conflict: it rolls one of the
# transactions back, and advises running that transaction again.
RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


async def connect(dsn: str, *, pool_size: int = 10, pgbouncer: bool = False) -> bool:
    """Point the engine at `dsn` and start its pool; return True if this call started it.

    A pool already open on the same database is reused (tests run the app in-process
    beside their own use of the engine); only the caller that started it closes it.

    `pgbouncer`: `dsn` is a PgBouncer in transaction mode, where consecutive
    transactions of one client connection run on different server connections. asyncpg
    then must not cache named prepared statements (`statement_cache_size=0`: each
    statement is prepared unnamed in the same round trip group as its execution).
    Everything else already holds there: advisory locks are transaction-scoped, no
    session state is set, and nothing LISTENs (the outbox relay polls).
    """
    if DB.pool is not None:
        if DB.config.get("dsn") == dsn:
            return False
        await DB.close_connection_pool()
    DB.config = {"dsn": dsn, **({"statement_cache_size": 0} if pgbouncer else {})}
    await DB.start_connection_pool(min_size=1, max_size=pool_size, reset=_keep_session)
    return True


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release without asyncpg's default reset round trip (RESET ALL, UNLISTEN *...).

    Nothing here sets session state: transactions always end in COMMIT or ROLLBACK
    (`transaction()`), advisory locks are transaction-scoped, and the outbox relay
    removes its listener (UNLISTEN) itself. One round trip less per command.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def pool_figures() -> tuple[int, int]:
    """The pool's connections now: (open, idle); (0, 0) when not connected."""
    pool = DB.pool
    if pool is None:
        return 0, 0
    return pool.get_size(), pool.get_idle_size()


async def disconnect() -> None:
    if DB.pool is not None:
        await DB.close_connection_pool()


@asynccontextmanager
async def transaction() -> AsyncIterator[Any]:
    """One database transaction (READ COMMITTED); yields its asyncpg connection.

    Piccolo queries inside the block join it (its transaction context is set). Nested
    use joins the outer transaction. Commit, rollback, connection release and context
    reset are done here rather than by Piccolo's `__aexit__`, which skips the release
    and the context reset when COMMIT itself fails (as it does when a deferred ledger
    constraint rejects the transaction): the next command would otherwise join a dead
    transaction.
    """
    current = DB.current_transaction.get()
    if current is not None:
        yield current.connection
        return
    if DB.pool is None:
        raise RuntimeError("database pool is not started; call wallet.db.engine.connect()")
    txn = DB.transaction()
    txn.connection = await DB.pool.acquire()
    txn.transaction = txn.connection.transaction()
    try:
        await txn.transaction.start()
        token = DB.current_transaction.set(txn)
        try:
            yield txn.connection
        except BaseException:
            await txn.transaction.rollback()
            raise
        else:
            await txn.transaction.commit()
        finally:
            DB.current_transaction.reset(token)
    finally:
        await DB.pool.release(txn.connection)


async def retrying(body: Callable[[Any], Awaitable[T]], *, attempts: int = 3) -> T:
    """`body` in its own transaction (`transaction()`), run again whole, up to `attempts`
    times, when PostgreSQL rolled it back to break a deadlock or a serialization
    conflict: nothing of the failed run stays, so the next one starts clean (an
    idempotency key it claimed was rolled back with it). Inside an outer transaction it
    joins that one and is not retried here: the outer one is what was rolled back."""
    nested = DB.current_transaction.get() is not None
    for attempt in itertools.count(1):
        try:
            async with transaction() as conn:
                return await body(conn)
        except RETRYABLE:
            if nested or attempt >= attempts:
                raise
    raise AssertionError("unreachable")


@asynccontextmanager
async def connection() -> AsyncIterator[Any]:
    """A pooled connection outside any transaction (reads, LISTEN)."""
    current = DB.current_transaction.get()
    if current is not None:
        yield current.connection
        return
    if DB.pool is None:
        raise RuntimeError("database pool is not started; call wallet.db.engine.connect()")
    async with DB.pool.acquire() as conn:
        yield conn


async def connect_replicas(
    urls: list[str], *, max_lag_bytes: int = DEFAULT_MAX_LAG_BYTES, pgbouncer: bool = False
) -> None:
    """Route `read_connection()` to these replicas (wallet.db.replicas); none: a no-op."""
    global ROUTER
    await disconnect_replicas()
    if urls:
        ROUTER = ReadRouter(urls, lambda: DB.pool, max_lag_bytes=max_lag_bytes, pgbouncer=pgbouncer)
        await ROUTER.start()


async def disconnect_replicas() -> None:
    global ROUTER
    if ROUTER is not None:
        router, ROUTER = ROUTER, None
        await router.stop()


def has_replicas() -> bool:
    return ROUTER is not None


async def primary_lsn() -> int | None:
    """Where the primary's WAL is now: a read after this sees every commit before it."""
    async with connection() as conn:
        text = await conn.fetchval("SELECT pg_current_wal_lsn()")
    return parse_lsn(text)


@asynccontextmanager
async def read_connection() -> AsyncIterator[Any]:
    """A connection for read-only queries: a caught-up replica when there is one (see
    wallet.db.replicas), else the primary. Inside a transaction, that transaction's."""
    if ROUTER is None or DB.current_transaction.get() is not None:
        async with connection() as conn:
            yield conn
        return
    async with ROUTER.acquire() as replica:
        if replica is not None:
            yield replica
            return
    async with connection() as conn:
        yield conn
