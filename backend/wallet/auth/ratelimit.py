"""Fixed-window counters in Redis for rate limits (login failures, sign-ups)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis


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

    @staticmethod
    def _key(limit: Limit, subject: str) -> str:
        return f"ratelimit:{limit.name}:{subject}"

    async def check(self, limit: Limit, subject: str) -> None:
        """Raise `RateLimited` if `subject` has used up `limit` in the current window."""
        key = self._key(limit, subject)
        count = await self._redis.get(key)
        if count is not None and int(count) >= limit.max_events:
            ttl = await self._redis.ttl(key)
            raise RateLimited(limit, max(int(ttl), 1))

    async def hit(self, limit: Limit, subject: str) -> int:
        """Count one event for `subject`; return the count in the window."""
        key = self._key(limit, subject)
        # SET NX starts the window once; INCR keeps its TTL (works on Redis 6.2 and 7).
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=limit.window_seconds, nx=True)
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count)

    async def reset(self, limit: Limit, subject: str) -> None:
        await self._redis.delete(self._key(limit, subject))
