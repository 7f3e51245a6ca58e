"""Two-phase movements: reserve an amount now, then post, void or let it expire.

A hold adds its amount to the debit account's `pending_debits` and the credit account's
`pending_credits`; the debit account's available balance drops at once (so a reserved
amount cannot be spent twice), nothing is posted yet. Resolving the hold removes the
pending amounts; posting also writes a journal entry for the posted part (full or
partial; the rest is released). Every function runs in the caller's transaction and
locks rows in the same order as `post_entry`: the hold, then accounts by ascending id.
"""

from __future__ import annotations

from datetime import datetime

from wallet.db.engine import Connection
from wallet.ledger.errors import (
    AccountNotActive,
    HoldAmountExceeded,
    HoldNotFound,
    HoldNotPending,
    InsufficientFunds,
)
from wallet.ledger.models import EntryDraft
from wallet.ledger.service import lock_accounts, post_entry
from wallet.money import Currency, Money


async def reserve(
    conn: Connection,
    *,
    debit_account_id: int,
    credit_account_id: int,
    amount: Money,
    expires_at: datetime,
) -> int:
    """Reserve `amount` from the debit account towards the credit account; return the hold id."""
    if not amount.is_positive:
        raise ValueError("a hold reserves a positive amount")
    accounts = await lock_accounts(conn, sorted({debit_account_id, credit_account_id}))
    debit, credit = accounts[debit_account_id], accounts[credit_account_id]
    for account_id, account in ((debit_account_id, debit), (credit_account_id, credit)):
        if account.currency != amount.currency.value:
            raise ValueError(f"account {account_id} is not in {amount.currency.value}")
        if account.status == "closed" or (account.status == "frozen" and account is debit):
            raise AccountNotActive(account_id, account.status)
    # The reservation takes `amount` from what the debit account can spend; `available`
    # is the database's (`ledger_available` of the locked, rolled-up row).
    if debit.no_overdraft and debit.available < amount.amount_minor:
        raise InsufficientFunds(debit_account_id, debit.available, amount.amount_minor)
    await conn.execute(
        "UPDATE ledger_account SET pending_debits = pending_debits + $2 WHERE id = $1",
        debit_account_id,
        amount.amount_minor,
    )
    await conn.execute(
        "UPDATE ledger_account SET pending_credits = pending_credits + $2 WHERE id = $1",
        credit_account_id,
        amount.amount_minor,
    )
    hold_id = await conn.fetchval(
        "INSERT INTO ledger_hold (debit_account_id, credit_account_id, currency, amount, "
        "expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        debit_account_id,
        credit_account_id,
        amount.currency.value,
        amount.amount_minor,
        expires_at,
    )
    return int(hold_id)


async def _release(
    conn: Connection, hold_id: int, status: str, posted_amount: int = 0
) -> tuple[int, int, Money]:
    """Lock a pending hold, remove its pending amounts and mark it resolved."""
    row = await conn.fetchrow(
        "SELECT debit_account_id, credit_account_id, currency, amount, status "
        "FROM ledger_hold WHERE id = $1 FOR UPDATE",
        hold_id,
    )
    if row is None:
        raise HoldNotFound(hold_id)
    if row["status"] != "pending":
        raise HoldNotPending(hold_id, row["status"])
    if posted_amount > row["amount"]:
        raise HoldAmountExceeded(hold_id, row["amount"], posted_amount)
    debit, credit = int(row["debit_account_id"]), int(row["credit_account_id"])
    await lock_accounts(conn, sorted({debit, credit}))
    await conn.execute(
        "UPDATE ledger_account SET pending_debits = pending_debits - $2 WHERE id = $1",
        debit,
        row["amount"],
    )
    await conn.execute(
        "UPDATE ledger_account SET pending_credits = pending_credits - $2 WHERE id = $1",
        credit,
        row["amount"],
    )
    await conn.execute(
        "UPDATE ledger_hold SET status = $2, posted_amount = $3, resolved_at = now() WHERE id = $1",
        hold_id,
        status,
        posted_amount,
    )
    return debit, credit, Money(int(row["amount"]), Currency(row["currency"]))


async def post(
    conn: Connection,
    hold_id: int,
    amount: Money | None = None,
    *,
    kind: str = "hold_post",
    description: str = "",
) -> int:
    """Post the hold (all of it, or `amount` of it, releasing the rest); return the entry id."""
    requested = None if amount is None else amount.amount_minor
    if requested is not None and requested <= 0:
        raise ValueError("a posted amount is positive")
    row = await conn.fetchrow("SELECT amount FROM ledger_hold WHERE id = $1", hold_id)
    if row is None:
        raise HoldNotFound(hold_id)
    to_post = int(row["amount"]) if requested is None else requested
    debit, credit, held = await _release(conn, hold_id, "posted", to_post)
    return await post_entry(
        conn,
        EntryDraft.transfer(
            kind, debit, credit, Money(to_post, held.currency), description or f"hold {hold_id}"
        ),
    )


async def void(conn: Connection, hold_id: int) -> None:
    """Release the hold without moving money."""
    await _release(conn, hold_id, "voided")


async def expire_due(conn: Connection, now: datetime) -> list[int]:
    """Expire every pending hold whose time has passed; return their ids (worker job)."""
    due = await conn.fetch(
        "SELECT id FROM ledger_hold WHERE status = 'pending' AND expires_at <= $1 "
        "ORDER BY id FOR UPDATE SKIP LOCKED",
        now,
    )
    for row in due:
        await _release(conn, int(row["id"]), "expired")
    return [int(r["id"]) for r in due]


async def pending_amounts(conn: Connection, hold_ids: list[int]) -> dict[int, int]:
    """Hold id -> amount, for those of `hold_ids` that are still pending."""
    rows = await conn.fetch(
        "SELECT id, amount FROM ledger_hold WHERE id = ANY($1::bigint[]) AND status = 'pending'",
        hold_ids,
    )
    return {int(r["id"]): int(r["amount"]) for r in rows}
