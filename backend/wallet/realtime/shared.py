"""One read per event for all of a process's listeners (`SharedReads`).

Every subscription reads the current state when a message arrives. A person with the app
open on three devices, each socket on this process, would read their balance three times
for each event; a merchant's till screens, once each per sale. The reads are the same
read, so the first listener makes it and the others await its result.

A result is kept for the last `keep` keys only (a key names the event, so a later event
is a new read): it serves listeners that reach the message a moment after the first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

KEEP = 1024


class SharedReads(Generic[K, V]):
    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._reads: OrderedDict[K, asyncio.Future[V]] = OrderedDict()
        self.loads = 0  # reads made (the rest were shared)

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """`load()`'s result for `key`, read once however many listeners ask."""
        found = self._reads.get(key)
        if found is None:
            found = asyncio.ensure_future(self._load(load))
            self._reads[key] = found
            while len(self._reads) > self._keep:
                self._reads.popitem(last=False)
        try:
            return await asyncio.shield(found)
        except Exception:
            if self._reads.get(key) is found:
                del self._reads[key]  # a failed read is not shared with later listeners
            raise

    async def _load(self, load: Callable[[], Awaitable[V]]) -> V:
        self.loads += 1
        return await load()
