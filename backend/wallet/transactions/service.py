"""Create business transactions and move them through the state machine.

Every change of status goes through `transition`, which checks the table in
`models.TRANSITIONS`, updates the row only if it is still in the expected state (a
concurrent change loses cleanly) and appends the transition to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wallet.db.engine import Connection
from wallet.money import Money
from wallet.transactions.errors import IllegalTransition, TransactionNotFound
from wallet.transactions.models import TransactionStatus, TransactionType, is_legal


@dataclass(frozen=True, slots=True)
class NewTransaction:
    type: TransactionType
    amount: Money
    initiator_user_id: int | None
    counterparty_user_id: int | None = None
    note: str = ""


async def create(conn: Connection, new: NewTransaction) -> tuple[int, datetime]:
    """Record a new transaction in INITIATED, with its first transition; (id, created_at)."""
    row = await conn.fetchrow(
        """
        INSERT INTO money_transaction (type, status, initiator_user_id, counterparty_user_id,
                                       currency, amount, note)
        VALUES ($1, 'initiated', $2, $3, $4, $5, $6) RETURNING id, created_at
        """,
        new.type.value,
        new.initiator_user_id,
        new.counterparty_user_id,
        new.amount.currency.value,
        new.amount.amount_minor,
        new.note,
    )
    await conn.execute(
        "INSERT INTO transaction_transition (transaction_id, from_status, to_status) "
        "VALUES ($1, NULL, 'initiated')",
        row["id"],
    )
    return int(row["id"]), row["created_at"]


async def transition(
    conn: Connection,
    transaction_id: int,
    target: TransactionStatus,
    *,
    reason: str | None = None,
    entry_id: int | None = None,
) -> None:
    """Move a transaction to `target`; raise `IllegalTransition` if the table forbids it."""
    raw = await conn.fetchval(
        "SELECT status FROM money_transaction WHERE id = $1 FOR UPDATE", transaction_id
    )
    if raw is None:
        raise TransactionNotFound(transaction_id)
    current = TransactionStatus(raw)
    if not is_legal(current, target):
        raise IllegalTransition(transaction_id, current, target)
    await conn.execute(
        """
        UPDATE money_transaction
        SET status = $2, updated_at = now(), entry_id = coalesce($3, entry_id),
            failure_reason = CASE WHEN $2 = 'failed' THEN $4 ELSE failure_reason END
        WHERE id = $1
        """,
        transaction_id,
        target.value,
        entry_id,
        reason,
    )
    await conn.execute(
        "INSERT INTO transaction_transition (transaction_id, from_status, to_status, reason) "
        "VALUES ($1, $2, $3, $4)",
        transaction_id,
        current.value,
        target.value,
        reason,
    )
