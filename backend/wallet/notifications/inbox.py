"""The development Inbox: every email and text the app sent lately (the sandbox
providers' outboxes and the mail sink's), newest first, with the one-time code of each
pulled out, so a developer can confirm an email or reset a password without a real
mailbox. Off in production (`Settings.dev_inbox_enabled`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from redis.asyncio import Redis

from wallet.notifications.email import SANDBOX_MAILBOX_KEY
from wallet.notifications.sent_box import SentBox
from wallet.notifications.sms import SANDBOX_SMS_KEY

_CODE = re.compile(r"\b(\d{6})\b")


class Channel(Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"


@dataclass(frozen=True, slots=True)
class InboxMessage:
    id: str
    channel: Channel
    to: str
    subject: str | None
    body: str
    sent_at: datetime
    code: str | None  # the first 6-digit code in the body, if any


def _message(channel: Channel, record: dict[str, object]) -> InboxMessage:
    body = str(record.get("body", ""))
    found = _CODE.search(body)
    subject = record.get("subject")
    return InboxMessage(
        id=str(record["id"]),
        channel=channel,
        to=str(record.get("to", "")),
        subject=None if subject is None else str(subject),
        body=body,
        sent_at=datetime.fromtimestamp(float(str(record.get("sent_at", 0))), UTC),
        code=found.group(1) if found else None,
    )


async def read_inbox(redis: Redis, *, to: str | None = None, limit: int = 50) -> list[InboxMessage]:
    """The newest `limit` messages, to one address (case-insensitive) or to anyone."""
    messages = [
        _message(channel, record)
        for channel, key in ((Channel.EMAIL, SANDBOX_MAILBOX_KEY), (Channel.SMS, SANDBOX_SMS_KEY))
        for record in await SentBox(redis, key).records()
    ]
    if to is not None:
        messages = [m for m in messages if m.to.lower() == to.strip().lower()]
    messages.sort(key=lambda m: m.sent_at, reverse=True)
    return messages[: max(0, min(limit, 200))]
