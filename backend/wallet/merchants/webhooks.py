"""Webhooks to merchant servers: signed JSON, retried with backoff, logged, replayable.

Each event is a row in `webhook_delivery`, written in the same database transaction as
the payment or refund it describes, so no event is lost and none is sent for a change
that rolled back. The worker POSTs due rows with
`X-Wallet-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` (the merchant checks it
with its secret), `X-Wallet-Event` and `X-Wallet-Delivery` (an id to de-duplicate on).
A 2xx answer marks it delivered; anything else (a redirect too: none is followed)
retries after base x 2^(n-1) seconds, up to `MAX_ATTEMPTS`, then it is failed (and can
still be replayed). URLs pass the SSRF guard (`wallet.security.egress`) when they are
set and on every connection the worker makes.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from wallet import metrics
from wallet.db.engine import Connection, connection, transaction
from wallet.gateway import signing
from wallet.merchants.errors import MerchantNotFound, NotAllowed, WebhookTargetRefused
from wallet.merchants.service import Principal, Role
from wallet.security.egress import EgressPolicy, GuardedClient, TargetRefused

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Wallet-Signature"
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)  # longer than any attempt's HTTP timeout


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event_type: str
    payload: dict[str, Any]
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime


async def set_endpoint(principal: Principal, url: str, policy: EgressPolicy) -> str:
    """Set the webhook URL; return a new signing secret (shown to the owner once).

    The URL must be one `policy` lets the worker call now (its host resolved and every
    address public); the worker checks again at every connection, since DNS can change.
    """
    if principal.role is not Role.OWNER:
        raise NotAllowed("configure webhooks")
    url = url.strip()
    try:
        await policy.check(url)
    except TargetRefused as exc:
        raise WebhookTargetRefused(exc.code, str(exc)) from None
    secret = "whsec_" + secrets.token_urlsafe(24)
    async with transaction() as conn:
        await conn.execute(
            "UPDATE merchant SET webhook_url = $2, webhook_secret = $3 WHERE id = $1",
            principal.merchant_id,
            url,
            secret,
        )
    return secret


async def enqueue(
    conn: Connection, merchant_id: int, event_type: str, data: dict[str, Any]
) -> None:
    """Queue an event for the merchant's endpoint, in the caller's transaction."""
    await conn.execute(
        "INSERT INTO webhook_delivery (merchant_id, event_type, payload, url) "
        "SELECT id, $2, $3::jsonb, webhook_url FROM merchant "
        "WHERE id = $1 AND webhook_url IS NOT NULL",
        merchant_id,
        event_type,
        json.dumps(
            {"type": event_type, "created": datetime.now().astimezone().isoformat(), "data": data}
        ),
    )


async def deliver_due(
    client: GuardedClient, now: datetime, *, retry_base: timedelta, limit: int = 50
) -> int:
    """Worker job: attempt every due delivery once; return how many were attempted.

    Due rows are leased first (their next attempt moved past the HTTP timeout) and the
    lease committed, so no database transaction stays open while a merchant's server
    thinks; a worker that dies mid-flight leaves rows that come due again.
    """
    async with transaction() as conn:
        rows = await conn.fetch(
            "WITH due AS (SELECT id FROM webhook_delivery WHERE status = 'pending' "
            "AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2 "
            "FOR UPDATE SKIP LOCKED) "
            "UPDATE webhook_delivery d SET next_attempt_at = $1 + $3::interval "
            "FROM due, merchant m WHERE d.id = due.id AND m.id = d.merchant_id "
            "RETURNING d.id, d.event_type, d.payload, d.url, d.attempts, m.webhook_secret",
            now,
            limit,
            LEASE,
        )
    for row in rows:
        code, error = await _post(client, row)
        metrics.WEBHOOK_DELIVERIES.labels("delivered" if error is None else "failed").inc()
        async with transaction() as conn:
            await _record(conn, row, code, error, now, retry_base)
    return len(rows)


async def _post(client: GuardedClient, row: Any) -> tuple[int | None, str | None]:
    body = row["payload"].encode()
    headers = {
        "content-type": "application/json",
        SIGNATURE_HEADER: signing.sign(row["webhook_secret"] or "", body),
        "X-Wallet-Event": row["event_type"],
        "X-Wallet-Delivery": str(row["id"]),
    }
    try:
        response = await client.post(row["url"], content=body, headers=headers)
    except TargetRefused as exc:  # the guarded client's SSRF check: nothing was sent
        return None, f"Refused: {exc}"[:300]
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    code = response.status_code
    return code, None if 200 <= code < 300 else f"HTTP {code}"


async def _record(
    conn: Connection,
    row: Any,
    code: int | None,
    error: str | None,
    now: datetime,
    retry_base: timedelta,
) -> None:
    attempts = int(row["attempts"]) + 1
    if error is None:
        await conn.execute(
            "UPDATE webhook_delivery SET status = 'delivered', attempts = $2, "
            "last_status_code = $3, last_error = NULL, delivered_at = now() WHERE id = $1",
            row["id"],
            attempts,
            code,
        )
        return
    gave_up = attempts >= MAX_ATTEMPTS
    await conn.execute(
        "UPDATE webhook_delivery SET status = $2, attempts = $3, last_status_code = $4, "
        "last_error = $5, next_attempt_at = $6 WHERE id = $1",
        row["id"],
        "failed" if gave_up else "pending",
        attempts,
        code,
        error,
        now + retry_base * (2 ** (attempts - 1)),
    )
    log.warning("webhook.failed", delivery_id=row["id"], attempts=attempts, error=error)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=int(row["id"]),
        event_type=row["event_type"],
        payload=json.loads(row["payload"]),
        url=row["url"],
        status=row["status"],
        attempts=int(row["attempts"]),
        next_attempt_at=row["next_attempt_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
    )


async def deliveries(principal: Principal, first: int = 50) -> list[Delivery]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT * FROM webhook_delivery WHERE merchant_id = $1 ORDER BY id DESC LIMIT $2",
            principal.merchant_id,
            max(1, min(first, 200)),
        )
    return [_delivery(r) for r in rows]


async def replay(principal: Principal, delivery_id: int) -> Delivery:
    """Send a delivery again now (delivered, failed or waiting)."""
    if principal.role is not Role.OWNER:
        raise NotAllowed("replay webhooks")
    async with transaction() as conn:
        row = await conn.fetchrow(
            "UPDATE webhook_delivery SET status = 'pending', next_attempt_at = now() "
            "WHERE id = $1 AND merchant_id = $2 RETURNING *",
            delivery_id,
            principal.merchant_id,
        )
    if row is None:
        raise MerchantNotFound()
    return _delivery(row)
