"""SharedReads: one read per key however many listeners ask at once."""

import asyncio

import pytest

from wallet.realtime.shared import SharedReads


async def test_listeners_of_one_event_share_one_read() -> None:
    reads: SharedReads[str, int] = SharedReads()
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> int:
        started.set()
        await release.wait()
        return 42

    waiting = [asyncio.create_task(reads.get("event-1", slow)) for _ in range(50)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*waiting) == [42] * 50
    assert reads.loads == 1
    # A listener that reaches the message a moment later gets the same result.
    assert await reads.get("event-1", slow) == 42
    assert reads.loads == 1

    async def fresh() -> int:
        return 43

    assert await reads.get("event-2", fresh) == 43  # another event is another read
    assert reads.loads == 2


async def test_a_failed_read_is_not_kept_for_later_listeners() -> None:
    reads: SharedReads[str, int] = SharedReads()

    async def broken() -> int:
        raise ConnectionError("database gone")

    with pytest.raises(ConnectionError):
        await reads.get("e", broken)

    async def works() -> int:
        return 7

    assert await reads.get("e", works) == 7
    assert reads.loads == 2


async def test_only_the_last_keys_are_kept() -> None:
    reads: SharedReads[int, int] = SharedReads(keep=3)
    for key in range(10):
        assert await reads.get(key, lambda k=key: _value(k)) == key
    assert reads.loads == 10
    assert await reads.get(9, lambda: _value(-1)) == 9  # kept
    assert await reads.get(0, lambda: _value(-1)) == -1  # long gone: read again
    assert len(reads._reads) == 3


async def _value(value: int) -> int:
    return value
