"""A user's activity as it hit their balances: one line per posting on their wallets,
in ledger-position order with the balance right after it, merged with the transactions
that have not moved money (pending, failed, expired), newest first.

Each wallet's lines are its balance chain (wallet.ledger.chain), so reading down a
currency's lines the balances add up; a transaction that posts more than once (an
unclaimed transfer and its return, a conversion's two currencies) has a line for each.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from wallet.db.engine import connection
from wallet.money import Currency, Money
from wallet.transactions.history import MAX_PAGE, HistoryFilter, HistoryItem, items_of
from wallet.transactions.models import TransactionType

_TOP = (datetime(9999, 12, 31, tzinfo=UTC), 9, 0, 0)


@dataclass(frozen=True, slots=True)
class ActivityLine:
    booked: bool  # it moved the balance (else pending, failed or expired)
    at: datetime  # when it hit the balance; when it was made, if it has not
    amount: Money  # signed: + money in
    balance_after: Money | None
    position: int | None  # its ledger position in the currency's wallet
    entry_kind: str | None
    transaction: HistoryItem | None  # None for a ledger movement with no transaction
    key: tuple[datetime, int, int, int]

    @property
    def description(self) -> str:
        return describe(self.transaction, self.entry_kind, self.amount)


def describe(item: HistoryItem | None, entry_kind: str | None, amount: Money) -> str:
    """A line in plain words, from the viewer's side: the same on screen, in CSV and PDF."""
    incoming = amount.amount_minor > 0
    if entry_kind == "chargeback_repayment":
        return "Repayment of a chargeback debt"
    if item is None:
        return (entry_kind or "ledger movement").replace("_", " ").capitalize()
    if entry_kind == "unclaimed_return":
        return f"Returned: {item.recipient_contact or 'the recipient'} did not claim it"
    who = item.merchant_name or (
        f"@{item.counterparty_username}" if item.counterparty_username else None
    )
    other = item.counter_amount.currency.value if item.counter_amount else "another currency"
    match item.type:
        case TransactionType.PROMOTIONAL_CREDIT:
            return item.note or "Promotional credit"
        case TransactionType.ADD:
            return f"Added from {item.payment_method or 'your bank'}"
        case TransactionType.WITHDRAWAL:
            return f"Withdrawal to {item.payment_method or 'your bank'}"
        case TransactionType.REVERSAL:
            return "Reversal: money back" if incoming else "Reversal"
        case TransactionType.PAYMENT:
            return f"Paid {who or 'a merchant'}"
        case TransactionType.REFUND:
            return f"Refund from {who or 'a merchant'}"
        case TransactionType.REWARD:
            return item.note or "Reward"
        case TransactionType.SAVINGS:
            return f"Moved to {item.savings_goal or 'savings'}"
        case TransactionType.SAVINGS_WITHDRAWAL:
            return f"From {item.savings_goal or 'savings'}"
        case TransactionType.FX:
            if item.amount.currency is amount.currency or not item.counter_amount:
                return f"Converted to {other}"
            return f"Converted from {item.amount.currency.value}"
        case TransactionType.CHARGEBACK:
            return item.note.capitalize() if item.note else "Chargeback"
        case TransactionType.SEND:
            whom = who or item.recipient_contact or "someone"
            return f"From {whom}" if item.incoming else f"To {whom}"
    return str(item.type.value).replace("_", " ").capitalize()


