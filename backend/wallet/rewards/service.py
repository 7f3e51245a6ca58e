"""Rewards: points and cashback on merchant payments, tiers, streaks and badges
(docs/rewards.md); referral bonuses are `wallet.rewards.referrals`.

Points and cashback are ledger movements funded from the `rewards_expense` account of
their currency. Points sit in the user's points account (USD, one point per cent: the
published rate is 100 points = 1.00 USD) until redeemed into the wallet. What a payment
earned is reversed in proportion when it is refunded, in the refund's own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection, transaction
from wallet.insights.categories import categories_of
from wallet.ledger import service as ledger
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.ledger.models import AccountType, EntryDraft, OwnerType
from wallet.money import Currency, Money
from wallet.notifications.money import event_payload
from wallet.outbox.service import Topic, emit_many
from wallet.rates import RateSnapshot
from wallet.rewards import referrals
from wallet.rewards.errors import RewardError
from wallet.rewards.referrals import ReferralRule, ReferralStatus
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.wallets.service import open_balance

POINTS_PURPOSE = "rewards_points"
REWARDS_EXPENSE = "rewards_expense"
POINTS_CURRENCY = Currency.USD  # one point is one US cent
MIN_REDEMPTION = 100


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    min_volume_usd: int  # US cents spent over the last 30 days
    multiplier: Decimal  # on points


TIERS = (
    Tier("bronze", 0, Decimal(1)),
    Tier("silver", 50_000, Decimal("1.25")),
    Tier("gold", 200_000, Decimal("1.5")),
)


def tier_for(volume_usd: int) -> Tier:
    return [t for t in TIERS if volume_usd >= t.min_volume_usd][-1]


async def volume_usd(conn: Connection, user_id: int, rates: RateSnapshot) -> int:
    """What the user paid and sent over the last 30 days, in US cents."""
    rows = await conn.fetch(
        "SELECT currency, sum(amount)::bigint AS total FROM money_transaction "
        "WHERE initiator_user_id = $1 AND type IN ('payment', 'send') "
        "AND status IN ('completed', 'pending') AND created_at >= now() - interval '30 days' "
        "GROUP BY currency",
        user_id,
    )
    return sum(rates.usd_value(Money(int(r["total"]), Currency(r["currency"]))) for r in rows)


async def _points_account(conn: Connection, user_id: int) -> int:
    return await ledger.open_account(
        conn,
        owner_type=OwnerType.USER,
        owner_id=user_id,
        currency=POINTS_CURRENCY,
        purpose=POINTS_PURPOSE,
        account_type=AccountType.LIABILITY,
        no_overdraft=True,
    )


async def _expense(conn: Connection, currency: Currency) -> int:
    return await ledger.system_account_id(conn, currency, REWARDS_EXPENSE)


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class Award:
    payment_id: int
    points: int
    cashback: Money
    tier: str


async def award_payment(user_id: int, payment_id: int, rates: RateSnapshot) -> Award | None:
    """Earn points and cashback on one of the user's completed merchant payments, once
    (on what is left of it after refunds so far)."""
    categories = await categories_of(user_id, [payment_id])
    async with transaction() as conn:
        # The payment row lock orders this against its refunds.
        payment = await conn.fetchrow(
            "SELECT t.currency, t.amount, t.refunded_amount, t.merchant_id, m.name "
            "FROM money_transaction t JOIN merchant m ON m.id = t.merchant_id "
            "WHERE t.id = $1 AND t.initiator_user_id = $2 AND t.type = 'payment' "
            "AND t.status = 'completed' FOR UPDATE OF t",
            payment_id,
            user_id,
        )
        if payment is None or payment_id not in categories:
            return None
        if await conn.fetchval("SELECT 1 FROM reward_award WHERE payment_id = $1", payment_id):
            return None
        currency = Currency(payment["currency"])
        net = Money(int(payment["amount"]) - int(payment["refunded_amount"]), currency)
        usd = rates.usd_value(net)
        tier = tier_for(await volume_usd(conn, user_id, rates))
        rules = await conn.fetch(
            "SELECT * FROM reward_rule WHERE active AND (category IS NULL OR category = $1) "
            "AND (merchant_id IS NULL OR merchant_id = $2) AND min_amount_usd <= $3",
            categories[payment_id].value,
            payment["merchant_id"],
            usd,
        )
        points = _floor(
            sum(
                (Decimal(usd) / 100 * r["points_per_usd"] for r in rules if r["kind"] == "points"),
                Decimal(0),
            )
            * tier.multiplier
        )
        cashback, cashback_usd = 0, 0
        for rule in (r for r in rules if r["kind"] == "cashback"):
            amount = _floor(Decimal(net.amount_minor) * rule["cashback_bps"] / 10_000)
            if rule["cap_per_payment_usd"] is not None:
                cap = rates.from_usd(int(rule["cap_per_payment_usd"]), currency)
                amount = min(amount, cap)
            if rule["cap_per_month_usd"] is not None:
                used = await conn.fetchval(
                    "SELECT coalesce(sum(cashback_usd), 0) FROM reward_award WHERE user_id = $1 "
                    "AND created_at >= date_trunc('month', now())",
                    user_id,
                )
                left_usd = max(int(rule["cap_per_month_usd"]) - int(used), 0)
                value_usd = rates.usd_value(Money(amount, currency))
                if value_usd > left_usd:
                    amount = _floor(Decimal(amount) * left_usd / value_usd) if value_usd else 0
            if amount > cashback:
                cashback, cashback_usd = amount, rates.usd_value(Money(amount, currency))
        cashback_transaction = None
        entries: list[int] = []
        if points > 0:
            entries.append(
                await ledger.post_entry(
                    conn,
                    EntryDraft.transfer(
                        "reward_points",
                        await _expense(conn, POINTS_CURRENCY),
                        await _points_account(conn, user_id),
                        Money(points, POINTS_CURRENCY),
                        f"points on payment {payment_id}",
                    ),
                )
            )
        if cashback > 0:
            money = Money(cashback, currency)
            entry_id = await ledger.post_entry(
                conn,
                EntryDraft.transfer(
                    "reward_cashback",
                    await _expense(conn, currency),
                    await open_balance(conn, user_id, currency),
                    money,
                    f"cashback on payment {payment_id}",
                ),
            )
            cashback_transaction, _ = await transactions.record_completed(
                conn,
                transactions.NewTransaction(
                    type=TransactionType.REWARD,
                    amount=money,
                    initiator_user_id=None,
                    counterparty_user_id=user_id,
                    note=f"Cashback on {payment['name']}",
                    merchant_id=payment["merchant_id"],
                ),
                entry_id,
            )
            await emit_many(
                conn, Topic.BALANCE_CHANGED, [{"user_id": user_id, "currency": currency.value}]
            )
        await conn.execute(
            "INSERT INTO reward_award (payment_id, user_id, points, cashback, cashback_usd, "
            "currency, cashback_transaction_id, tier) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            payment_id,
            user_id,
            points,
            cashback,
            cashback_usd,
            currency.value,
            cashback_transaction,
            tier.name,
        )
        return Award(payment_id, points, Money(cashback, currency), tier.name)


async def reverse_for_refund(conn: Connection, payment_id: int, refunded_total: int) -> None:
    """Take back, in the refund's own transaction, the share of the payment's rewards that
    the refunds so far cover (all of it once fully refunded). The caller holds the
    payment's row lock and has already credited the refund to the wallet."""
    award = await conn.fetchrow(
        "SELECT a.*, t.amount FROM reward_award a JOIN money_transaction t ON t.id = a.payment_id "
        "WHERE a.payment_id = $1 FOR UPDATE OF a",
        payment_id,
    )
    if award is None:
        return  # not awarded yet: the worker awards on what is left
    share = Decimal(min(refunded_total, int(award["amount"]))) / int(award["amount"])
    user_id = int(award["user_id"])
    currency = Currency(award["currency"])
    cash_due = _floor(award["cashback"] * share) - int(award["cashback_reversed"])
    points_due = _floor(award["points"] * share) - int(award["points_reversed"])
    if cash_due > 0:
        money = Money(cash_due, currency)
        entry_id = await ledger.post_entry(
            conn,
            EntryDraft.transfer(
                "reward_reversal",
                await open_balance(conn, user_id, currency),
                await _expense(conn, currency),
                money,
                f"cashback back on refund of {payment_id}",
            ),
        )
        await transactions.record_completed(
            conn,
            transactions.NewTransaction(
                type=TransactionType.REVERSAL,
                amount=money,
                initiator_user_id=user_id,
                note="Cashback returned with a refund",
                reverses_id=award["cashback_transaction_id"],
            ),
            entry_id,
        )
        if int(award["cashback_reversed"]) + cash_due == int(award["cashback"]):
            await transactions.transition(
                conn,
                int(award["cashback_transaction_id"]),
                TransactionStatus.REVERSED,
                reason="payment refunded",
            )
    taken = 0
    if points_due > 0:
        account = await _points_account(conn, user_id)
        available = (await ledger.lock_accounts(conn, [account]))[account].available
        taken = min(points_due, max(available, 0))  # points already redeemed are forgone
        if taken > 0:
            await ledger.post_entry(
                conn,
                EntryDraft.transfer(
                    "reward_reversal",
                    account,
                    await _expense(conn, POINTS_CURRENCY),
                    Money(taken, POINTS_CURRENCY),
                    f"points back on refund of {payment_id}",
                ),
            )
    await conn.execute(
        "UPDATE reward_award SET cashback_reversed = cashback_reversed + $2, "
        "points_reversed = points_reversed + $3 WHERE payment_id = $1",
        payment_id,
        max(cash_due, 0),
        max(points_due, 0),
    )


