"""SMS provider interface and its sandbox: message ids, undeliverable numbers, a readable outbox.

Numbers in the reserved fictional range +1 555 0100..0199 that end in 99 are rejected
as unreachable; everything "sent" is kept for a day, encrypted, in Redis for developers
and tests.
"""

from __future__ import annotations

import secrets
import time
from typing import Protocol

from redis.asyncio import Redis

from wallet.notifications.sent_box import SentBox
from wallet.security.crypto import Keyring

SANDBOX_SMS_KEY = "sandbox:sms:sent"


class SmsRejected(Exception):
    def __init__(self, to: str, reason: str) -> None:
        super().__init__(f"sms to {to} rejected: {reason}")
        self.reason = reason


class SmsProvider(Protocol):
    async def send(self, to: str, body: str) -> str: ...


class SandboxSmsProvider:
    def __init__(self, redis: Redis, *, keyring: Keyring | None = None) -> None:
        self._box = SentBox(redis, SANDBOX_SMS_KEY, keyring=keyring)

    async def send(self, to: str, body: str) -> str:
        if to.startswith("+1555") and to.endswith("99"):
            raise SmsRejected(to, "unreachable number")
        message_id = "sms_" + secrets.token_hex(8)
        record = {"id": message_id, "to": to, "body": body, "sent_at": time.time()}
        await self._box.put(message_id, record)
        return message_id

    async def sent_to(self, number: str) -> list[dict[str, object]]:
        return [r for r in await self._box.records() if r["to"] == number]
