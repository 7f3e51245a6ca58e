"""Savings-goal refusals; nothing is written when raised."""

from __future__ import annotations

from wallet.errors import NotFound, Refusal


class GoalError(Refusal):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class GoalNotFound(GoalError, NotFound):
    def __init__(self) -> None:
        super().__init__("goalId", "No such savings goal")
