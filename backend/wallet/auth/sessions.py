"""Sessions: opaque random tokens, stored only as their SHA-256 in Redis.

A session expires after `idle_seconds` without use and, regardless of use, after
`absolute_seconds` from creation. Every lookup slides the idle window, never past the
absolute deadline. Logging in always issues a new token (no session fixation).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class Session:
    user_id: int
    created_at: float
    expires_at: float


def _key(token: str) -> str:
    return "session:" + hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, redis: Redis, *, idle_seconds: int, absolute_seconds: int) -> None:
        self._redis = redis
        self._idle = idle_seconds
        self._absolute = absolute_seconds

    async def create(self, user_id: int) -> str:
        """Start a session; return the token (shown to the client once, never stored)."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        await self._redis.hset(
            _key(token),
            mapping={
                "user_id": user_id,
                "created_at": now,
                "expires_at": now + self._absolute,
            },
        )
        await self._redis.expire(_key(token), min(self._idle, self._absolute))
        return token

    async def resolve(self, token: str) -> Session | None:
        """The live session for `token`, sliding its idle timeout; None if gone."""
        if not token or len(token) > 256:
            return None
        key = _key(token)
        data = await self._redis.hgetall(key)
        if not data:
            return None
        session = Session(
            int(data[b"user_id"]), float(data[b"created_at"]), float(data[b"expires_at"])
        )
        remaining = session.expires_at - time.time()
        if remaining <= 0:
            await self._redis.delete(key)
            return None
        await self._redis.expire(key, max(1, int(min(self._idle, remaining))))
        return session

    async def revoke(self, token: str) -> None:
        await self._redis.delete(_key(token))
