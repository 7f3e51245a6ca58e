"""Email provider interface and its sandbox implementation.

The sandbox behaves like a real provider at its edges: it assigns message ids,
rejects undeliverable addresses (any address at `bounce.example.com`), and keeps what it
"sent" for a day, encrypted, in Redis so developers and tests can read the mailbox.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Protocol

from redis.asyncio import Redis

from wallet.notifications.sent_box import SentBox
from wallet.security.crypto import Keyring

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
    def __init__(self, redis: Redis, *, keyring: Keyring | None = None) -> None:
        self._box = SentBox(redis, SANDBOX_MAILBOX_KEY, keyring=keyring)

    async def send(self, message: EmailMessage) -> str:
        if message.to.lower().endswith("@bounce.example.com"):
            raise EmailRejected(message.to, "mailbox does not exist")
        message_id = "sbx_" + secrets.token_hex(8)
        record = {"id": message_id, "sent_at": time.time(), **asdict(message)}
        await self._box.put(message_id, record)
        return message_id

    async def sent_to(self, address: str) -> list[dict[str, object]]:
        return [r for r in await self._box.records() if r["to"] == address]
