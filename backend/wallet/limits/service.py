"""Limits by verification level, enforced in the money path (docs/limits.md).

Each level has, for each kind of movement (send, add, withdraw, merchant), a limit per
transaction, per UTC day and per UTC calendar month, and a cap on the balance the user
may hold. All are in US dollars (configured in `wallet.config.LimitsSettings`): amounts
in other currencies, and the day's and month's usage in every currency, are valued at
the mid rate of the moment. Callers hold the
user's wallet row lock, so concurrent movements of one user cannot both slip under.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache

from wallet.config import LevelLimits, PeriodLimits, get_settings
from wallet.db.engine import Connection
from wallet.errors import OverLimit
from wallet.ledger import service as ledger
from wallet.ledger.models import OwnerType
from wallet.money import Currency, Money
from wallet.rates import RateProvider, RateSnapshot, provider_from_config


class LimitKind(Enum):
    PER_TRANSACTION = "PER_TRANSACTION"
    DAILY = "DAILY"
    MONTHLY = "MONTHLY"
    BALANCE_CAP = "BALANCE_CAP"
    # A cross-currency send above the configured amount needs full verification.
    CROSS_BORDER = "CROSS_BORDER"


class LimitScope(Enum):
    """The kind of movement a limit applies to."""

    SEND = "SEND"
    ADD = "ADD"
    WITHDRAW = "WITHDRAW"
    MERCHANT = "MERCHANT"
    # Money arriving from someone else (only the balance cap applies).
    RECEIVE = "RECEIVE"


# Which transaction types count towards each scope's usage.
SCOPE_TYPES: dict[LimitScope, tuple[str, ...]] = {
    LimitScope.SEND: ("send",),
    LimitScope.ADD: ("add",),
    LimitScope.WITHDRAW: ("withdrawal",),
    LimitScope.MERCHANT: ("payment",),
}
LEVELS = ("unverified", "basic", "full", "premium")
FULL_KYC_LEVELS = frozenset({"full", "premium"})


def policy() -> dict[str, LevelLimits]:
    """The limits of each verification level (WALLET_LIMITS over the defaults)."""
    return get_settings().limits.policy


@lru_cache(maxsize=1)
def _provider() -> RateProvider:
    fx = get_settings().fx
    return provider_from_config(fx.provider, fx.feed_url)


async def rates() -> RateSnapshot:
    """Rates to value limits with: the provider's latest snapshot, however old (a limit
    valued at yesterday's rate is still a limit)."""
    return await _provider().snapshot()


class LimitExceeded(OverLimit):
    """`limit` and `remaining` are in the movement's currency (converted from USD)."""

    remaining: Money

    def __init__(
        self,
        limit_kind: LimitKind,
        limit: Money,
        remaining: Money,
        scope: LimitScope = LimitScope.SEND,
    ) -> None:
        super().__init__(
            f"{scope.value} {limit_kind.value} limit {limit} exceeded; {remaining} left"
        )
        self.limit_kind = limit_kind
        self.scope = scope
        self.limit = limit
        self.remaining = remaining
        self.limit_name = limit_kind.value
        self.scope_name = scope.value
        self.maximum = limit

    @property
    def message(self) -> str:
        """Which limit was hit and what remains, in the words the limits page uses."""
        maximum, left = self.limit.display(), self.remaining.display()
        match self.limit_kind, self.scope:
            case LimitKind.CROSS_BORDER, _:
                return f"Cross-currency transfers worth more than {maximum} need full verification"
            case LimitKind.BALANCE_CAP, LimitScope.RECEIVE:
                return "The recipient's wallet cannot hold this much; try a smaller amount"
            case LimitKind.BALANCE_CAP, _:
                return f"Your wallet may hold up to {maximum}; you can add {left} more"
            case _:
                return (
                    f"This is over your {_PERIOD_WORDS[self.limit_kind]} limit for "
                    f"{_SCOPE_WORDS[self.scope]}: {left} left of {maximum}"
                )


_SCOPE_WORDS = {
    LimitScope.SEND: "sending",
    LimitScope.ADD: "adding money",
    LimitScope.WITHDRAW: "withdrawals",
    LimitScope.MERCHANT: "payments to merchants",
}
_PERIOD_WORDS = {
    LimitKind.PER_TRANSACTION: "per-transaction",
    LimitKind.DAILY: "daily",
    LimitKind.MONTHLY: "monthly",
}


