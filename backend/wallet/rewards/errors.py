"""Rewards refusals; nothing is written when raised."""

from __future__ import annotations

from wallet.errors import Refusal


class RewardError(Refusal):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
