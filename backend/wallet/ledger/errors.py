"""Ledger errors: raised by the write path, mapped to typed API errors at the edge."""

from __future__ import annotations

from wallet.errors import ShortOfFunds, Unavailable


class LedgerError(Exception):
    """Base of every ledger refusal; nothing has been written when one is raised."""


class UnbalancedEntry(LedgerError):
    pass


class AccountNotFound(LedgerError):
    def __init__(self, account_ids: list[int]) -> None:
        super().__init__(f"ledger accounts not found: {account_ids}")
        self.account_ids = account_ids


class CurrencyMismatchInEntry(LedgerError):
    def __init__(self, account_id: int, account_currency: str, posting_currency: str) -> None:
        super().__init__(
            f"account {account_id} is in {account_currency}, posting is in {posting_currency}"
        )
        self.account_id = account_id


class AccountNotActive(LedgerError, Unavailable):
    def __init__(self, account_id: int, status: str) -> None:
        super().__init__(f"account {account_id} is {status}")
        self.account_id = account_id
        self.status = status


class InsufficientFunds(LedgerError, ShortOfFunds):
    def __init__(self, account_id: int, available: int, requested: int) -> None:
        super().__init__(f"account {account_id} has {available} available, {requested} requested")
        self.account_id = account_id
        self.available = available
        self.requested = requested


class HoldNotFound(LedgerError):
    def __init__(self, hold_id: int) -> None:
        super().__init__(f"hold {hold_id} not found")
        self.hold_id = hold_id


class HoldNotPending(LedgerError):
    def __init__(self, hold_id: int, status: str) -> None:
        super().__init__(f"hold {hold_id} is already {status}")
        self.hold_id = hold_id
        self.status = status


class HoldAmountExceeded(LedgerError):
    def __init__(self, hold_id: int, held: int, requested: int) -> None:
        super().__init__(f"hold {hold_id} reserves {held}; cannot post {requested}")
        self.hold_id = hold_id
