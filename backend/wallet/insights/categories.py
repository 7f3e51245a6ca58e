"""Spending categories: every transaction gets one, from the user's own choice, their
rules, the merchant's MCC, or its kind, in that order (docs/insights.md).

Categories are resolved when read, never stored on the transaction, so a new rule or an
override changes every report at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from wallet.db.engine import connection, transaction
from wallet.insights.errors import CategoryError, UnknownTransaction
from wallet.money import Currency, Money


class Category(Enum):
    FOOD = "food"
    TRANSPORT = "transport"
    SHOPPING = "shopping"
    BILLS = "bills"
    ENTERTAINMENT = "entertainment"
    HEALTH = "health"
    TRAVEL = "travel"
    TRANSFERS = "transfers"
    INCOME = "income"
    OTHER = "other"


class Flow(Enum):
    """How a transaction counts in reports; movements of one's own money count as none."""

    EXPENSE = "expense"
    REFUND = "refund"  # lowers the expenses of its category
    INCOME = "income"


@dataclass(frozen=True, slots=True)
class Activity:
    """One transaction as the viewer's reports see it."""

    transaction_id: int
    created_at: datetime
    amount: Money  # the viewer's side (what arrived, for a cross-currency receipt)
    flow: Flow | None
    category: Category
    payee: str


# The viewer's transactions with their flow, payee and category. $1 is the viewer;
# `{where}` narrows the rows of both halves (by time or by id).
_ACTIVITY_SQL = """
WITH mine AS (
    SELECT t.*, true AS outgoing FROM money_transaction t
     WHERE t.initiator_user_id = $1 AND {where}
    UNION ALL
    SELECT t.*, false FROM money_transaction t
     WHERE t.counterparty_user_id = $1 AND t.initiator_user_id IS DISTINCT FROM $1 AND {where}
), described AS (
    SELECT m.id, m.created_at, m.status, m.type, m.refund_of_id, mer.mcc,
           CASE WHEN NOT m.outgoing AND m.counter_currency IS NOT NULL
                THEN m.counter_currency ELSE m.currency END AS currency,
           CASE WHEN NOT m.outgoing AND m.counter_currency IS NOT NULL
                THEN m.counter_amount ELSE m.amount END AS amount,
           CASE WHEN m.outgoing AND m.type IN ('payment', 'send') THEN 'expense'
                WHEN NOT m.outgoing AND m.type = 'refund' THEN 'refund'
                WHEN NOT m.outgoing AND m.type IN ('send', 'promotional_credit', 'reward')
                THEN 'income' END AS flow,
           coalesce(mer.name, other.username, m.recipient_contact, '') AS payee
      FROM mine m
      LEFT JOIN merchant mer ON mer.id = m.merchant_id
      LEFT JOIN app_user other ON other.id = CASE WHEN m.outgoing THEN m.counterparty_user_id
                                                  ELSE m.initiator_user_id END
)
SELECT d.id, d.created_at, d.status, d.currency, d.amount, d.flow, d.payee,
       coalesce(
           (SELECT c.category FROM transaction_category c
             WHERE c.user_id = $1 AND c.transaction_id = d.id),
           (SELECT c.category FROM transaction_category c
             WHERE c.user_id = $1 AND c.transaction_id = d.refund_of_id),
           (SELECT r.category FROM category_rule r
             WHERE r.user_id = $1 AND d.payee <> '' AND position(r.pattern IN lower(d.payee)) > 0
             ORDER BY r.id LIMIT 1),
           (SELECT g.category FROM category_mcc_range g
             WHERE d.mcc::integer BETWEEN g.low AND g.high ORDER BY g.high - g.low LIMIT 1),
           CASE WHEN d.flow = 'income' THEN 'income' ELSE 'transfers' END
       ) AS category
  FROM described d
"""

# Statuses that count: money that moved or is on its way.
COUNTED = ("completed", "pending")


def _activity(row: Any) -> Activity:
    return Activity(
        transaction_id=int(row["id"]),
        created_at=row["created_at"],
        amount=Money(int(row["amount"]), Currency(row["currency"])),
        flow=Flow(row["flow"]) if row["flow"] else None,
        category=Category(row["category"]),
        payee=row["payee"],
    )


