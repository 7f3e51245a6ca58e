"""A user's transaction history: keyset-paginated, filtered, with running balances.

The user is a party either as initiator or as counterparty; each side is read through
its own index, (user, created_at, id), newest first, and the two are merged (no OFFSET,
no OR across indexes), so a page costs the same at the millionth row as at the first.
The order is (created_at, id); a page's cursor is still a transaction id, standing for
that transaction's place in the order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wallet.db.engine import connection, read_connection
from wallet.money import Currency, Money
from wallet.transactions.models import TransactionStatus, TransactionType, Transition

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    type: TransactionType | None = None
    status: TransactionStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    counterparty_username: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    id: int
    type: TransactionType
    status: TransactionStatus
    incoming: bool
    amount: Money
    counterparty_username: str | None
    note: str
    created_at: datetime
    running_balance: Money | None  # the viewer's posted balance right after it
    failure_reason: str | None = None
    payment_method: str | None = None  # e.g. "Visa ending 4242"
    recipient_contact: str | None = None  # an unregistered recipient's phone or email
    merchant_name: str | None = None
    # The other currency of a cross-currency movement, from the viewer's side: what a
    # conversion bought, what a cross-currency send delivered (or, to its recipient,
    # what the sender paid).
    counter_amount: Money | None = None
    savings_goal: str | None = None  # the goal's name, for moves to and from a vault


# Types whose initiator is the one receiving the money.
_INBOUND_FOR_INITIATOR = frozenset(
    {TransactionType.ADD, TransactionType.PROMOTIONAL_CREDIT, TransactionType.SAVINGS_WITHDRAWAL}
)


_SELECT = """
    SELECT t.id, t.type, t.status, t.currency, t.amount, t.note, t.created_at,
           t.initiator_user_id, t.counterparty_user_id, t.failure_reason,
           t.recipient_contact, t.counter_currency, t.counter_amount,
           pm.brand || ' ending ' || pm.last4 AS payment_method,
           other.username AS counterparty_username, mer.name AS merchant_name,
           goal.name AS savings_goal,
           (SELECT b.balance_after
              FROM ledger_entry_balance_after(
                       t.entry_id, 'user', $1, 'wallet',
                       CASE WHEN t.counter_currency IS NOT NULL
                                 AND t.initiator_user_id IS DISTINCT FROM $1
                            THEN t.counter_currency ELSE t.currency END) b) AS running_balance
    FROM money_transaction t
    LEFT JOIN app_user other ON other.id = CASE WHEN t.initiator_user_id = $1
                                                THEN t.counterparty_user_id
                                                ELSE t.initiator_user_id END
    LEFT JOIN payment_method pm ON pm.id = t.payment_method_id
    LEFT JOIN merchant mer ON mer.id = t.merchant_id
    LEFT JOIN savings_goal goal ON goal.id = t.savings_goal_id
"""
_FILTERS = """
      AND (t.created_at, t.id) < (coalesce((SELECT c.created_at FROM money_transaction c
                                             WHERE c.id = $2), 'infinity'), $2)
      AND ($4::text IS NULL OR t.type = $4)
      AND ($5::text IS NULL OR t.status = $5)
      AND ($6::timestamptz IS NULL OR t.created_at >= $6)
      AND ($7::timestamptz IS NULL OR t.created_at < $7)
      AND ($8::text IS NULL OR lower(other.username) = $8)
