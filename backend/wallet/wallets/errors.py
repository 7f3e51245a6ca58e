"""Wallet refusals; nothing is written when raised."""

from __future__ import annotations

from wallet.errors import Unavailable


class WalletUnavailable(Unavailable):
    """A wallet that cannot take part now: `whose` (yours, the recipient's) is `status`
    (frozen, restricted, closed)."""

    def __init__(self, whose: str, status: str) -> None:
        super().__init__(f"The {whose} wallet is {status}")
        self.whose = whose
        self.status = status
