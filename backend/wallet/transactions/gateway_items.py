"""The money transactions that moved money through the gateway and were posted: what
reconciliation matches the processor's and the bank's files against.

Each carries the gateway's reference, its amount, and the day the ledger recorded it:
its move to completed (the moment its entry was posted; a later chargeback moves it on
to reversed, which this ignores), with the payment method's kind and last four digits.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from wallet.db.engine import Connection

_SELECT = """
SELECT t.id, t.type, t.gateway_ref, t.amount, t.currency,
       (c.at AT TIME ZONE 'UTC')::date AS posted_on, pm.kind AS method_kind, pm.last4
FROM money_transaction t
JOIN LATERAL (SELECT min(tt.created_at) AS at FROM transaction_transition tt
              WHERE tt.transaction_id = t.id AND tt.to_status = 'completed') c ON c.at IS NOT NULL
LEFT JOIN payment_method pm ON pm.id = t.payment_method_id
WHERE t.gateway_ref IS NOT NULL AND t.entry_id IS NOT NULL
  AND t.type IN ('add', 'withdrawal', 'settlement', 'chargeback')
"""


async def by_reference(conn: Connection, reference: str) -> Any | None:
    """The item the gateway knows as `reference`, if it was posted."""
    return await conn.fetchrow(_SELECT + " AND t.gateway_ref = $1", reference)


async def posted_between(
    conn: Connection,
    first: date,
    last: date,
    *,
    amount: int | None = None,
    currency: str | None = None,
) -> list[Any]:
    """Items the ledger recorded on the days `first` to `last` (UTC), oldest first; of
    that amount and currency when given."""
    return list(
        await conn.fetch(
            _SELECT + " AND (c.at AT TIME ZONE 'UTC')::date BETWEEN $1 AND $2 "
            "AND ($3::bigint IS NULL OR t.amount = $3) AND ($4::text IS NULL OR t.currency = $4) "
            "ORDER BY t.id",
            first,
            last,
            amount,
            currency,
        )
    )
