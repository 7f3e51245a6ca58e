"""The notification centre: a user's in-app notifications, what each links to, the
unread count, and marking them read (which tells the user's other open apps)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from wallet.db.engine import connection, transaction
from wallet.outbox.service import Topic, emit


class TargetKind(Enum):
    TRANSACTION = "transaction"
    REQUEST = "request"
    DISPUTE = "dispute"
    PAGE = "page"  # a screen of the app, by path


@dataclass(frozen=True, slots=True)
class Target:
    """Where tapping a notification leads: the thing it is about, and the app's path."""

    kind: TargetKind
    id: int | None
    path: str


@dataclass(frozen=True, slots=True)
class InAppNotification:
    id: int
    kind: str
    title: str
    body: str
    transaction_id: int | None
    request_id: int | None
    read: bool
    created_at: datetime
    target: Target | None


# Older links (written before the app's routes settled) and what they open now.
_APP_PATHS = {
    "/insights": "/activity/budget",
    "/settings/security": "/profile/security",
    "/security": "/profile/security",
    "/wallet": "/accounts",
    "/requests": "/pay/request",
}


def app_path(link: str) -> str:
    """The app's route for a stored link: a payment link ("/?pay=R42") opens Scan & pay,
    a retired path its replacement; anything else as it is."""
    path, sep, query = link.partition("?")
    if path in ("", "/") and query.startswith("pay="):
        return f"/pay/scan?{query}"
    path = path.rstrip("/") or "/"
    return _APP_PATHS.get(path, path) + sep + query


def target_of(
    transaction_id: int | None, request_id: int | None, link: str | None
) -> Target | None:
    """A notification's deep link: its transaction, else its request, else its `link`
    (a dispute's "/disputes/<id>" is recognised as one). Paths are the app's routes:
    a transaction or a dispute opens Activity (where it is listed; there is no page of
    one), a request the requests of Pay."""
    if transaction_id is not None:
        return Target(TargetKind.TRANSACTION, transaction_id, "/activity")
    if request_id is not None:
        return Target(TargetKind.REQUEST, request_id, "/pay/request")
    if link is None:
        return None
    head, _, tail = link.strip("/").partition("/")
    if head == "disputes" and tail.isdigit():
        return Target(TargetKind.DISPUTE, int(tail), "/activity")
    return Target(TargetKind.PAGE, None, app_path(link))


_COLUMNS = "id, kind, title, body, transaction_id, request_id, link, read_at, created_at"


def _notification(r: Any) -> InAppNotification:
    return InAppNotification(
        id=int(r["id"]),
        kind=r["kind"],
        title=r["title"],
        body=r["body"],
        transaction_id=r["transaction_id"],
        request_id=r["request_id"],
        read=r["read_at"] is not None,
        created_at=r["created_at"],
        target=target_of(r["transaction_id"], r["request_id"], r["link"]),
    )


async def notifications_of(
    user_id: int, first: int = 50, *, before_id: int | None = None
) -> list[InAppNotification]:
    """Newest first, at most `first` (1..100), older than `before_id` when given."""
    async with connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM notification "  # noqa: S608 (constant columns)
            "WHERE user_id = $1 AND in_app AND ($2::bigint IS NULL OR id < $2) "
            "ORDER BY id DESC LIMIT $3",
            user_id,
            before_id,
            max(1, min(first, 100)),
        )
    return [_notification(r) for r in rows]


async def get_notification(user_id: int, notification_id: int) -> InAppNotification | None:
    """One of the user's own notifications (None for anyone else's)."""
    async with connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM notification "  # noqa: S608 (constant columns)
            "WHERE id = $1 AND user_id = $2 AND in_app",
            notification_id,
            user_id,
        )
    return None if row is None else _notification(row)


async def unread_count(user_id: int) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM notification "
                "WHERE user_id = $1 AND read_at IS NULL AND in_app",
                user_id,
            )
        )


async def mark_read(user_id: int, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (those of `ids`, or all); how many
    changed. Others' ids are ignored. Announces the new count to the user's apps."""
    async with transaction() as conn:
        marked = await conn.fetch(
            "UPDATE notification SET read_at = now() "
            "WHERE user_id = $1 AND read_at IS NULL AND in_app "
            "AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[])) RETURNING id",
            user_id,
            ids,
        )
        if marked:
            await emit(conn, Topic.NOTIFICATIONS_READ, {"user_id": user_id})
    return len(marked)
