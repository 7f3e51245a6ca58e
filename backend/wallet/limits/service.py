"""Per-transaction and daily limits by verification level.

Limits are in major units of the transaction's currency. The daily window is the UTC
calendar day. Callers hold the sender's wallet row lock, so concurrent sends of one user
cannot both slip under.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from wallet.db.engine import Connection
from wallet.money import Money


class LimitKind(Enum):
    PER_TRANSACTION = "PER_TRANSACTION"
    DAILY = "DAILY"
    # A cross-currency send above the configured amount needs full verification.
    CROSS_BORDER = "CROSS_BORDER"


@dataclass(frozen=True, slots=True)
class LimitSet:
    per_transaction_major: int
    daily_major: int


DEFAULT_LIMITS: dict[str, LimitSet] = {
    "unverified": LimitSet(per_transaction_major=1_000, daily_major=2_500),
    "basic": LimitSet(per_transaction_major=5_000, daily_major=10_000),
    "full": LimitSet(per_transaction_major=25_000, daily_major=50_000),
    "premium": LimitSet(per_transaction_major=100_000, daily_major=250_000),
}

# Outgoing movements that count against a user's limits while not failed.
_OUTGOING = ("send", "withdrawal", "payment")


class LimitExceeded(Exception):
    def __init__(self, kind: LimitKind, limit: Money, remaining: Money) -> None:
        super().__init__(f"{kind.value} limit {limit} exceeded; {remaining} remaining")
        self.kind = kind
        self.limit = limit
        self.remaining = remaining


def _major(major: int, amount: Money) -> Money:
    return Money(major * 10**amount.currency.exponent, amount.currency)


async def check_outgoing(
    conn: Connection,
    user_id: int,
    verification_level: str,
    amount: Money,
    limits: dict[str, LimitSet] = DEFAULT_LIMITS,
) -> None:
    """Raise `LimitExceeded` if `amount` would break the user's per-transaction or daily limit."""
    limit_set = limits[verification_level]
    per_transaction = _major(limit_set.per_transaction_major, amount)
    if amount.amount_minor > per_transaction.amount_minor:
        raise LimitExceeded(LimitKind.PER_TRANSACTION, per_transaction, per_transaction)
    used = await conn.fetchval(
        """
        SELECT coalesce(sum(amount), 0) FROM money_transaction
        WHERE initiator_user_id = $1 AND currency = $2 AND type = ANY($3::text[])
          AND status NOT IN ('failed', 'expired')
          AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        """,
        user_id,
        amount.currency.value,
        list(_OUTGOING),
    )
    daily = _major(limit_set.daily_major, amount)
    remaining = Money(max(daily.amount_minor - int(used), 0), amount.currency)
    if amount.amount_minor > remaining.amount_minor:
        raise LimitExceeded(LimitKind.DAILY, daily, remaining)


FULL_KYC_LEVELS = frozenset({"full", "premium"})


def check_cross_border(verification_level: str, usd_value_minor: int, threshold: Money) -> None:
    """Refuse a cross-currency send worth more than `threshold` (USD) without full KYC."""
    if verification_level not in FULL_KYC_LEVELS and usd_value_minor > threshold.amount_minor:
        raise LimitExceeded(LimitKind.CROSS_BORDER, threshold, Money.zero(threshold.currency))
