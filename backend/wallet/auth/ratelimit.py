"""Rate limits as fixed-window counters in Redis, counted atomically before the check.

Every attempt takes its slot first (`consume`: one Lua script does INCR, starts the
window and reads its TTL), and only then is the count compared with the limit. So N
requests sent at the same moment take N distinct counts, and only the first
`max_events` of them go on to be checked: a limit cannot be beaten by racing it (the
read-then-increment it replaces let 40 simultaneous wrong passwords all through).

Attempts that should not count once their outcome is known (a right password, say)
give their slot back with `refund`.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from wallet import metrics

# INCR, then start the window if this is its first event (or the key lost its TTL);
# returns {count, seconds left in the window}. One round trip, atomic in Redis.
_CONSUME = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

# DECR that never goes below zero and keeps the window's TTL.
_REFUND = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    max_events: int
    window_seconds: int


class RateLimited(Exception):
    def __init__(self, limit: Limit, retry_after_seconds: int) -> None:
        super().__init__(f"rate limit {limit.name} reached; retry in {retry_after_seconds}s")
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._consume = redis.register_script(_CONSUME)
        self._refund = redis.register_script(_REFUND)

    @staticmethod
    def _key(limit: Limit, subject: str) -> str:
        return f"ratelimit:{limit.name}:{subject}"

    async def consume(self, limit: Limit, subject: str) -> int:
        """Take one of `subject`'s events in the current window, then check: raise
        `RateLimited` when this one is over the limit. Returns the count it took."""
        count, ttl = await self._consume(
            keys=[self._key(limit, subject)], args=[limit.window_seconds]
        )
        if int(count) > limit.max_events:
            metrics.RATE_LIMIT_REFUSALS.labels(limit.name).inc()
            raise RateLimited(limit, max(int(ttl), 1))
        return int(count)

    async def consume_all(self, pairs: list[tuple[Limit, str]]) -> None:
        """`consume` each (limit, subject); on a refusal, give back the slots already
        taken by this call, so one exhausted limit does not use up the others."""
        taken: list[tuple[Limit, str]] = []
        try:
            for limit, subject in pairs:
                await self.consume(limit, subject)
                taken.append((limit, subject))
        except RateLimited:
            for limit, subject in taken:
                await self.refund(limit, subject)
            raise

    async def refund(self, limit: Limit, subject: str) -> None:
        """Give back one event (an attempt that turned out not to count)."""
        await self._refund(keys=[self._key(limit, subject)])

    async def count(self, limit: Limit, subject: str) -> int:
        """Events counted in the current window (for display; never a gate)."""
        raw = await self._redis.get(self._key(limit, subject))
        return int(raw or 0)

    async def reset(self, limit: Limit, subject: str) -> None:
        await self._redis.delete(self._key(limit, subject))
