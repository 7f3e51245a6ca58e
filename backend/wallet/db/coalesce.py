"""Writes gathered across concurrent requests: one statement for all that arrive in the
same turn of the event loop.

A caller submits an item and waits until it is written (so it can answer its client
only once its row is committed, as with a write of its own); a writer is started on
the loop's next turn with every item submitted meanwhile. A lone item waits for
nothing. If the write fails, every caller in it gets the failure.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    """One per event loop and kind of write (`per_loop`)."""

    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._scheduled = False
        self._writing: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak refs
        self.writes = 0  # statements issued, for tests and benchmarks
        self.items = 0

    async def submit(self, item: T) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append((item, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._start)
        await future

    def _start(self) -> None:
        self._scheduled = False
        batch, self._queue = self._queue, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._flush(batch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _flush(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        self.writes += 1
        self.items += len(batch)
        try:
            await self._write([item for item, _ in batch])
        except Exception as failure:
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
        else:
            for _, future in batch:
                if not future.done():
                    future.set_result(None)


_coalescers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[object, Coalescer[object]]
] = weakref.WeakKeyDictionary()


def per_loop(key: object, write: Callable[[list[T]], Awaitable[None]]) -> Coalescer[T]:
    """This event loop's coalescer for `key` (created with `write` on first use)."""
    found = _coalescers.setdefault(asyncio.get_running_loop(), {})
    if key not in found:
        found[key] = Coalescer(write)  # type: ignore[arg-type]
    return found[key]  # type: ignore[return-value]
