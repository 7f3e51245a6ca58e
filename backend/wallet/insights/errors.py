"""Insights refusals (categories, reminders); nothing is written when raised."""

from __future__ import annotations

from wallet.errors import NotFound, Refusal


class CategoryError(Refusal):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownTransaction(CategoryError, NotFound):
    def __init__(self) -> None:
        super().__init__("transactionId", "No such transaction")


class ReminderError(Refusal):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
