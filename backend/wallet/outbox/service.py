"""Write events to the outbox inside the caller's transaction.

Nothing here talks to Redis: an event becomes visible to the relay only when the
transaction that wrote it commits, and it stays in the table until published.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from wallet.db.engine import Connection


class Topic(Enum):
    USER_SIGNED_UP = "user.signed_up"
    # Emitted in the transaction that changed the balance, after it locked (or posted
    # to) the account's row: so of two changes of one balance, the later commits with
    # the larger event id, and balanceChanged's `sequence` (the event id) only grows for
    # one balance. An emitter that changes a balance without that lock breaks this.
    BALANCE_CHANGED = "balance.changed"
    # Written by `transactions.service.transition` itself, in the same statement.
    TRANSACTION_UPDATED = "transaction.updated"
    MONEY_REQUEST_UPDATED = "money_request.updated"
    CONTACT_INVITED = "contact.invited"
    PAYMENT_REQUEST_UPDATED = "payment_request.updated"
    STATEMENT_REQUESTED = "statement.requested"
    DEVICE_NEW = "device.new"
    # A message for one user (in the app and by email): {user_id, kind, title, body,
    # dedupe_key}.
    NOTICE = "notice"
    # An in-app notification was written: {notification_id, user_id}. Wakes the user's
    # `notificationReceived` subscriptions and the Web Push job.
    NOTIFICATION_CREATED = "notification.created"
    # The user read notifications (one or all): {user_id}; the unread count changed.
    NOTIFICATIONS_READ = "notification.read"


async def emit(conn: Connection, topic: Topic, payload: dict[str, Any]) -> int:
    """Record `topic` with `payload` in the current transaction; return the event id."""
    event_id = await conn.fetchval(
        "INSERT INTO outbox_event (topic, payload) VALUES ($1, $2::jsonb) RETURNING id",
        topic.value,
        json.dumps(payload),
    )
    return int(event_id)


async def emit_many(conn: Connection, topic: Topic, payloads: list[dict[str, Any]]) -> None:
    """Record one `topic` event per payload in a single statement."""
    await conn.execute(
        "INSERT INTO outbox_event (topic, payload) SELECT $1, p FROM unnest($2::jsonb[]) AS p",
        topic.value,
        [json.dumps(p) for p in payloads],
    )


RETENTION_MONTHS = 1  # published events are kept at least this many whole months


async def drop_published(conn: Connection, keep_months: int = RETENTION_MONTHS) -> int:
    """Drop the months of events that are all published and older than `keep_months`
    whole months, once the relay's cursor is past them: the table has a partition per
    month (wallet.db.partitions), so events go a month at a time, never by DELETE. How
    many months went (the function runs as the owner; the app's role can't DROP)."""
    return int(await conn.fetchval("SELECT outbox_drop_published($1)", keep_months))


async def delivered_through(conn: Connection) -> int:
    """The relay's cursor: every event up to it is committed and published. A read made
    after this one sees every change those events tell of, so a subscription's snapshot
    carries it as its sequence, and its events' sequences (their ids) are compared to it."""
    return int(await conn.fetchval("SELECT last_id FROM outbox_relay_cursor"))