async def award_on_event(event_id: int, rates: RateSnapshot, referral: ReferralRule) -> int:
    """Worker: rewards for a `transaction.updated` event of a completed payment, and the
    referral bonus the activity of either party may now earn."""
    payload = await event_payload(event_id)
    if payload is None or payload.get("status") != "completed":
        return 0
    done = 0
    for user_id in payload.get("user_ids", []):
        if await award_payment(int(user_id), int(payload["transaction_id"]), rates):
            done += 1
        if await referrals.settle(int(user_id), referral, rates) is ReferralStatus.PAID:
            done += 1
    return done


@dataclass(frozen=True, slots=True)
class Redemption:
    points: int
    amount: Money
    transaction_id: int


def _validate_redemption(actor: Actor, points: int) -> None:
    if points < MIN_REDEMPTION:
        raise RewardError("points", f"Redeem at least {MIN_REDEMPTION} points")


async def _redeem(conn: Connection, actor: Actor, points: int) -> Redemption:
    user_id = actor.require_user()
    amount = Money(points, POINTS_CURRENCY)
    try:
        entry_id = await ledger.post_entry(
            conn,
            EntryDraft.transfer(
                "points_redemption",
                await _points_account(conn, user_id),
                await open_balance(conn, user_id, POINTS_CURRENCY),
                amount,
                f"{points} points redeemed",
            ),
        )
    except InsufficientFunds as exc:
        raise RewardError("points", f"You have {max(exc.available, 0)} points") from None
    transaction_id, _ = await transactions.record_completed(
        conn,
        transactions.NewTransaction(
            type=TransactionType.REWARD,
            amount=amount,
            initiator_user_id=None,
            counterparty_user_id=user_id,
            note=f"Redeemed {points} points",
        ),
        entry_id,
    )
    await emit_many(conn, Topic.BALANCE_CHANGED, [{"user_id": user_id, "currency": "USD"}])
    return Redemption(points, amount, transaction_id)


