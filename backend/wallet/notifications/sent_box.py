"""What the sandbox email and SMS providers "sent", kept in Redis for developers and
tests: each message sealed with the PII keyring (bodies carry one-time codes, and the
addresses are personal data) and gone a day after it was sent."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from wallet.security import keys
from wallet.security.crypto import DecryptionError, Keyring

# Long enough to read a code or debug a delivery, short enough that codes do not pile up.
SENT_SECONDS = 24 * 60 * 60
# The index of message ids keeps at most this many (their messages expire on their own).
_INDEX_LENGTH = 10_000


class SentBox:
    """One provider's sent messages: `<prefix>:msg:<id>` holds a sealed record with a TTL;
    `<prefix>:ids` lists the ids in sending order (ids only, no personal data)."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        keyring: Keyring | None = None,
        ttl_seconds: int = SENT_SECONDS,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._keyring = keyring or keys.keyring()
        self.ttl_seconds = ttl_seconds

    def message_key(self, message_id: str) -> str:
        return f"{self._prefix}:msg:{message_id}"

    @property
    def index_key(self) -> str:
        return f"{self._prefix}:ids"

    async def put(self, message_id: str, record: dict[str, Any]) -> None:
        key = self.message_key(message_id)
        # The associated data is the key: a sealed record moved elsewhere does not open.
        sealed = self._keyring.encrypt(json.dumps(record), key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, sealed, ex=self.ttl_seconds)
            pipe.rpush(self.index_key, message_id)
            pipe.ltrim(self.index_key, -_INDEX_LENGTH, -1)
            pipe.expire(self.index_key, self.ttl_seconds)
            await pipe.execute()

    async def records(self) -> list[dict[str, Any]]:
        """Every message still kept, oldest first; ids of expired ones are dropped."""
        ids = [i.decode() for i in await self._redis.lrange(self.index_key, 0, -1)]
        if not ids:
            return []
        sealed = await self._redis.mget([self.message_key(i) for i in ids])
        records = []
        for message_id, value in zip(ids, sealed, strict=True):
            if value is None:
                await self._redis.lrem(self.index_key, 0, message_id)
                continue
            try:
                text = self._keyring.decrypt(value.decode(), self.message_key(message_id))
            except DecryptionError:
                continue  # sealed under a key that is no longer in the keyring
            records.append(json.loads(text))
        return records
