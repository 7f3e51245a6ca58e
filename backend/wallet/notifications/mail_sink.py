"""The development mail sink: an SMTP server (aiosmtpd) on a loopback port that `wallet
dev` starts, so the app sends real SMTP in development and nothing leaves the machine.

What it receives goes where the sandbox email provider keeps what it "sends" (sealed
with the PII keyring, for a day), so the dev Inbox page and the tests read one mailbox
whichever provider is on. Like the sandbox, it refuses any address at
`bounce.example.com` (550), which the SMTP provider reports as `EmailRejected`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ipaddress
import secrets
import time
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.asyncio import Redis

from wallet.notifications.email import SANDBOX_MAILBOX_KEY
from wallet.notifications.sent_box import SentBox
from wallet.security.crypto import Keyring

BOUNCE_DOMAIN = "@bounce.example.com"
# Enough for any email the app writes; a sink on a developer's machine takes no more.
MAX_MESSAGE_BYTES = 1024 * 1024


class SinkHandler:
    """aiosmtpd handler: accept mail for any address but the bounce domain, keep it."""

    def __init__(self, redis: Redis, *, keyring: Keyring | None = None) -> None:
        self._box = SentBox(redis, SANDBOX_MAILBOX_KEY, keyring=keyring)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower().endswith(BOUNCE_DOMAIN):
            return "550 5.1.1 mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        part: Any = parsed.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        for recipient in envelope.rcpt_tos:
            message_id = "smtp_" + secrets.token_hex(8)
            await self._box.put(
                message_id,
                {
                    "id": message_id,
                    "to": recipient,
                    "subject": str(parsed.get("Subject", "")),
                    "body": body.replace("\r\n", "\n").rstrip("\n"),
                    "sent_at": time.time(),
                    "message_id": str(parsed.get("Message-ID", "")),
                },
            )
        return "250 Message accepted for delivery"


async def start_sink(redis: Redis, host: str, port: int) -> asyncio.Server:
    """Listen on `host:port` (loopback only: the sink has no authentication) in this
    event loop; port 0 picks a free one. Close the returned server to stop it."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the mail sink listens on loopback only, not {host}")
    handler = SinkHandler(redis)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="wallet-dev-sink",
            data_size_limit=MAX_MESSAGE_BYTES,
            loop=loop,
        ),
        host=host,
        port=port,
    )


async def serve(redis_url: str, host: str, port: int) -> None:
    """Run the sink until cancelled (`wallet mail-sink`)."""
    redis = Redis.from_url(redis_url)
    server = await start_sink(redis, host, port)
    try:
        await server.serve_forever()
    finally:
        server.close()
        await server.wait_closed()
        await redis.aclose()