"""
_PAGE_SQL = f"""
SELECT * FROM (
    ({_SELECT} WHERE t.initiator_user_id = $1 {_FILTERS}
         ORDER BY t.created_at DESC, t.id DESC LIMIT $3)
    UNION ALL
    ({_SELECT} WHERE t.counterparty_user_id = $1
         AND t.initiator_user_id IS DISTINCT FROM $1 {_FILTERS}
         ORDER BY t.created_at DESC, t.id DESC LIMIT $3)
) page ORDER BY created_at DESC, id DESC LIMIT $3
"""  # noqa: S608 (constant fragments only; every value is a bind parameter)


def _item(row: Any, user_id: int) -> HistoryItem:
    running = row["running_balance"]
    kind = TransactionType(row["type"])
    incoming = (row["initiator_user_id"] != user_id) or kind in _INBOUND_FOR_INITIATOR
    amount = Money(int(row["amount"]), Currency(row["currency"]))
    counter = None
    if row["counter_currency"] is not None:
        counter = Money(int(row["counter_amount"]), Currency(row["counter_currency"]))
        if row["initiator_user_id"] != user_id:  # the recipient sees what arrived
            amount, counter = counter, amount
    currency = amount.currency
    return HistoryItem(
        id=int(row["id"]),
        type=kind,
        status=TransactionStatus(row["status"]),
        incoming=incoming,
        amount=amount,
        counter_amount=counter,
        savings_goal=row["savings_goal"],
        counterparty_username=row["counterparty_username"],
        note=row["note"],
        created_at=row["created_at"],
        running_balance=None if running is None else Money(int(running), currency),
        failure_reason=row["failure_reason"],
        payment_method=row["payment_method"],
        recipient_contact=row["recipient_contact"],
        merchant_name=row["merchant_name"],
    )


async def page(
    user_id: int, *, first: int, after_id: int | None, history_filter: HistoryFilter
) -> tuple[list[HistoryItem], bool]:
    """Up to `first` items after `after_id` in the order newest first (created_at, then
    id); and whether more exist."""
    size = max(1, min(first, MAX_PAGE))
    f = history_filter
    async with read_connection() as conn:
        rows = await conn.fetch(
            _PAGE_SQL,
            user_id,
            after_id or 2**62,
            size + 1,
            f.type.value if f.type else None,
            f.status.value if f.status else None,
            f.since,
            f.until,
            f.counterparty_username.lower().removeprefix("@") if f.counterparty_username else None,
        )
    items = [_item(r, user_id) for r in rows[:size]]
    return items, len(rows) > size


async def get(user_id: int, transaction_id: int) -> HistoryItem | None:
    """One transaction, only if `user_id` is a party to it."""
    async with read_connection() as conn:
        row = await conn.fetchrow(
            f"{_SELECT} WHERE t.id = $2 AND $1 IN (t.initiator_user_id, t.counterparty_user_id)",
            user_id,
            transaction_id,
        )
    return _item(row, user_id) if row else None


async def items_of(user_id: int, transaction_ids: list[int]) -> dict[int, HistoryItem]:
    """The transactions among `transaction_ids` that `user_id` is a party to, by id."""
    if not transaction_ids:
        return {}
    async with read_connection() as conn:
        rows = await conn.fetch(
            f"{_SELECT} WHERE t.id = ANY($2::bigint[]) "
            "AND $1 IN (t.initiator_user_id, t.counterparty_user_id)",
            user_id,
            transaction_ids,
        )
    return {int(r["id"]): _item(r, user_id) for r in rows}


async def open_unbooked(user_id: int) -> list[HistoryItem]:
    """The user's transactions still waiting to move money (a top-up the bank has not
    settled, a withdrawal not paid out, a payment held for review), oldest first."""
    async with connection() as conn:
        rows = await conn.fetch(
            f"{_SELECT} WHERE $1 IN (t.initiator_user_id, t.counterparty_user_id) "
            "AND t.entry_id IS NULL AND t.status IN ('initiated', 'pending', 'processing') "
            "ORDER BY t.created_at, t.id",
            user_id,
        )
    return [_item(r, user_id) for r in rows]


async def transactions_of_entries(entry_ids: list[int]) -> dict[int, int]:
    """Journal entry id -> the business transaction it belongs to (where it has one)."""
    if not entry_ids:
        return {}
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT entry_id, transaction_id FROM transaction_entry "
            "WHERE entry_id = ANY($1::bigint[])",
            entry_ids,
        )
    return {int(r["entry_id"]): int(r["transaction_id"]) for r in rows}


async def get_any(transaction_id: int) -> HistoryItem | None:
    """One transaction from its initiator's side (operator views)."""
    async with connection() as conn:
        initiator = await conn.fetchval(
            "SELECT initiator_user_id FROM money_transaction WHERE id = $1", transaction_id
        )
    return None if initiator is None else await get(int(initiator), transaction_id)


async def transitions_of(transaction_ids: list[int]) -> list[list[Transition]]:
    """The state history of each transaction, in the order asked (a DataLoader batch)."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT transaction_id, from_status, to_status, reason, created_at "
            "FROM transaction_transition WHERE transaction_id = ANY($1::bigint[]) ORDER BY id",
            transaction_ids,
        )
    by_id: dict[int, list[Transition]] = defaultdict(list)
    for r in rows:
        by_id[int(r["transaction_id"])].append(
            Transition(
                from_status=TransactionStatus(r["from_status"]) if r["from_status"] else None,
                to_status=TransactionStatus(r["to_status"]),
                reason=r["reason"],
                at=r["created_at"],
            )
        )
    return [by_id[i] for i in transaction_ids]