@dataclass(frozen=True, slots=True)
class Usage:
    """What a user has used of one scope's limits, in US cents."""

    today: int = 0
    this_month: int = 0


@dataclass(frozen=True, slots=True)
class LimitsView:
    """A user's limits and their usage, for the app's limits page (usage in US cents)."""

    level: str
    by_scope: dict[LimitScope, tuple[PeriodLimits, Usage]] = field(default_factory=dict)
    balance_cap: Money | None = None
    balance: int = 0


def _period_starts(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


@dataclass(frozen=True, slots=True)
class Spent:
    """A user's movements that count against their limits, today and this month, as
    raw sums per (scope, currency): valued in US cents only when checked, so that money
    added to it (a batch's earlier sends) is valued exactly as the database's sums."""

    sums: dict[tuple[LimitScope, Currency], tuple[int, int]] = field(default_factory=dict)

    def plus(self, scope: LimitScope, amount: Money) -> Spent:
        key = (scope, amount.currency)
        today, month = self.sums.get(key, (0, 0))
        return Spent({**self.sums, key: (today + amount.amount_minor, month + amount.amount_minor)})

    def valued(self, snapshot: RateSnapshot) -> dict[LimitScope, Usage]:
        totals: dict[LimitScope, list[int]] = {scope: [0, 0] for scope in SCOPE_TYPES}
        for (scope, currency), (today, month) in self.sums.items():
            pair = totals[scope]
            pair[0] += snapshot.usd_value(Money(today, currency))
            pair[1] += snapshot.usd_value(Money(month, currency))
        return {scope: Usage(today, month_) for scope, (today, month_) in totals.items()}


async def spent(
    conn: Connection, user_ids: Sequence[int], now: datetime | None = None
) -> dict[int, Spent]:
    """What each user moved today and this month, per scope and currency (one query).

    Failed and expired movements do not count; pending ones do (they may still happen).
    """
    day, month = _period_starts(now or datetime.now(UTC))
    rows = await conn.fetch(
        """
        SELECT initiator_user_id AS user_id, type, currency,
               coalesce(sum(amount) FILTER (WHERE created_at >= $2), 0) AS today,
               sum(amount) AS this_month
        FROM money_transaction
        WHERE initiator_user_id = ANY($1::bigint[]) AND created_at >= $3
          AND type = ANY($4::text[]) AND status NOT IN ('failed', 'expired')
        GROUP BY initiator_user_id, type, currency
        """,
        list(user_ids),
        day,
        month,
        [t for types in SCOPE_TYPES.values() for t in types],
    )
    scope_of = {t: scope for scope, types in SCOPE_TYPES.items() for t in types}
    found: dict[int, dict[tuple[LimitScope, Currency], tuple[int, int]]] = {u: {} for u in user_ids}
    for row in rows:
        key = (scope_of[row["type"]], Currency(row["currency"]))
        today, month_ = found[int(row["user_id"])].get(key, (0, 0))
        found[int(row["user_id"])][key] = (
            today + int(row["today"]),
            month_ + int(row["this_month"]),
        )
    return {u: Spent(sums) for u, sums in found.items()}


async def usage(
    conn: Connection, user_id: int, snapshot: RateSnapshot, now: datetime | None = None
) -> dict[LimitScope, Usage]:
    """The user's movements today and this month per scope, valued in US cents."""
    return (await spent(conn, [user_id], now))[user_id].valued(snapshot)


async def wallet_worth(conn: Connection, user_id: int, snapshot: RateSnapshot) -> int:
    """What the platform holds for the user (wallet balances, savings vaults, points) in
    US cents, counting money on its way in (the ledger's `owner_worth`)."""
    worth = await ledger.owner_worth(conn, OwnerType.USER, user_id)
    return sum(snapshot.usd_value(money) for money in worth)


def _in(currency: Currency, cents: int, snapshot: RateSnapshot) -> Money:
    return Money(max(snapshot.from_usd(max(cents, 0), currency), 0), currency)


async def check(
    conn: Connection,
    user_id: int,
    verification_level: str,
    amount: Money,
    scope: LimitScope,
    *,
    snapshot: RateSnapshot | None = None,
) -> None:
    """Raise `LimitExceeded` if `amount` would break one of the user's `scope` limits
    (per transaction, today, this month) or, for money added, their balance cap."""
    snapshot = snapshot or await rates()
    check_per_transaction(verification_level, amount, scope, snapshot)
    check_period(verification_level, amount, scope, await usage(conn, user_id, snapshot), snapshot)
    if scope is LimitScope.ADD:
        level = policy()[verification_level]
        worth = snapshot.usd_value(amount)
        await _check_cap(conn, user_id, level.balance_cap, amount, worth, snapshot, scope)


def check_per_transaction(
    verification_level: str, amount: Money, scope: LimitScope, snapshot: RateSnapshot
) -> None:
    """Raise `LimitExceeded` if `amount` alone is over the level's `scope` maximum."""
    limits = policy()[verification_level].by_scope[scope.value]
    if snapshot.usd_value(amount) > limits.per_transaction.amount_minor:
        cap = _in(amount.currency, limits.per_transaction.amount_minor, snapshot)
        raise LimitExceeded(LimitKind.PER_TRANSACTION, cap, cap, scope)


def check_period(
    verification_level: str,
    amount: Money,
    scope: LimitScope,
    used: dict[LimitScope, Usage],
    snapshot: RateSnapshot,
) -> None:
    """Raise `LimitExceeded` if `amount` on top of what was `used` breaks the level's
    daily or monthly `scope` limit (no database: the caller read the usage)."""
    limits = policy()[verification_level].by_scope[scope.value]
    worth = snapshot.usd_value(amount)
    for kind, maximum, spent_ in (
        (LimitKind.DAILY, limits.daily, used[scope].today),
        (LimitKind.MONTHLY, limits.monthly, used[scope].this_month),
    ):
        left = maximum.amount_minor - spent_
        if worth > left:
            raise LimitExceeded(
                kind,
                _in(amount.currency, maximum.amount_minor, snapshot),
                _in(amount.currency, left, snapshot),
                scope,
            )


async def _check_cap(
    conn: Connection,
    user_id: int,
    cap: Money | None,
    amount: Money,
    incoming_usd: int,
    snapshot: RateSnapshot,
    scope: LimitScope,
) -> None:
    if cap is None:
        return
    room = cap.amount_minor - await wallet_worth(conn, user_id, snapshot)
    if incoming_usd > room:
        raise LimitExceeded(
            LimitKind.BALANCE_CAP,
            _in(amount.currency, cap.amount_minor, snapshot),
            _in(amount.currency, room, snapshot),
            scope,
        )


async def check_received(conn: Connection, recipient_id: int, amount: Money) -> None:
    """After money from someone else is posted to the recipient's wallet (its balance row
    locked until commit, so concurrent senders queue): refuse it if it took them over
    their balance cap. The caller's transaction rolls back with nothing kept."""
    level = await conn.fetchval(
        "SELECT verification_level FROM app_user WHERE id = $1", recipient_id
    )
    if policy()[level].balance_cap is None:
        return
    snapshot = await rates()
    check_received_worth(level, await wallet_worth(conn, recipient_id, snapshot), amount, snapshot)


def has_balance_cap(verification_level: str) -> bool:
    return policy()[verification_level].balance_cap is not None


def check_received_worth(
    verification_level: str, worth_after: int, amount: Money, snapshot: RateSnapshot
) -> None:
    """Refuse money received if it left the recipient worth `worth_after` (US cents)
    over their level's balance cap (no database: the caller read the worth)."""
    cap = policy()[verification_level].balance_cap
    if cap is None:
        return
    over = worth_after - cap.amount_minor
    if over > 0:
        raise LimitExceeded(
            LimitKind.BALANCE_CAP,
            _in(amount.currency, cap.amount_minor, snapshot),
            _in(amount.currency, snapshot.usd_value(amount) - over, snapshot),
            LimitScope.RECEIVE,
        )


async def limits_view(conn: Connection, user_id: int) -> LimitsView:
    snapshot = await rates()
    verification_level = await conn.fetchval(
        "SELECT verification_level FROM app_user WHERE id = $1", user_id
    )
    level = policy()[verification_level]
    used = await usage(conn, user_id, snapshot)
    return LimitsView(
        level=verification_level,
        by_scope={scope: (level.by_scope[scope.value], used[scope]) for scope in SCOPE_TYPES},
        balance_cap=level.balance_cap,
        balance=await wallet_worth(conn, user_id, snapshot),
    )


def check_cross_border(verification_level: str, usd_value_minor: int, threshold: Money) -> None:
    """Refuse a cross-currency send worth more than `threshold` (USD) without full KYC."""
    if verification_level not in FULL_KYC_LEVELS and usd_value_minor > threshold.amount_minor:
        raise LimitExceeded(LimitKind.CROSS_BORDER, threshold, Money.zero(threshold.currency))
