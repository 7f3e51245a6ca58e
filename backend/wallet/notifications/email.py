"""Email provider interface and its sandbox implementation.

The sandbox behaves like a real provider at its edges: it assigns message ids,
rejects undeliverable addresses (any address at `bounce.example.com`), and keeps what it
"sent" in Redis so developers and tests can read the mailbox.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Protocol

from redis.asyncio import Redis

SANDBOX_MAILBOX_KEY = "sandbox:email:sent"


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    body: str


class EmailRejected(Exception):
    def __init__(self, to: str, reason: str) -> None:
        super().__init__(f"email to {to} rejected: {reason}")
        self.to = to
        self.reason = reason


class EmailProvider(Protocol):
    async def send(self, message: EmailMessage) -> str:
        """Send `message`; return the provider's message id or raise `EmailRejected`."""
        ...


class SandboxEmailProvider:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def send(self, message: EmailMessage) -> str:
        if message.to.lower().endswith("@bounce.example.com"):
            raise EmailRejected(message.to, "mailbox does not exist")
        message_id = "sbx_" + secrets.token_hex(8)
        record = {"id": message_id, "sent_at": time.time(), **asdict(message)}
        await self._redis.rpush(SANDBOX_MAILBOX_KEY, json.dumps(record))
        return message_id

    async def sent_to(self, address: str) -> list[dict[str, object]]:
        rows = [json.loads(r) for r in await self._redis.lrange(SANDBOX_MAILBOX_KEY, 0, -1)]
        return [r for r in rows if r["to"] == address]
