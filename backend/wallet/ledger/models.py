"""Ledger values: the chart-of-accounts vocabulary, entry drafts and balances."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from wallet.money import Currency, Money


class AccountType(Enum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> Side:
        """Assets and expenses grow with debits; the others grow with credits."""
        return Side.DEBIT if self in (AccountType.ASSET, AccountType.EXPENSE) else Side.CREDIT


class Side(Enum):
    DEBIT = "D"
    CREDIT = "C"


class OwnerType(Enum):
    USER = "user"
    MERCHANT = "merchant"
    SYSTEM = "system"


class AccountStatus(Enum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class Purpose:
    """Well-known account purposes (a purpose is free text, these are the ones in use)."""

    WALLET = "wallet"
    GATEWAY_CLEARING_SANDBOX = "gateway_clearing:sandbox"
    FEE_REVENUE = "fee_revenue"
    UNCLAIMED_TRANSFERS = "unclaimed_transfers"
    CHARGEBACK_RESERVE = "chargeback_reserve"
    PROMOTIONAL_FUNDING = "promotional_funding"
    BUYER_PROTECTION_ESCROW = "buyer_protection_escrow"
    DISPUTE_HOLD = "dispute_hold"
    FX_POSITION = "fx_position"
    FX_SPREAD_REVENUE = "fx_spread_revenue"
    FX_ROUNDING = "fx_rounding"
    RECONCILIATION_SUSPENSE = "reconciliation_suspense"


@dataclass(frozen=True, slots=True)
class PostingDraft:
    account_id: int
    side: Side
    amount: Money


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """A journal entry to be posted: at least two postings, balanced per currency."""

    kind: str
    postings: tuple[PostingDraft, ...]
    description: str = ""

    @classmethod
    def transfer(
        cls, kind: str, debit: int, credit: int, amount: Money, description: str = ""
    ) -> EntryDraft:
        """The common two-legged entry: debit one account, credit another."""
        return cls(
            kind,
            (PostingDraft(debit, Side.DEBIT, amount), PostingDraft(credit, Side.CREDIT, amount)),
            description,
        )


def normal_balance(side: Side, debits: int, credits: int) -> int:
    """A balance on the account's normal side (credits minus debits for liabilities)."""
    return credits - debits if side is Side.CREDIT else debits - credits


def reserved_amount(side: Side, pending_debits: int, pending_credits: int) -> int:
    """What pending movements hold against an account (they lower its normal side)."""
    return pending_debits if side is Side.CREDIT else pending_credits


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's running totals, in minor units of its currency."""

    account_id: int
    currency: Currency
    normal_side: Side
    posted_debits: int
    posted_credits: int
    pending_debits: int
    pending_credits: int
    # What can be spent: posted minus reserved, as the database defines it once
    # (`ledger_available`, migration 0044) and the balance view reports it. Read, never
    # computed here.
    available: int

    @property
    def posted(self) -> int:
        """Posted balance on the account's normal side."""
        return normal_balance(self.normal_side, self.posted_debits, self.posted_credits)

    @property
    def reserved(self) -> int:
        """Amount held against the account by pending outgoing movements."""
        return reserved_amount(self.normal_side, self.pending_debits, self.pending_credits)

    @property
    def incoming(self) -> int:
        """Amount on its way in through pending movements."""
        return self.pending_credits if self.normal_side is Side.CREDIT else self.pending_debits

    @property
    def worth(self) -> int:
        """What the account is worth to its owner: posted plus what is on its way in."""
        return self.posted + self.incoming
