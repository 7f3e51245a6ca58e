"""The batched write path for P2P sends: one database transaction for many sends.

Concurrent sends of one API process queue here. A flusher takes up to `size` of them
at once (all that are waiting: it never waits for more, so a lone send goes at once)
and applies them in one transaction: one pass locks every idempotency key, sender
wallet and wallet account the batch touches, in a fixed order (keys, then wallets by
user id, then accounts by id), so concurrent batches cannot deadlock; then each send
runs in queue order, in a savepoint, through the same code as a send on its own
(`service.send_in`, handed in by the service: this module never imports it back), so
a later send sees the earlier ones' balances and limit usage;
a refusal rolls back its savepoint only. One COMMIT (one flush, one balanced-entry
check pass, one NOTIFY) for the batch; callers hear their outcome only after it.

A send that hits a deadlock or serialization failure (possible only for locks outside
the lock pass, such as a system account's) is run again on its own after the batch.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from wallet.config import get_settings
from wallet.db.engine import DB, Connection, transaction
from wallet.ledger.models import OwnerType, Purpose
from wallet.ledger.service import account_code
from wallet.money import Money

RETRY_ALONE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


class _Command(Protocol):
    @property
    def sender_id(self) -> int: ...
    @property
    def amount(self) -> Money: ...
    @property
    def idempotency_key(self) -> str: ...


class Prepared(Protocol):
    """What the lock pass needs of a prepared send (`service.PreparedSend`)."""

    @property
    def command(self) -> _Command: ...
    @property
    def principal(self) -> str: ...
    @property
    def column(self) -> str: ...
    @property
    def value(self) -> str: ...


# The service's two ways to run a send: alone in its own transaction, or within one.
Alone = Callable[[Any], Awaitable[Any]]
Within = Callable[[Connection, Any], Awaitable[Any]]


@dataclass(slots=True)
class _Item:
    prepared: Prepared
    future: asyncio.Future[Any]
    alone: Alone
    within: Within
    outcome: Any = field(default=None)


class SendBatcher:
    """One per event loop (API process): queues sends and flushes them in batches."""

    def __init__(self, size: int, flushes: int) -> None:
        self.size = size
        self.flushes = flushes  # batches in flight at once, each on its own connection
        self._queue: deque[_Item] = deque()
        self._running = 0
        self._kicked = False
        # Counters for tests and the benchmark: batches flushed and sends in them.
        self.batches = 0
        self.batched_sends = 0

    async def submit(self, prepared: Prepared, alone: Alone, within: Within) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(prepared, future, alone, within))
        if not self._kicked:
            # Flush on the loop's next turn: the sends that arrive in this one (a burst,
            # or callers gathered together) share the batch, and a lone send waits for
            # nothing more.
            self._kicked = True
            asyncio.get_running_loop().call_soon(self._kick)
        return await future

    def _kick(self) -> None:
        self._kicked = False
        self._start_flushes()

    def _start_flushes(self) -> None:
        while self._queue and self._running < self.flushes:
            batch = [self._queue.popleft() for _ in range(min(self.size, len(self._queue)))]
            self._running += 1
            # A fresh context: the batch must not join a transaction its first caller
            # happened to be in (send_money sends those on their own anyway).
            task = asyncio.get_running_loop().create_task(
                self._flush(batch), context=contextvars.Context()
            )
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._running -= 1
        self._start_flushes()

    async def _flush(self, batch: list[_Item]) -> None:
        self.batches += 1
        self.batched_sends += len(batch)
        try:
            if len(batch) == 1:
                # Nothing to share: the plain path, without the lock pass or a savepoint.
                item = batch[0]
                try:
                    item.outcome = await item.alone(item.prepared)
                except Exception as refusal:
                    item.outcome = refusal
            else:
                async with transaction() as conn:
                    await _lock(conn, [item.prepared for item in batch])
                    for item in batch:
                        try:
                            async with conn.transaction():  # a savepoint per send
                                item.outcome = await item.within(conn, item.prepared)
                        except Exception as refusal:
                            item.outcome = refusal
                # Committed. Sends that lost a lock race outside the lock pass go alone.
                for item in batch:
                    if isinstance(item.outcome, RETRY_ALONE):
                        try:
                            item.outcome = await item.alone(item.prepared)
                        except Exception as refusal:
                            item.outcome = refusal
        except BaseException as failure:
            # The transaction did not commit (or its fate is unknown, as with any
            # COMMIT that loses its connection): no send of this batch is acknowledged.
            for item in batch:
                item.outcome = failure
            if not isinstance(failure, Exception):
                raise
        finally:
            for item in batch:
                _settle(item)


def _settle(item: _Item) -> None:
    if item.future.done():  # the caller went away; the outcome stands
        return
    if isinstance(item.outcome, BaseException):
        item.future.set_exception(item.outcome)
    elif item.outcome is None:
        item.future.set_exception(RuntimeError("the batch ended without an outcome"))
    else:
        item.future.set_result(item.outcome)


async def _lock(conn: Connection, batch: list[Prepared]) -> None:
    """Take, in one fixed order, every lock the batch's sends will ask for: idempotency
    keys (by hash), sender wallets (by user id), their and the recipients' wallet
    accounts (by id; hot accounts take no lock). The sends then find them held."""
    keys = sorted({f"{p.principal}\x1f{p.command.idempotency_key}" for p in batch})
    await conn.execute(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h "
        "FROM unnest($1::text[]) k ORDER BY 1) s",
        keys,
    )
    senders = sorted({p.command.sender_id for p in batch})
    by_column: dict[str, list[str]] = {"username": [], "email": [], "phone": []}
    for p in batch:
        by_column[p.column].append(p.value)
    recipients = await conn.fetch(
        "SELECT id FROM app_user WHERE status = 'active' AND (lower(username) = ANY($1::text[])"
        " OR lower(email) = ANY($2::text[]) OR phone = ANY($3::text[]))",
        by_column["username"],
        by_column["email"],
        by_column["phone"],
    )
    await conn.execute(
        "SELECT 1 FROM wallet WHERE user_id = ANY($1::bigint[]) ORDER BY user_id FOR UPDATE",
        senders,
    )
    currencies = {p.command.amount.currency for p in batch}
    owners = set(senders) | {int(r["id"]) for r in recipients}
    codes = [
        account_code(OwnerType.USER, owner, currency, Purpose.WALLET)
        for owner in sorted(owners)
        for currency in currencies
    ]
    await conn.execute(
        "SELECT 1 FROM ledger_account WHERE code = ANY($1::text[]) AND NOT hot "
        "ORDER BY id FOR NO KEY UPDATE",
        codes,
    )


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendBatcher] = (
    weakref.WeakKeyDictionary()
)


def batcher() -> SendBatcher:
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        settings = get_settings()
        found = SendBatcher(settings.send_batch_size, settings.send_batch_flushes)
        _batchers[loop] = found
    return found


def enabled() -> bool:
    """Batch unless configured off (WALLET_SEND_BATCH_SIZE=1) or already inside a
    transaction, which the send must join."""
    return DB.current_transaction.get() is None and batcher().size > 1


async def submit(prepared: Prepared, alone: Alone, within: Within) -> Any:
    return await batcher().submit(prepared, alone, within)
