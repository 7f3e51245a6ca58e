"""GraphQL surface of the development Inbox (`devInbox`): refused outside development."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, PublicError
from wallet.notifications import inbox


@strawberry.enum(name="InboxChannel")
class InboxChannel(Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"


@strawberry.type(name="InboxMessage")
class InboxMessageType:
    id: str
    channel: InboxChannel
    to: str
    subject: str | None
    body: str
    sent_at: datetime
    code: str | None = strawberry.field(description="The 6-digit code in the body, if any.")

    @classmethod
    def from_domain(cls, m: inbox.InboxMessage) -> InboxMessageType:
        return cls(
            id=m.id,
            channel=InboxChannel(m.channel.value),
            to=m.to,
            subject=m.subject,
            body=m.body,
            sent_at=m.sent_at,
            code=m.code,
        )


@strawberry.type
class DevInboxQuery:
    @strawberry.field(description="Whether devInbox works here (development only).")
    def dev_inbox_enabled(self, info: Info) -> bool:
        return info.context.services.settings.dev_inbox_enabled

    @strawberry.field(
        description="Development only: the emails and texts the app sent lately, newest "
        "first (to one address, or all). Refused (FORBIDDEN) unless the dev inbox is on, "
        "and always in production."
    )
    async def dev_inbox(
        self, info: Info, to: str | None = None, limit: int = 50
    ) -> list[InboxMessageType]:
        if not info.context.services.settings.dev_inbox_enabled:
            raise PublicError(ErrorCode.FORBIDDEN, "The inbox exists in development only")
        messages = await inbox.read_inbox(info.context.services.redis, to=to, limit=limit)
        return [InboxMessageType.from_domain(m) for m in messages]
