"""Statements of a user's wallet balances, cut from the ledger, and their verification.

A statement is per currency over whole UTC days: the balance before the first day,
every posting that hit the balance in the period in ledger-position order, and the
balance after the last. It is cut at a ledger position, so it can be made again, the
same to the byte, at any later time: `verify` does that and compares digests.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from wallet.db.engine import connection, read_connection, transaction
from wallet.ledger import chain
from wallet.ledger.models import OwnerType, Purpose
from wallet.money import Currency
from wallet.statements.models import PendingRow, Statement, StatementRow, Verification
from wallet.transactions.history import items_of, open_unbooked, transactions_of_entries

MAX_DAYS = 366 * 3
_DIGEST = re.compile(r"[0-9a-f]{64}")


class StatementError(Exception):
    """A statement that cannot be made or checked as asked; `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NoSuchBalance(StatementError):
    def __init__(self, currency: Currency) -> None:
        super().__init__("currency", f"You have never had a {currency.value} balance")


def period_bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """[start, end) of whole UTC days `period_from` to `period_to`, both included."""
    if period_to < period_from:
        raise StatementError("to", "The end date is before the start date")
    if (period_to - period_from).days > MAX_DAYS:
        raise StatementError("to", "A statement covers at most three years")
    start = datetime.combine(period_from, time.min, UTC)
    return start, datetime.combine(period_to, time.min, UTC) + timedelta(days=1)


async def _make(
    account_id: int,
    code: str,
    currency: Currency,
    user_id: int,
    period: tuple[date, date],
    position: int,
    cut_at: datetime | None,
) -> Statement:
    start, end = period_bounds(*period)
    async with read_connection() as conn:
        window = await chain.window(conn, account_id, currency, start, end, position)
    entries = await transactions_of_entries(sorted({p.entry_id for p in window.postings}))
    found = await items_of(user_id, sorted(set(entries.values())))
    rows = tuple(
        StatementRow(
            position=p.position,
            posted_at=p.posted_at,
            amount=p.amount,
            balance=p.balance_after,
            entry_kind=p.entry_kind,
            transaction=found.get(entries.get(p.entry_id, 0)),
        )
        for p in window.postings
    )
    return Statement(
        account=code,
        currency=currency,
        period_from=period[0],
        period_to=period[1],
        position=position,
        cut_at=cut_at,
        opening=window.opening,
        rows=rows,
        closing=rows[-1].balance if rows else window.opening,
    )


async def cut_statements(
    user_id: int, period_from: date, period_to: date, currency: Currency | None = None
) -> list[Statement]:
    """The user's statements for the period, cut now: one per currency that had a
    balance or moved in it (only `currency`'s, if given). Transactions still waiting to
    move money are listed beside them when the period reaches the cut."""
    end = period_bounds(period_from, period_to)[1]
    async with transaction() as conn:
        accounts = await chain.accounts_of(conn, OwnerType.USER.value, user_id, Purpose.WALLET)
        if currency is not None:
            if currency not in accounts:
                raise NoSuchBalance(currency)
            accounts = {currency: accounts[currency]}
        ids = sorted(a.id for a in accounts.values())
        cuts = await chain.cut(conn, ids) if ids else {}
    waiting = await open_unbooked(user_id)
    made = []
    for cur, account in accounts.items():
        c = cuts[account.id]
        statement = await _make(
            account.id, account.code, cur, user_id, (period_from, period_to), c.position, c.at
        )
        pending = tuple(PendingRow(i) for i in waiting if i.amount.currency is cur and end > c.at)
        if statement.rows or statement.opening.amount_minor or pending or currency is not None:
            made.append(replace(statement, pending=pending))
    return made


async def verify(
    user_id: int,
    currency: Currency,
    period_from: date,
    period_to: date,
    position: int,
    digest: str,
) -> Verification:
    """Make the statement of the user's `currency` balance for the period at `position`
    again from the ledger, and say whether its digest is `digest`."""
    digest = digest.strip().lower().removeprefix("sha256:")
    if not _DIGEST.fullmatch(digest):
        raise StatementError("digest", "A digest is 64 hexadecimal characters (SHA-256)")
    if position < 0:
        raise StatementError("position", "A ledger position is 0 or more")
    async with connection() as conn:
        accounts = await chain.accounts_of(conn, OwnerType.USER.value, user_id, Purpose.WALLET)
        if currency not in accounts:
            raise NoSuchBalance(currency)
        account = accounts[currency]
        if position > await chain.last_position(conn, account.id):
            raise StatementError(
                "position", "Your balance has not reached that ledger position yet"
            )
    statement = await _make(
        account.id, account.code, currency, user_id, (period_from, period_to), position, None
    )
    return Verification(matches=statement.digest == digest, statement=statement)
