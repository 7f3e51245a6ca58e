"""The relay: moves committed outbox events to Redis pub/sub and arq jobs.

Delivery is at-least-once. A batch is published, then marked published in the same
database transaction that locked it; a crash in between re-publishes the batch on the
next run, so subscribers and jobs are idempotent (jobs carry `outbox-<id>` as arq job
id, which arq de-duplicates). A crash after the business commit but before any
publish loses nothing: the row waits in the table.

The relay reads forward from a cursor (`outbox_relay_cursor.last_id`: every event with
an id up to it is published or will never exist), through the primary key; there is no
index of unpublished events to maintain on every insert. Ids are drawn when a row is
inserted but become visible when its transaction commits, in any order: event N+1 may
be published while N is still in flight. So the cursor moves past an id only once the
transaction that could still write it has ended. Every drain notes a *horizon*: the
sequence's last id, then the transactions that hold a write lock on `outbox_event`
(an INSERT takes its lock before it draws its id, and keeps it to COMMIT or ROLLBACK).
When none of those is left, every id up to the horizon is final, and the cursor moves
to the horizon, or to just before the oldest event still unpublished. (This assumes
event ids are drawn only by inserts into `outbox_event`.) A transaction that writes an
event and stays open holds the cursor back: the drains scan the published events after
it again, until it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from wallet.db.engine import connection, transaction
from wallet.outbox.service import Topic
from wallet.realtime.channels import Channels

log = structlog.get_logger(__name__)


class JobQueue(Protocol):
    async def enqueue_job(self, function: str, *args: Any, _job_id: str | None = None) -> Any: ...


class Publisher(Protocol):
    async def publish(self, channel: str, message: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Route:
    """Where a topic goes: pub/sub channels built from the payload, and/or an arq job."""

    channels: Callable[[Channels, dict[str, Any]], list[str]] | None = None
    job: str | None = None


ROUTES: dict[str, Route] = {
    Topic.USER_SIGNED_UP.value: Route(job="send_welcome_email"),
    Topic.BALANCE_CHANGED.value: Route(channels=lambda c, p: [c.balance(p["user_id"])]),
    Topic.TRANSACTION_UPDATED.value: Route(
        # Its parties, and the merchant's live dashboards for a sale or a refund.
        channels=lambda c, p: (
            [c.transactions(u) for u in p["user_ids"]]
            + ([c.merchant_sales(p["merchant_id"])] if p.get("merchant_id") else [])
        ),
        job="notify_transaction",
    ),
    Topic.MONEY_REQUEST_UPDATED.value: Route(
        # A request waiting for a contact with no wallet has no payer to tell yet.
        channels=lambda c, p: [
            c.requests(u) for u in (p["payer_id"], p["requester_id"]) if u is not None
        ],
        job="notify_money_request",
    ),
    Topic.CONTACT_INVITED.value: Route(job="send_invite"),
    Topic.PAYMENT_REQUEST_UPDATED.value: Route(
        channels=lambda c, p: [c.payment_request(p["request_id"])]
    ),
    Topic.STATEMENT_REQUESTED.value: Route(job="generate_statement"),
    Topic.DEVICE_NEW.value: Route(job="notify_new_device"),
    Topic.NOTICE.value: Route(job="deliver_notice"),
    Topic.NOTIFICATION_CREATED.value: Route(
        channels=lambda c, p: [c.notifications(p["user_id"])], job="push_notification"
    ),
    Topic.NOTIFICATIONS_READ.value: Route(channels=lambda c, p: [c.notifications(p["user_id"])]),
}


# The largest event id drawn so far: ids carry the month they were drawn in (partitions,
# wallet.db.partitions) above the sequence's value, and are never smaller when drawn later.
_LAST_ID = "SELECT history_last_id('outbox_event_id_seq')"
# Transactions (other than this session's) holding an INSERT's lock on outbox_event.
_WRITERS = """
SELECT coalesce(array_agg(virtualtransaction), '{}') FROM pg_locks
 WHERE locktype = 'relation' AND relation = 'outbox_event'::regclass
   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND mode = 'RowExclusiveLock' AND pid IS DISTINCT FROM pg_backend_pid()