async def _replay_redemption(
    conn: Connection, actor: Actor, points: int, stored: dict[str, Any]
) -> Redemption:
    return Redemption(points, Money(points, POINTS_CURRENCY), int(stored["transaction_id"]))


REDEEM_POINTS = Command[int, Redemption](
    name="redeemPoints",
    validate=_validate_redemption,
    fingerprint=lambda points: {"points": points},
    change=_redeem,
    response=lambda done: {"transaction_id": done.transaction_id},
    replay=_replay_redemption,
    refusals=(RewardError, AccountNotActive),
)


async def redeem_points(actor: Actor, points: int, idempotency_key: str) -> Redemption:
    """Turn points into wallet cash at 100 points = 1.00 USD, exactly once per key."""
    return await run(REDEEM_POINTS, actor, points, idempotency_key)


@dataclass(frozen=True, slots=True)
class Badge:
    code: str
    name: str
    earned: bool


@dataclass(frozen=True, slots=True)
class RewardsSummary:
    points: int
    tier: Tier
    volume_usd: int
    next_tier: Tier | None
    streak_days: int
    badges: list[Badge]
    cashback_this_month_usd: int
    awards: list[dict[str, Any]]


def streak(days: list[Any], today: Any) -> int:
    """Consecutive days with spending, ending today or yesterday."""
    seen = set(days)
    start = today if today in seen else today - timedelta(days=1)
    count = 0
    while start - timedelta(days=count) in seen:
        count += 1
    return count


