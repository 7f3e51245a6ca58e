"""Read replicas: read-only queries go to a streaming replica that is caught up enough.

`DATABASE_REPLICA_URLS` names zero or more replicas. With none, `read_connection()` is
`connection()` on the primary and nothing here runs. With some:

- A monitor task asks every replica, twice a second, how far it has replayed
  (`pg_last_wal_replay_lsn()`) and the primary how far it has written
  (`pg_current_wal_lsn()`). A replica that does not answer, or lags the primary by more
  than `max_lag_bytes` of WAL, leaves the rotation until it catches up.
- **Read-your-writes.** After a client's command commits, the API records the primary's
  WAL position for that client (`wallet.api`: in Redis, beside the session). Before a
  read, the request's `ReadScope` (the API sets it) gives that position, and only a
  replica that has replayed past it serves the read; otherwise the primary does. A
  request's reads stay on the one replica they started on.
- A replica whose connection cannot be had falls back to the primary at once, and is
  taken out of the rotation: the user sees no error.

Money commands and anything that must see its own write use `transaction()` and
`connection()`: always the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5
DEFAULT_MAX_LAG_BYTES = 16 * 1024 * 1024


class ReadScope(Protocol):
    """One request's reads: the WAL position they must see (the client's last commit),
    and the replica they stick to once one is chosen, so that every read of the request
    sees one consistent moment (or the primary, which is ahead of all of them)."""

    replica: str | None

    async def position(self) -> int | None: ...


# Set by the API for the requests that may read from a replica (GraphQL queries). Unset
# (mutations and their own reads, subscriptions, workers): every read is the primary's.
read_scope: contextvars.ContextVar[ReadScope | None] = contextvars.ContextVar(
    "wallet_read_scope", default=None
)
# Which server served the last read in this context ("primary" or a replica's name).
served_by: contextvars.ContextVar[str] = contextvars.ContextVar(
    "wallet_read_served_by", default="primary"
)


def parse_lsn(value: object) -> int | None:
    """A WAL position as a byte offset: asyncpg decodes `pg_lsn` to an int already; the
    text form '16/B374D848' (psql, other drivers) is parsed."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    high, _, low = str(value).partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(eq=False)
class Replica:
    name: str
    url: str
    pool: asyncpg.Pool | None = None
    replay_lsn: int | None = None
    in_rotation: bool = False
    failures: int = field(default=0)


class ReadRouter:
    def __init__(
        self,
        urls: list[str],
        primary: Callable[[], asyncpg.Pool | None],
        *,
        max_lag_bytes: int = DEFAULT_MAX_LAG_BYTES,
        pgbouncer: bool = False,
    ) -> None:
        self.replicas = [Replica(f"replica-{n}", url) for n, url in enumerate(urls, start=1)]
        self._primary = primary
        self.max_lag_bytes = max_lag_bytes
        self._options: dict[str, Any] = {"statement_cache_size": 0} if pgbouncer else {}
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.primary_lsn: int | None = None

    async def start(self) -> None:
        await self.check()
        self._task = asyncio.create_task(self._watch(), name="replica-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            if replica.pool is not None:
                await replica.pool.close()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                await self.check()
            except Exception:  # the monitor must outlive any one bad check
                log.exception("replicas.check_failed")

    async def check(self) -> None:
        """Ask the primary and each replica where they are; set the rotation."""
        primary = self._primary()
        if primary is not None:
            with contextlib.suppress(Exception):
                async with primary.acquire() as conn:
                    self.primary_lsn = parse_lsn(await conn.fetchval("SELECT pg_current_wal_lsn()"))
        for replica in self.replicas:
            try:
                pool = replica.pool
                if pool is None:
                    pool = await asyncio.wait_for(
                        asyncpg.create_pool(replica.url, min_size=0, max_size=10, **self._options),
                        timeout=2,
                    )
                    replica.pool = pool
                assert pool is not None
                async with pool.acquire(timeout=1) as conn:
                    replica.replay_lsn = parse_lsn(
                        await conn.fetchval("SELECT pg_last_wal_replay_lsn()", timeout=1)
                    )
            except Exception as exc:
                if replica.in_rotation or replica.failures == 0:
                    log.warning("replicas.unreachable %s: %r", replica.name, exc)
                self._drop(replica)
                continue
            replica.failures = 0
            lag = (
                0
                if self.primary_lsn is None or replica.replay_lsn is None
                else self.primary_lsn - replica.replay_lsn
            )
            replica.in_rotation = replica.replay_lsn is not None and lag <= self.max_lag_bytes

    def _drop(self, replica: Replica) -> None:
        if replica.in_rotation:
            log.warning("replicas.out_of_rotation %s", replica.name)
        replica.in_rotation = False
        replica.failures += 1
        if replica.pool is not None:
            # Its connections may point at a server that went away: new ones next time.
            replica.pool.terminate()
            replica.pool = None

    def candidates(self, after_lsn: int | None) -> list[Replica]:
        ready = [
            r
            for r in self.replicas
            if r.in_rotation
            and r.pool is not None
            and (after_lsn is None or (r.replay_lsn is not None and r.replay_lsn >= after_lsn))
        ]
        if not ready:
            return []
        turn = next(self._turn) % len(ready)
        return ready[turn:] + ready[:turn]

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection | None]:
        """A replica's connection fit for this request's reads, or None (use the primary)."""
        scope = read_scope.get()
        if scope is None:  # only requests that opted in (GraphQL queries) read replicas
            served_by.set("primary")
            yield None
            return
        ready = self.candidates(await scope.position())
        if scope.replica is not None:
            # Stay on the request's replica; if it is gone, the primary (never another
            # replica, which may be behind the reads already made).
            ready = [r for r in ready if r.name == scope.replica]
        for replica in ready:
            pool = replica.pool
            if pool is None:
                continue
            try:
                conn = await pool.acquire(timeout=1)
            except Exception:
                self._drop(replica)
                continue
            try:
                scope.replica = replica.name
                served_by.set(replica.name)
                yield conn
            finally:
                with contextlib.suppress(Exception):
                    await pool.release(conn)
            return
        served_by.set("primary")
        yield None