"""
_WRITERS_LEFT = """
SELECT EXISTS (SELECT 1 FROM pg_locks
                WHERE locktype = 'relation' AND relation = 'outbox_event'::regclass
                  AND mode = 'RowExclusiveLock' AND virtualtransaction = ANY($1::text[]))
"""
# Every id up to $1 is final: the cursor moves there, or to just before the oldest event
# still unpublished (or being published by another relay) among them.
_ADVANCE = """
UPDATE outbox_relay_cursor c
   SET last_id = coalesce((SELECT min(e.id) - 1 FROM outbox_event e
                            WHERE e.id > c.last_id AND e.id <= $1 AND e.published_at IS NULL),
                          $1)
 WHERE c.last_id < $1
"""


def job_id(event_id: int, created_at: datetime) -> str:
    """The arq job id of an event: the same on every re-publish (arq drops the duplicate),
    different for a reused id in a recreated database (dev and test databases start over,
    while Redis keeps finished job ids for `keep_result`)."""
    return f"outbox-{event_id}-{int(created_at.timestamp() * 1_000_000)}"


class OutboxRelay:
    def __init__(
        self,
        publisher: Publisher,
        jobs: JobQueue,
        *,
        channels: Channels,
        batch_size: int = 200,
        before_mark: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._publisher = publisher
        self._channels = channels  # this deployment's channel names
        self._jobs = jobs
        self._batch_size = batch_size
        # Test seam: runs after publishing a batch and before marking it published.
        self._before_mark = before_mark
        # The last id drawn when noted, and the transactions then writing events.
        self._horizon: tuple[int, list[str]] | None = None

    async def _publish(
        self, event_id: int, topic: str, payload: dict[str, Any], created_at: datetime
    ) -> None:
        route = ROUTES.get(topic)
        if route is None:
            log.warning("outbox.unrouted_topic", event_id=event_id, topic=topic)
            return
        message = json.dumps({"event_id": event_id, "topic": topic, "payload": payload})
        for channel in route.channels(self._channels, payload) if route.channels else []:
            await self._publisher.publish(channel, message)
        if route.job:
            await self._jobs.enqueue_job(route.job, event_id, _job_id=job_id(event_id, created_at))

    async def drain_once(self) -> int:
        """Publish one batch of committed, unpublished events; return how many."""
        async with transaction() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, payload, created_at FROM outbox_event "
                "WHERE id > (SELECT last_id FROM outbox_relay_cursor) AND published_at IS NULL "
                "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            for row in rows:
                await self._publish(
                    int(row["id"]), row["topic"], json.loads(row["payload"]), row["created_at"]
                )
            if rows and self._before_mark is not None:
                await self._before_mark()
            if rows:
                await conn.execute(
                    "UPDATE outbox_event SET published_at = now() WHERE id = ANY($1::bigint[])",
                    [int(r["id"]) for r in rows],
                )
        await self.advance_cursor()
        return len(rows)

    async def advance_cursor(self) -> None:
        """Move the cursor to the last horizon if its writers have all ended; note the next."""
        async with connection() as conn:
            if self._horizon is not None:
                top, writers = self._horizon
                if not await conn.fetchval(_WRITERS_LEFT, writers):
                    await conn.execute(_ADVANCE, top)
                    self._horizon = None
            if self._horizon is None:
                # The last id first, then the writers: a transaction that drew an id up to
                # it held its lock before drawing it, so it is listed unless it has ended.
                top = await conn.fetchval(_LAST_ID)
                writers = await conn.fetchval(_WRITERS)
                self._horizon = (int(top), list(writers))

    async def drain(self) -> int:
        total = 0
        while (n := await self.drain_once()) > 0:
            total += n
        return total

    async def run(self, stop: asyncio.Event, *, poll_seconds: float = 0.2) -> None:
        """Drain every `poll_seconds` until `stop`.

        Polling, not LISTEN: a NOTIFY from every transaction that writes an event would
        take PostgreSQL's database-wide notify lock at each COMMIT and make those commits
        wait for one another (migration 0043 dropped the trigger). A poll finding nothing
        is a primary-key probe past the cursor and a look at the horizon (`pg_locks`).
        """
        while not stop.is_set():
            try:
                published = await self.drain()
                if published:
                    log.info("outbox.published", count=published)
            except Exception:
                # A broken Redis or database must not kill the worker; retry later.
                log.exception("outbox.drain_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
