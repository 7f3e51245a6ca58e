"""A statement of one wallet balance over a period, and its canonical form and digest.

The digest is SHA-256 over the canonical text below: the money of the statement (its
account, period, position, opening, each row's position, time, amount and balance, and
closing), not its words, so renaming a merchant or erasing a counterparty's name does
not change it. docs/ledger.md, "Verifying a statement", shows how to recompute it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from wallet.money import Currency, Money
from wallet.transactions.activity import describe
from wallet.transactions.history import HistoryItem

CANONICAL_HEADER = "wallet statement 1"


def instant(at: datetime) -> str:
    """A time as statements write it: UTC to the microsecond, e.g. 2026-12-03T10:00:01.000042Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class StatementRow:
    """A posting that hit the balance: its ledger position, when, the signed amount
    (+ in) and the balance right after it."""

    position: int
    posted_at: datetime
    amount: Money
    balance: Money
    entry_kind: str
    transaction: HistoryItem | None

    @property
    def description(self) -> str:
        return describe(self.transaction, self.entry_kind, self.amount)


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A transaction that has not moved the balance yet (not part of the arithmetic)."""

    transaction: HistoryItem

    @property
    def amount(self) -> Money:
        item = self.transaction
        return item.amount if item.incoming else -item.amount

    @property
    def description(self) -> str:
        return describe(self.transaction, None, self.amount)


@dataclass(frozen=True, slots=True)
class Statement:
    """Opening + the rows = closing; every row's balance is the one before plus it."""

    account: str  # the ledger account's code, e.g. user:42:USD:wallet
    currency: Currency
    period_from: date
    period_to: date  # included
    position: int  # the ledger position it was cut at
    cut_at: datetime | None  # when (None when re-made to verify one)
    opening: Money
    rows: tuple[StatementRow, ...]
    closing: Money
    pending: tuple[PendingRow, ...] = ()

    def canonical(self) -> str:
        lines = [
            CANONICAL_HEADER,
            f"account {self.account}",
            f"currency {self.currency.value}",
            f"period {self.period_from.isoformat()} {self.period_to.isoformat()}",
            f"position {self.position}",
            f"opening {self.opening.format()}",
            *(
                f"{r.position} {instant(r.posted_at)} {r.amount.format()} {r.balance.format()}"
                for r in self.rows
            ),
            f"closing {self.closing.format()}",
        ]
        return "".join(line + "\n" for line in lines)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    @property
    def credits(self) -> Money:
        return sum(
            (r.amount for r in self.rows if r.amount.amount_minor > 0), Money.zero(self.currency)
        )

    @property
    def debits(self) -> Money:
        return sum(
            (-r.amount for r in self.rows if r.amount.amount_minor < 0), Money.zero(self.currency)
        )


@dataclass(frozen=True, slots=True)
class Verification:
    matches: bool
    statement: Statement  # what the ledger says for that account, period and position
