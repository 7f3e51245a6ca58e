"""Wallet refusals; nothing is written when raised."""

from __future__ import annotations

from wallet.errors import NotFound, Refusal, Unavailable
from wallet.money import Currency


class WalletUnavailable(Unavailable):
    """A wallet that cannot take part now: `whose` (yours, the recipient's) is `status`
    (frozen, restricted, closed)."""

    def __init__(self, whose: str, status: str) -> None:
        super().__init__(f"The {whose} wallet is {status}")
        self.whose = whose
        self.status = status


class BalanceNotEmpty(Refusal):
    field = "currency"
    code = "NOT_EMPTY"

    def __init__(self, currency: Currency) -> None:
        super().__init__(
            f"Your {currency.value} balance must be zero, with nothing pending, to close it"
        )


class LastBalance(Refusal):
    field = "currency"
    code = "LAST_BALANCE"

    def __init__(self) -> None:
        super().__init__("Keep at least one currency balance open")


class BalanceNotFound(NotFound):
    def __init__(self, currency: Currency) -> None:
        super().__init__(f"You have no {currency.value} balance")