async def activity_between(user_id: int, since: datetime, until: datetime) -> list[Activity]:
    """The user's counted transactions in [since, until) that are income or spending."""
    where = "t.created_at >= $2 AND t.created_at < $3"
    # A fully refunded payment is REVERSED: it still counts, and its refunds offset it.
    sql = _ACTIVITY_SQL.format(where=where) + (
        " WHERE d.flow IS NOT NULL AND (d.status = ANY($4::text[])"
        " OR (d.status = 'reversed' AND d.type = 'payment')) ORDER BY d.id"
    )
    async with connection() as conn:
        rows = await conn.fetch(sql, user_id, since, until, list(COUNTED))
    return [_activity(r) for r in rows]


async def categories_of(user_id: int, transaction_ids: list[int]) -> dict[int, Category]:
    """The category of each of the user's transactions (others are left out)."""
    sql = _ACTIVITY_SQL.format(where="t.id = ANY($2::bigint[])")
    async with connection() as conn:
        rows = await conn.fetch(sql, user_id, transaction_ids)
    return {int(r["id"]): Category(r["category"]) for r in rows}


async def activity_of(user_id: int, transaction_id: int) -> Activity | None:
    sql = _ACTIVITY_SQL.format(where="t.id = ANY($2::bigint[])")
    async with connection() as conn:
        row = await conn.fetchrow(sql, user_id, [transaction_id])
    return None if row is None else _activity(row)


async def categorize(user_id: int, transaction_id: int, category: Category | None) -> Category:
    """Set (or, with None, clear) the user's own category for one of their transactions."""
    async with transaction() as conn:
        party = await conn.fetchval(
            "SELECT 1 FROM money_transaction WHERE id = $1 "
            "AND $2 IN (initiator_user_id, counterparty_user_id)",
            transaction_id,
            user_id,
        )
        if party is None:
            raise UnknownTransaction()
        if category is None:
            await conn.execute(
                "DELETE FROM transaction_category WHERE user_id = $1 AND transaction_id = $2",
                user_id,
                transaction_id,
            )
        else:
            await conn.execute(
                "INSERT INTO transaction_category (transaction_id, user_id, category) "
                "VALUES ($1, $2, $3) ON CONFLICT (user_id, transaction_id) "
                "DO UPDATE SET category = EXCLUDED.category",
                transaction_id,
                user_id,
                category.value,
            )
    resolved = await categories_of(user_id, [transaction_id])
    return resolved[transaction_id]


@dataclass(frozen=True, slots=True)
class CategoryRule:
    id: int
    pattern: str
    category: Category


MAX_RULES = 100


async def add_rule(user_id: int, pattern: str, category: Category) -> CategoryRule:
    """ "Payee contains `pattern` -> `category`" (case-insensitive; earliest rule wins)."""
    text = " ".join(pattern.split()).lower()
    if not 1 <= len(text) <= 60:
        raise CategoryError("pattern", "The pattern needs 1 to 60 characters")
    async with transaction() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM category_rule WHERE user_id = $1", user_id
        )
        if count >= MAX_RULES:
            raise CategoryError("pattern", f"At most {MAX_RULES} rules")
        row = await conn.fetchrow(
            "INSERT INTO category_rule (user_id, pattern, category) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id, pattern) DO UPDATE SET category = EXCLUDED.category "
            "RETURNING id",
            user_id,
            text,
            category.value,
        )
    return CategoryRule(int(row["id"]), text, category)


async def delete_rule(user_id: int, rule_id: int) -> bool:
    async with connection() as conn:
        deleted = await conn.fetchval(
            "DELETE FROM category_rule WHERE id = $1 AND user_id = $2 RETURNING id",
            rule_id,
            user_id,
        )
    return deleted is not None


async def rules_of(user_id: int) -> list[CategoryRule]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, pattern, category FROM category_rule WHERE user_id = $1 ORDER BY id",
            user_id,
        )
    return [CategoryRule(int(r["id"]), r["pattern"], Category(r["category"])) for r in rows]
