"""Transaction types and states, and the one table of legal state transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class TransactionType(Enum):
    ADD = "add"
    SEND = "send"
    PAYMENT = "payment"
    REFUND = "refund"
    WITHDRAWAL = "withdrawal"
    FX = "fx"
    FEE = "fee"
    REWARD = "reward"
    SETTLEMENT = "settlement"
    CHARGEBACK = "chargeback"
    PROMOTIONAL_CREDIT = "promotional_credit"
    REVERSAL = "reversal"
    SAVINGS = "savings"  # wallet -> a savings goal's vault
    SAVINGS_WITHDRAWAL = "savings_withdrawal"  # vault -> wallet


class TransactionStatus(Enum):
    INITIATED = "initiated"
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REVERSED = "reversed"
    EXPIRED = "expired"


S = TransactionStatus

# Every legal transition. Instant movements (P2P between wallets) complete straight
# from INITIATED; movements that wait on an outside party pass through PENDING and
# PROCESSING (docs/architecture.md).
TRANSITIONS: dict[TransactionStatus, frozenset[TransactionStatus]] = {
    S.INITIATED: frozenset({S.PENDING, S.PROCESSING, S.COMPLETED, S.FAILED}),
    S.PENDING: frozenset({S.PROCESSING, S.COMPLETED, S.FAILED, S.EXPIRED}),
    S.PROCESSING: frozenset({S.COMPLETED, S.FAILED}),
    S.COMPLETED: frozenset({S.REVERSED}),
    S.FAILED: frozenset(),
    S.REVERSED: frozenset(),
    S.EXPIRED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Transition:
    from_status: TransactionStatus | None
    to_status: TransactionStatus
    reason: str | None
    at: datetime
