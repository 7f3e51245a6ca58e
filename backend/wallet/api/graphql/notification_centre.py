"""GraphQL surface of the notification centre: the list, the unread count, marking read,
and the `notificationReceived` subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, NotAuthenticated, NotFound
from wallet.api.graphql.permissions import SignedIn
from wallet.notifications import centre


@strawberry.enum(description="What a notification links to.")
class NotificationTargetKind(Enum):
    TRANSACTION = "transaction"
    REQUEST = "request"
    DISPUTE = "dispute"
    PAGE = "page"


@strawberry.type(description="Where tapping a notification leads.")
class NotificationTarget:
    kind: NotificationTargetKind
    id: strawberry.ID | None = strawberry.field(
        description="The transaction's, request's or dispute's id; null for a PAGE."
    )
    path: str = strawberry.field(description='The app path, e.g. "/activity/123".')


@strawberry.type(name="Notification")
class NotificationType:
    id: strawberry.ID
    kind: str
    title: str
    body: str
    transaction_id: strawberry.ID | None
    request_id: strawberry.ID | None
    read: bool
    created_at: datetime
    target: NotificationTarget | None

    @classmethod
    def from_domain(cls, n: centre.InAppNotification) -> NotificationType:
        def ident(value: int | None) -> strawberry.ID | None:
            return None if value is None else strawberry.ID(str(value))

        target = None
        if n.target is not None:
            target = NotificationTarget(
                kind=NotificationTargetKind(n.target.kind.value),
                id=ident(n.target.id),
                path=n.target.path,
            )
        return cls(
            id=strawberry.ID(str(n.id)),
            kind=n.kind,
            title=n.title,
            body=n.body,
            transaction_id=ident(n.transaction_id),
            request_id=ident(n.request_id),
            read=n.read,
            created_at=n.created_at,
            target=target,
        )


@strawberry.type(
    description="One event of `notificationReceived`: the unread count now, and the new "
    "notification when one arrived (null on the first event, the snapshot, and when "
    "notifications were read elsewhere)."
)
class NotificationEvent:
    unread_count: int
    notification: NotificationType | None
    sequence: strawberry.ID = strawberry.field(
        description='Increases with each event of this user: the outbox event id ("0" '
        "for the snapshot). A client that sees a gap refetches."
    )


@strawberry.type
class MarkReadPayload:
    marked: int
    unread_count: int | None = None


MarkNotificationReadResult = Annotated[
    MarkReadPayload | NotFound | NotAuthenticated,
    strawberry.union("MarkNotificationReadResult"),
]
MarkAllNotificationsReadResult = Annotated[
    MarkReadPayload | NotAuthenticated, strawberry.union("MarkAllNotificationsReadResult")
]


def _id(raw: strawberry.ID) -> int | None:
    return int(raw) if str(raw).isdigit() and len(str(raw)) < 19 else None


@strawberry.type
class NotificationCentreQuery:
    @strawberry.field(
        description="Your notifications, newest first (null when logged out); `before`: "
        "the id of the last one you have, for the next page.",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def notifications(
        self, info: Info, first: int = 30, before: strawberry.ID | None = None
    ) -> list[NotificationType] | None:
        user = await info.context.require_viewer()
        before_id = None if before is None else _id(before)
        found = await centre.notifications_of(user.id, first, before_id=before_id)
        return [NotificationType.from_domain(n) for n in found]

    @strawberry.field(
        description="How many of your notifications are unread (null when logged out).",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def unread_notification_count(self, info: Info) -> int | None:
        user = await info.context.require_viewer()
        return await centre.unread_count(user.id)


@strawberry.type
class NotificationCentreMutation:
    @strawberry.mutation(
        description="Mark all your notifications read (kept for older clients; "
        "markAllNotificationsRead answers the same with a typed result).",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def mark_notifications_read(self, info: Info) -> MarkReadPayload | None:
        user = await info.context.require_viewer()
        marked = await centre.mark_read(user.id)
        # Read again: a notification that arrived meanwhile is unread.
        return MarkReadPayload(marked=marked, unread_count=await centre.unread_count(user.id))

    @strawberry.mutation(description="Mark one notification read.", extensions=[SignedIn()])
    async def mark_notification_read(
        self, info: Info, id: strawberry.ID
    ) -> MarkNotificationReadResult:
        user = await info.context.require_viewer()
        notification_id = _id(id)
        found = (
            None
            if notification_id is None
            else await centre.get_notification(user.id, notification_id)
        )
        if found is None or notification_id is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such notification")
        marked = await centre.mark_read(user.id, [notification_id])
        return MarkReadPayload(marked=marked, unread_count=await centre.unread_count(user.id))

    @strawberry.mutation(description="Mark all your notifications read.", extensions=[SignedIn()])
    async def mark_all_notifications_read(self, info: Info) -> MarkAllNotificationsReadResult:
        user = await info.context.require_viewer()
        marked = await centre.mark_read(user.id)
        # Read again: a notification that arrived meanwhile is unread.
        return MarkReadPayload(marked=marked, unread_count=await centre.unread_count(user.id))


@strawberry.type
class NotificationCentreSubscription:
    @strawberry.subscription(
        description="Your notification centre live: first the unread count as it is now "
        "(a client that reconnects catches up from it), then an event for each new "
        "notification and each time notifications are read elsewhere."
    )
    async def notification_received(self, info: Info) -> AsyncGenerator[NotificationEvent, None]:
        ctx = info.context
        user = await ctx.require_viewer()
        channel = ctx.services.channels.notifications(user.id)
        # Subscribed before the snapshot is read: nothing falls between the two.
        async with ctx.services.hub.subscribe(channel) as messages:
            yield NotificationEvent(
                unread_count=await centre.unread_count(user.id),
                notification=None,
                sequence=strawberry.ID("0"),
            )
            async for message in messages:
                if not await ctx.session_active():
                    return
                payload = message["payload"]
                found = None
                if "notification_id" in payload:
                    found = await centre.get_notification(user.id, int(payload["notification_id"]))
                    if found is None:  # written with in-app off: nothing to show
                        continue
                yield NotificationEvent(
                    unread_count=await centre.unread_count(user.id),
                    notification=None if found is None else NotificationType.from_domain(found),
                    sequence=strawberry.ID(str(message["event_id"])),
                )
