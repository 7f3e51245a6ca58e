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
from wallet.insights import queries
from wallet.insights.errors import CategoryError, UnknownTransaction
from wallet.insights.tables import CategoryRule as CategoryRuleRow
from wallet.insights.tables import TransactionCategory
from wallet.money import Currency, Money
from wallet.transactions.tables import MoneyTransaction


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


# Statuses that count: money that moved or is on its way.
COUNTED = ("completed", "pending")


def activity_from_row(row: Any) -> Activity:
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
    async with connection() as conn:
        rows = await conn.fetch(queries.ACTIVITY_BETWEEN, user_id, since, until, list(COUNTED))
    return [activity_from_row(r) for r in rows]


async def categories_of(user_id: int, transaction_ids: list[int]) -> dict[int, Category]:
    """The category of each of the user's transactions (others are left out)."""
    async with connection() as conn:
        rows = await conn.fetch(queries.ACTIVITY_OF_IDS, user_id, transaction_ids)
    return {int(r["id"]): Category(r["category"]) for r in rows}


async def activity_of(user_id: int, transaction_id: int) -> Activity | None:
    async with connection() as conn:
        row = await conn.fetchrow(queries.ACTIVITY_OF_IDS, user_id, [transaction_id])
    return None if row is None else activity_from_row(row)


async def categorize(user_id: int, transaction_id: int, category: Category | None) -> Category:
    """Set (or, with None, clear) the user's own category for one of their transactions."""
    async with transaction():
        party = await MoneyTransaction.exists().where(
            (MoneyTransaction.id == transaction_id)
            & (
                (MoneyTransaction.initiator_user_id == user_id)
                | (MoneyTransaction.counterparty_user_id == user_id)
            )
        )
        if not party:
            raise UnknownTransaction()
        if category is None:
            await TransactionCategory.delete().where(
                (TransactionCategory.user_id == user_id)
                & (TransactionCategory.transaction_id == transaction_id)
            )
        else:
            await TransactionCategory.insert(
                TransactionCategory(
                    transaction_id=transaction_id, user_id=user_id, category=category.value
                )
            ).on_conflict(
                target=(TransactionCategory.user_id, TransactionCategory.transaction_id),
                action="DO UPDATE",
                values=[TransactionCategory.category],
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
    async with transaction():
        count = await CategoryRuleRow.count().where(CategoryRuleRow.user_id == user_id)
        if count >= MAX_RULES:
            raise CategoryError("pattern", f"At most {MAX_RULES} rules")
        [row] = (
            await CategoryRuleRow.insert(
                CategoryRuleRow(user_id=user_id, pattern=text, category=category.value)
            )
            .on_conflict(
                target=(CategoryRuleRow.user_id, CategoryRuleRow.pattern),
                action="DO UPDATE",
                values=[CategoryRuleRow.category],
            )
            .returning(CategoryRuleRow.id)
        )
    return CategoryRule(int(row["id"]), text, category)


async def delete_rule(user_id: int, rule_id: int) -> bool:
    deleted = (
        await CategoryRuleRow.delete()
        .where((CategoryRuleRow.id == rule_id) & (CategoryRuleRow.user_id == user_id))
        .returning(CategoryRuleRow.id)
    )
    return bool(deleted)


async def rules_of(user_id: int) -> list[CategoryRule]:
    rows = await (
        CategoryRuleRow.select(
            CategoryRuleRow.id, CategoryRuleRow.pattern, CategoryRuleRow.category
        )
        .where(CategoryRuleRow.user_id == user_id)
        .order_by(CategoryRuleRow.id)
    )
    return [CategoryRule(int(r["id"]), r["pattern"], Category(r["category"])) for r in rows]