async def summary(user_id: int, rates: RateSnapshot) -> RewardsSummary:
    async with connection() as conn:
        points_balance = await ledger.balance_of(
            conn, OwnerType.USER, user_id, POINTS_CURRENCY, POINTS_PURPOSE
        )
        points = 0 if points_balance is None else points_balance.posted
        volume = await volume_usd(conn, user_id, rates)
        days = await conn.fetch(
            "SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date AS day FROM money_transaction "
            "WHERE initiator_user_id = $1 AND type IN ('payment', 'send') AND status = 'completed' "
            "AND created_at >= now() - interval '90 days'",
            user_id,
        )
        flags = await conn.fetchrow(
            """
            SELECT
              EXISTS (SELECT 1 FROM money_transaction WHERE initiator_user_id = $1
                      AND type = 'payment' AND status IN ('completed', 'reversed'))
                  AS first_payment,
              EXISTS (SELECT 1 FROM money_transaction WHERE initiator_user_id = $1
                      AND type = 'savings') AS saver,
              EXISTS (SELECT 1 FROM money_transaction WHERE initiator_user_id = $1
                      AND (type = 'fx' OR counter_currency IS NOT NULL)) AS globetrotter,
              EXISTS (SELECT 1 FROM split_settlement WHERE from_user = $1 OR to_user = $1)
                  AS splitter,
              EXISTS (SELECT 1 FROM referral_bonus WHERE referrer_id = $1) AS connector
            """,
            user_id,
        )
        cashback_usd = await conn.fetchval(
            "SELECT coalesce(sum(cashback_usd), 0) FROM reward_award WHERE user_id = $1 "
            "AND created_at >= date_trunc('month', now())",
            user_id,
        )
        awards = await conn.fetch(
            "SELECT a.payment_id, a.points, a.points_reversed, a.cashback, a.cashback_reversed, "
            "a.currency, a.tier, m.name AS merchant FROM reward_award a "
            "JOIN money_transaction t ON t.id = a.payment_id "
            "LEFT JOIN merchant m ON m.id = t.merchant_id "
            "WHERE a.user_id = $1 ORDER BY a.created_at DESC LIMIT 10",
            user_id,
        )
    tier = tier_for(volume)
    higher = [t for t in TIERS if t.min_volume_usd > tier.min_volume_usd]
    today = datetime.now(UTC).date()
    current_streak = streak([r["day"] for r in days], today)
    badges = [
        Badge("first_payment", "First payment", bool(flags["first_payment"])),
        Badge("saver", "Saver", bool(flags["saver"])),
        Badge("globetrotter", "Globetrotter", bool(flags["globetrotter"])),
        Badge("splitter", "Bill splitter", bool(flags["splitter"])),
        Badge("connector", "Brought a friend", bool(flags["connector"])),
        Badge("streak_7", "7-day streak", current_streak >= 7),
        Badge("gold", "Gold tier", tier.name == "gold"),
    ]
    return RewardsSummary(
        points=points,
        tier=tier,
        volume_usd=volume,
        next_tier=higher[0] if higher else None,
        streak_days=current_streak,
        badges=badges,
        cashback_this_month_usd=int(cashback_usd),
        awards=[dict(a) for a in awards],
    )


async def published_rules() -> list[dict[str, Any]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT name, kind, category, min_amount_usd, points_per_usd, cashback_bps, "
            "cap_per_payment_usd, cap_per_month_usd FROM reward_rule WHERE active ORDER BY id"
        )
    return [dict(r) for r in rows]