# The ledger's side is read through its functions (migration 0044), which the planner
# inlines: `ledger_owner_accounts` (the user's wallet accounts) and, per account,
# `ledger_account_lines` (its chain with signed amounts), ordered and cut by the chain's
# index as before.
_LINES_SQL = """
WITH accounts AS (
    SELECT account_id AS id FROM ledger_owner_accounts('user', $1, 'wallet')
), booked AS (
    SELECT 1 AS rank, b.posted_at AS at, b.account_id AS k1, b.account_seq AS k2,
           b.entry_id, b.kind, b.currency, b.delta, b.balance_after, b.transaction_id
    FROM accounts acc
    CROSS JOIN LATERAL (
        SELECT c.posted_at, c.account_id, c.account_seq, c.entry_id, c.entry_kind AS kind,
               c.currency, c.delta, c.balance_after, t.id AS transaction_id
        FROM ledger_account_lines(acc.id) c
        LEFT JOIN transaction_entry te ON te.entry_id = c.entry_id
        LEFT JOIN money_transaction t ON t.id = te.transaction_id
              AND $1 IN (t.initiator_user_id, t.counterparty_user_id)
        WHERE c.account_id = acc.id AND c.posted_at <= $2
          AND (c.posted_at, 1, c.account_id, c.account_seq) < ($2, $3, $4, $5)
          AND ($9::timestamptz IS NULL OR c.posted_at >= $9)
          AND ($10::timestamptz IS NULL OR c.posted_at < $10)
          AND ($7::text IS NULL OR t.type = $7)
          AND ($8::text IS NULL OR t.status = $8)
          AND ($11::text IS NULL OR EXISTS (
                SELECT 1 FROM app_user o WHERE lower(o.username) = $11 AND o.id =
                    CASE WHEN t.initiator_user_id = $1 THEN t.counterparty_user_id
                         ELSE t.initiator_user_id END))
        ORDER BY c.posted_at DESC, c.account_seq DESC
        LIMIT $6
    ) b
), unbooked AS (
    SELECT 0 AS rank, t.created_at AS at, t.id AS k1, 0::bigint AS k2,
           NULL::bigint AS entry_id, NULL::text AS kind, NULL::char(3) AS currency,
           NULL::bigint AS delta, NULL::bigint AS balance_after, t.id AS transaction_id
    FROM (
        (SELECT id, created_at FROM money_transaction t
          WHERE initiator_user_id = $1 AND entry_id IS NULL {unbooked_filters}
          ORDER BY created_at DESC, id DESC LIMIT $6)
        UNION ALL
        (SELECT id, created_at FROM money_transaction t
          WHERE counterparty_user_id = $1 AND initiator_user_id IS DISTINCT FROM $1
            AND entry_id IS NULL {unbooked_filters}
          ORDER BY created_at DESC, id DESC LIMIT $6)
    ) t
)
SELECT * FROM (SELECT * FROM booked UNION ALL SELECT * FROM unbooked) lines
ORDER BY at DESC, rank DESC, k1 DESC, k2 DESC
LIMIT $6
""".replace(
    "{unbooked_filters}",
    """
            AND created_at <= $2 AND (created_at, 0, id, 0::bigint) < ($2, $3, $4, $5)
            AND ($9::timestamptz IS NULL OR created_at >= $9)
            AND ($10::timestamptz IS NULL OR created_at < $10)
            AND ($7::text IS NULL OR type = $7)
            AND ($8::text IS NULL OR status = $8)
            AND ($11::text IS NULL OR EXISTS (
                SELECT 1 FROM app_user o WHERE lower(o.username) = $11 AND o.id =
                    CASE WHEN t.initiator_user_id = $1 THEN t.counterparty_user_id
                         ELSE t.initiator_user_id END))""",
)


def encode_cursor(key: tuple[datetime, int, int, int]) -> str:
    at, rank, k1, k2 = key
    return base64.urlsafe_b64encode(f"act:{at.isoformat()}|{rank}|{k1}|{k2}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, int, int, int]:
    """The key in an opaque cursor; an unreadable cursor starts from the top."""
    if not cursor:
        return _TOP
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        at, rank, k1, k2 = value.split("|")
        if kind != "act":
            return _TOP
        return datetime.fromisoformat(at), int(rank), int(k1), int(k2)
    except (ValueError, UnicodeDecodeError):
        return _TOP


async def page(
    user_id: int, *, first: int, after: str | None, history_filter: HistoryFilter
) -> tuple[list[ActivityLine], bool]:
    """Up to `first` lines older than the cursor `after`, newest first; and whether more exist."""
    size = max(1, min(first, MAX_PAGE))
    f = history_filter
    at, rank, k1, k2 = decode_cursor(after)
    async with connection() as conn:
        rows = await conn.fetch(
            _LINES_SQL,
            user_id,
            at,
            rank,
            k1,
            k2,
            size + 1,
            f.type.value if f.type else None,
            f.status.value if f.status else None,
            f.since,
            f.until,
            f.counterparty_username.lower().removeprefix("@") if f.counterparty_username else None,
        )
    found = await items_of(
        user_id,
        sorted({int(r["transaction_id"]) for r in rows[:size] if r["transaction_id"] is not None}),
    )
    lines = []
    for r in rows[:size]:
        item = found.get(int(r["transaction_id"])) if r["transaction_id"] is not None else None
        key = (r["at"], int(r["rank"]), int(r["k1"]), int(r["k2"]))
        if r["rank"] == 1:
            currency = Currency(r["currency"])
            lines.append(
                ActivityLine(
                    booked=True,
                    at=r["at"],
                    amount=Money(int(r["delta"]), currency),
                    balance_after=Money(int(r["balance_after"]), currency),
                    position=int(r["k2"]),
                    entry_kind=r["kind"],
                    transaction=item,
                    key=key,
                )
            )
        elif item is not None:
            lines.append(
                ActivityLine(
                    booked=False,
                    at=r["at"],
                    amount=item.amount if item.incoming else -item.amount,
                    balance_after=None,
                    position=None,
                    entry_kind=None,
                    transaction=item,
                    key=key,
                )
            )
    return lines, len(rows) > size
