"""The batched write path for P2P sends: one database transaction for many sends.

Concurrent sends of one API process queue here. A flusher takes up to `size` of them
at once (those waiting: it never waits for more, so a lone send on an idle batcher
goes at once; the waiting sends are shared among free flushes when they are many, and
while a batch is in flight another starts only for a crowd of `CROWD`, so that sends
arriving one by one wait for it together instead of each running alone)
and applies them in one transaction through `many` (`bulk.send_many`, handed in by
the service: this module never imports it back): one lock-and-read pass, the rules in
memory in queue order, one write pass (wallet.transfers.bulk). One COMMIT (one flush,
one balanced-entry check pass) for the batch; callers hear their outcome
only after it.

A send that hits a deadlock or serialization failure (possible only for locks outside
the lock pass, such as a system account's) is run again on its own after the batch. If
the batch itself fails before COMMIT (which the lock pass and the decisions should
make impossible), it rolls back whole and each send runs on its own, in order: the
idempotency keys make that safe whether or not a COMMIT whose answer was lost landed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from wallet import metrics
from wallet.config import get_settings
from wallet.db.engine import DB, RETRYABLE, Connection, transaction

# While a batch is in flight, another starts only for at least this many waiting sends.
CROWD = 4
RETRY_ALONE_MARK = object()  # the batch failed whole: this send runs on its own
log = logging.getLogger(__name__)


# The service's two ways to run sends: one alone in its own transaction, or a batch
# of them within one (outcomes in order: a receipt or the send's refusal).
Alone = Callable[[Any], Awaitable[Any]]
Many = Callable[[Connection, list[Any]], Awaitable[list[Any]]]


@dataclass(slots=True)
class _Item:
    prepared: Any
    future: asyncio.Future[Any]
    alone: Alone
    many: Many
    outcome: Any = field(default=None)


class SendBatcher:
    """One per event loop (API process): queues sends and flushes them in batches."""

    def __init__(self, size: int, flushes: int) -> None:
        self.size = size
        self.flushes = flushes  # batches in flight at once, each on its own connection
        self._queue: deque[_Item] = deque()
        self._running = 0
        self._flushing: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs
        self._kicked = False
        # Counters for tests and the benchmark: batches flushed and sends in them.
        self.batches = 0
        self.batched_sends = 0
        self.fallbacks = 0  # batches that failed whole and went one by one

    async def submit(self, prepared: Any, alone: Alone, many: Many) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(prepared, future, alone, many))
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
            if self._running and len(self._queue) < CROWD:
                # A batch is in flight and only a few sends wait: they wait for it (or
                # for more company) rather than each running alone, which costs a
                # transaction and a dozen statements per send.
                return
            # Shared among the free flushes: two batches of 8 overlap (one deciding in
            # Python while the other waits on the database) where one of 16 would leave
            # the second flush idle and every caller waiting on the one.
            free = self.flushes - self._running
            waiting = len(self._queue)
            share = waiting if waiting < 2 * CROWD else -(-waiting // free)
            take = min(self.size, share)
            batch = [self._queue.popleft() for _ in range(take)]
            self._running += 1
            # A fresh context: the batch must not join a transaction its first caller
            # happened to be in (send_money sends those on their own anyway).
            task = asyncio.get_running_loop().create_task(
                self._flush(batch), context=contextvars.Context()
            )
            self._flushing.add(task)
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushing.discard(task)
        self._running -= 1
        self._start_flushes()

    async def _flush(self, batch: list[_Item]) -> None:
        self.batches += 1
        self.batched_sends += len(batch)
        metrics.SEND_BATCH_SENDS.observe(len(batch))
        try:
            if len(batch) == 1:
                # Nothing to share: the plain path, without the lock pass or a savepoint.
                item = batch[0]
                try:
                    item.outcome = await item.alone(item.prepared)
                except Exception as refusal:
                    item.outcome = refusal
            else:
                try:
                    with metrics.timed(metrics.SEND_BATCH_SECONDS):
                        async with transaction() as conn:
                            outcomes = await batch[0].many(conn, [item.prepared for item in batch])
                except Exception:
                    # Rolled back whole: each send on its own, in queue order.
                    self.fallbacks += 1
                    log.exception("batch of %d sends failed; sending them one by one", len(batch))
                    outcomes = [RETRY_ALONE_MARK] * len(batch)
                for item, outcome in zip(batch, outcomes, strict=True):
                    item.outcome = outcome
                # Committed. Sends that lost a lock race outside the lock pass go alone.
                for item in batch:
                    if item.outcome is RETRY_ALONE_MARK or isinstance(item.outcome, RETRYABLE):
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


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendBatcher] = (
    weakref.WeakKeyDictionary()
)


def batcher() -> SendBatcher:
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        settings = get_settings()
        found = SendBatcher(settings.transfers.batch_size, settings.transfers.batch_flushes)
        _batchers[loop] = found
    return found


def enabled() -> bool:
    """Batch unless configured off (WALLET_SEND_BATCH_SIZE=1) or already inside a
    transaction, which the send must join."""
    return DB.current_transaction.get() is None and batcher().size > 1


async def submit(prepared: Any, alone: Alone, many: Many) -> Any:
    return await batcher().submit(prepared, alone, many)
