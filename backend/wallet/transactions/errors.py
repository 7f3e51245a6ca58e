"""State machine errors."""

from __future__ import annotations

from wallet.transactions.models import TransactionStatus


class IllegalTransition(Exception):
    def __init__(
        self, transaction_id: int, current: TransactionStatus, target: TransactionStatus
    ) -> None:
        super().__init__(
            f"transaction {transaction_id} cannot go from {current.value} to {target.value}"
        )
        self.transaction_id = transaction_id
        self.current = current
        self.target = target


class TransactionNotFound(Exception):
    def __init__(self, transaction_id: int) -> None:
        super().__init__(f"transaction {transaction_id} not found")
        self.transaction_id = transaction_id
