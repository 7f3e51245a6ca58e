"""Users' Web Push subscriptions and the job that pushes a notification to them.

A subscription is what a browser's PushManager gave the app (endpoint, p256dh, auth).
The push job runs from a `notification.created` event: it pushes the notification to
every subscription of its user when their preferences have push on for its kind, at
most once per notification, and deletes subscriptions the push service says are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from wallet.db.engine import connection, transaction
from wallet.notifications import preferences
from wallet.notifications.centre import target_of
from wallet.notifications.money import event_payload
from wallet.notifications.push import (
    PushFailed,
    PushGone,
    PushMessage,
    PushProvider,
    PushTarget,
    check_target,
)
from wallet.security.egress import EgressPolicy, TargetRefused

log = structlog.get_logger(__name__)

MAX_SUBSCRIPTIONS_PER_USER = 20  # browsers and devices; the oldest goes beyond it


class InvalidSubscription(Exception):
    """The endpoint or keys cannot be used; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    id: int
    endpoint: str


@dataclass(frozen=True, slots=True)
class PushOutcome:
    sent: int = 0
    removed: int = 0
    failed: int = 0
    skipped: str | None = None  # why nothing was sent: "off", "already", "missing"


async def register(user_id: int, target: PushTarget, policy: EgressPolicy) -> StoredSubscription:
    """Keep the browser's subscription for the user. The same endpoint again updates its
    keys. An endpoint another user had moves to this one only with the same keys, which
    only that browser holds (the browser is now theirs); an endpoint alone, which may
    have leaked, cannot take another user's pushes away."""
    try:
        check_target(target)
    except ValueError as exc:
        raise InvalidSubscription("keys", str(exc)) from None
    try:
        policy.split(target.endpoint)  # the scheme and host; addresses at send time
    except TargetRefused as exc:
        words = str(exc).replace("Webhooks", "Push endpoints").replace("webhook", "push")
        raise InvalidSubscription("endpoint", words) from None
    if len(target.endpoint) > 1000:
        raise InvalidSubscription("endpoint", "That push endpoint is too long")
    async with transaction() as conn:
        row = await conn.fetchrow(
            """INSERT INTO push_subscription (user_id, endpoint, p256dh, auth)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (endpoint) DO UPDATE
                  SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh,
                      auth = EXCLUDED.auth
                WHERE push_subscription.user_id = EXCLUDED.user_id
                   OR (push_subscription.p256dh = EXCLUDED.p256dh
                       AND push_subscription.auth = EXCLUDED.auth)
               RETURNING id, endpoint""",
            user_id,
            target.endpoint,
            target.p256dh,
            target.auth,
        )
        if row is None:  # another user's endpoint, with other keys
            raise InvalidSubscription("endpoint", "That push endpoint is in use")
        await conn.execute(
            """DELETE FROM push_subscription WHERE user_id = $1 AND id NOT IN (
                   SELECT id FROM push_subscription WHERE user_id = $1
                    ORDER BY id DESC LIMIT $2)""",
            user_id,
            MAX_SUBSCRIPTIONS_PER_USER,
        )
    return StoredSubscription(int(row["id"]), row["endpoint"])


async def remove(user_id: int, endpoint: str) -> bool:
    """Forget the user's subscription at `endpoint`; False if they had none there."""
    async with transaction() as conn:
        removed = await conn.fetchval(
            "DELETE FROM push_subscription WHERE user_id = $1 AND endpoint = $2 RETURNING id",
            user_id,
            endpoint,
        )
    return removed is not None


async def subscriptions_of(user_id: int) -> list[PushTarget]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT endpoint, p256dh, auth FROM push_subscription WHERE user_id = $1 ORDER BY id",
            user_id,
        )
    return [PushTarget(r["endpoint"], r["p256dh"], r["auth"]) for r in rows]


async def push_notification(event_id: int, *, provider: PushProvider) -> PushOutcome:
    """Worker: push the notification of a `notification.created` event."""
    payload = await event_payload(event_id)
    if payload is None:
        return PushOutcome(skipped="missing")
    notification_id = int(payload["notification_id"])
    async with connection() as conn:
        n = await conn.fetchrow(
            "SELECT user_id, kind, title, body, transaction_id, request_id, link "
            "FROM notification WHERE id = $1",
            notification_id,
        )
    if n is None:
        return PushOutcome(skipped="missing")
    user_id = int(n["user_id"])
    kind = preferences.kind_of(n["kind"])
    if preferences.Channel.PUSH not in await preferences.channels_for(user_id, kind):
        return PushOutcome(skipped="off")
    targets = await subscriptions_of(user_id)
    if not targets:
        return PushOutcome(skipped="none")
    # Claimed before sending: a rerun of the job (arq retries, a re-published event)
    # does not push twice; a crash between claim and send loses this one push.
    async with transaction() as conn:
        claimed = await conn.fetchval(
            "UPDATE notification SET pushed_at = now() "
            "WHERE id = $1 AND pushed_at IS NULL RETURNING id",
            notification_id,
        )
    if claimed is None:
        return PushOutcome(skipped="already")
    target = target_of(n["transaction_id"], n["request_id"], n["link"])
    message = PushMessage(
        title=n["title"],
        body=n["body"],
        url=target.path if target else "/notifications",
        tag=f"notification-{notification_id}",
    )
    sent = removed = failed = 0
    for sub in targets:
        try:
            await provider.send(sub, message)
        except PushGone as exc:
            removed += await _forget_gone(user_id, sub.endpoint)
            log.info("push.subscription_gone", user_id=user_id, status=exc.status)
            continue
        except PushFailed as exc:
            failed += 1
            log.warning("push.failed", user_id=user_id, reason=exc.reason, status=exc.status)
            continue
        sent += 1
        async with transaction() as conn:
            await conn.execute(
                "UPDATE push_subscription SET last_sent_at = now() WHERE endpoint = $1",
                sub.endpoint,
            )
    return PushOutcome(sent=sent, removed=removed, failed=failed)


async def _forget_gone(user_id: int, endpoint: str) -> int:
    async with transaction() as conn:
        gone = await conn.fetchval(
            "DELETE FROM push_subscription WHERE user_id = $1 AND endpoint = $2 RETURNING id",
            user_id,
            endpoint,
        )
    return 0 if gone is None else 1
