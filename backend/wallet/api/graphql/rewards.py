"""GraphQL surface of rewards: points, tier, streak, badges, awards, redeeming points,
and referrals (your code, the friends who joined with it, entering a friend's code)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    NotAuthenticated,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, refusal
from wallet.money import Currency, Money
from wallet.rewards import referrals, service


def _usd(cents: int) -> str:
    return Money(cents, Currency.USD).format()


@strawberry.type(name="RewardTier")
class RewardTierType:
    name: str
    points_multiplier: str
    min_volume_usd: str


@strawberry.type(name="Badge")
class BadgeType:
    code: str
    name: str
    earned: bool


@strawberry.type(name="RewardAward", description="What one payment earned.")
class RewardAwardType:
    payment_id: strawberry.ID
    merchant: str | None
    points: int
    points_reversed: int
    cashback: str
    cashback_reversed: str
    currency: str
    tier: str


@strawberry.type(name="RewardRule", description="A published earning rule.")
class RewardRuleType:
    name: str
    kind: str
    category: str | None
    min_amount_usd: str
    points_per_usd: str
    cashback_percent: str
    cap_per_payment_usd: str | None
    cap_per_month_usd: str | None


@strawberry.type(name="ReferralAmount")
class ReferralAmountType:
    amount: str
    currency: str

    @classmethod
    def of(cls, money: Money) -> ReferralAmountType:
        return cls(amount=money.format(), currency=money.currency.value)


@strawberry.type(name="ReferralTerms", description="What a referral pays, and for what.")
class ReferralTermsType:
    referrer_bonus: ReferralAmountType = strawberry.field(description="For the one who invited.")
    referred_bonus: ReferralAmountType = strawberry.field(description="For the friend who joined.")
    minimum: ReferralAmountType = strawberry.field(
        description="The friend's first top-up, send or payment must be at least this."
    )
    days: int = strawberry.field(description="Within this many days of joining (verified too).")
    summary: str = strawberry.field(description="The terms in a sentence.")

    @classmethod
    def of(cls, rule: referrals.ReferralRule) -> ReferralTermsType:
        return cls(
            referrer_bonus=ReferralAmountType.of(rule.referrer_bonus),
            referred_bonus=ReferralAmountType.of(rule.referred_bonus),
            minimum=ReferralAmountType.of(rule.minimum),
            days=rule.days,
            summary=referrals.terms_text(rule),
        )


@strawberry.enum(name="ReferralStatus")
class ReferralStatusType(Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting for the friend to qualify.")
    PAID = strawberry.enum_value("paid", description="Both bonuses were paid.")
    NOT_ELIGIBLE = strawberry.enum_value(
        "refused", description="This referral does not earn a bonus."
    )
    EXPIRED = strawberry.enum_value("expired", description="The friend did not qualify in time.")


@strawberry.type(name="ReferredFriend")
class ReferredFriendType:
    username: str
    status: ReferralStatusType
    joined_at: datetime


@strawberry.type(name="ReferralProgram")
class ReferralProgramType:
    code: str = strawberry.field(description="Your invitation code; your link is /?ref=<code>.")
    invited_by: str | None = strawberry.field(description="Who invited you (username).")
    can_enter_code: bool = strawberry.field(
        description="Whether you may still enter a friend's code (applyReferralCode)."
    )
    terms: ReferralTermsType
    friends: list[ReferredFriendType] = strawberry.field(
        description="Who joined with your code, newest first (50 at most)."
    )


@strawberry.type(name="Rewards")
class RewardsType:
    points: int
    points_value_usd: str = strawberry.field(description="At 100 points = 1.00 USD.")
    tier: RewardTierType
    next_tier: RewardTierType | None
    volume_usd: str = strawberry.field(description="Paid and sent over the last 30 days.")
    streak_days: int
    badges: list[BadgeType]
    cashback_this_month_usd: str
    recent_awards: list[RewardAwardType]
    rules: list[RewardRuleType]
    referral: ReferralProgramType


def _tier(t: service.Tier) -> RewardTierType:
    return RewardTierType(
        name=t.name, points_multiplier=str(t.multiplier), min_volume_usd=_usd(t.min_volume_usd)
    )


@strawberry.type
class RedeemPointsPayload:
    points: int
    amount: str
    currency: str
    transaction_id: strawberry.ID


RedeemPointsResult = Annotated[
    RedeemPointsPayload | MoneyErrors, strawberry.union("RedeemPointsResult")
]


@strawberry.type
class ApplyReferralCodePayload:
    invited_by: str
    terms: ReferralTermsType


ApplyReferralCodeResult = Annotated[
    ApplyReferralCodePayload | ValidationError | NotAuthenticated,
    strawberry.union("ApplyReferralCodeResult"),
]


def _program(p: referrals.Program, rule: referrals.ReferralRule) -> ReferralProgramType:
    return ReferralProgramType(
        code=p.code,
        invited_by=p.invited_by,
        can_enter_code=p.can_enter_code,
        terms=ReferralTermsType.of(rule),
        friends=[
            ReferredFriendType(
                username=f.username,
                status=ReferralStatusType(f.status.value),
                joined_at=f.joined_at,
            )
            for f in p.friends
        ],
    )


@strawberry.type
class RewardsQuery:
    @strawberry.field(
        description="Your points, tier, streak, badges and recent awards.",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def rewards(self, info: Info) -> RewardsType | None:
        user = await info.context.require_viewer()
        rates = await info.context.services.fx.provider.snapshot()
        s = await service.summary(user.id, rates)
        rules = await service.published_rules()
        rule = info.context.services.referral_rule
        program = await referrals.program(user.id, rule)
        return RewardsType(
            points=s.points,
            points_value_usd=_usd(s.points),
            tier=_tier(s.tier),
            next_tier=_tier(s.next_tier) if s.next_tier else None,
            volume_usd=_usd(s.volume_usd),
            streak_days=s.streak_days,
            badges=[BadgeType(code=b.code, name=b.name, earned=b.earned) for b in s.badges],
            cashback_this_month_usd=_usd(s.cashback_this_month_usd),
            recent_awards=[
                RewardAwardType(
                    payment_id=strawberry.ID(str(a["payment_id"])),
                    merchant=a["merchant"],
                    points=int(a["points"]),
                    points_reversed=int(a["points_reversed"]),
                    cashback=Money(int(a["cashback"]), Currency(a["currency"])).format(),
                    cashback_reversed=Money(
                        int(a["cashback_reversed"]), Currency(a["currency"])
                    ).format(),
                    currency=a["currency"],
                    tier=a["tier"],
                )
                for a in s.awards
            ],
            rules=[
                RewardRuleType(
                    name=r["name"],
                    kind=r["kind"],
                    category=r["category"],
                    min_amount_usd=_usd(int(r["min_amount_usd"])),
                    points_per_usd=str(r["points_per_usd"].normalize()),
                    cashback_percent=str((Decimal(r["cashback_bps"]) / 100).normalize()),
                    cap_per_payment_usd=(
                        _usd(int(r["cap_per_payment_usd"]))
                        if r["cap_per_payment_usd"] is not None
                        else None
                    ),
                    cap_per_month_usd=(
                        _usd(int(r["cap_per_month_usd"]))
                        if r["cap_per_month_usd"] is not None
                        else None
                    ),
                )
                for r in rules
            ],
            referral=_program(program, rule),
        )

    @strawberry.field(
        description="What inviting a friend pays (no login needed: sign-up shows it)."
    )
    def referral_terms(self, info: Info) -> ReferralTermsType:
        return ReferralTermsType.of(info.context.services.referral_rule)


@strawberry.type
class RewardsMutation:
    @strawberry.mutation(
        description="Turn points into wallet cash (100 points = 1.00 USD).", extensions=[SignedIn()]
    )
    async def redeem_points(
        self, info: Info, points: int, idempotency_key: str
    ) -> RedeemPointsResult:
        try:
            actor = await info.context.actor()
            assert actor is not None
            done = await service.redeem_points(actor, points, idempotency_key)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return RedeemPointsPayload(
            points=done.points,
            amount=done.amount.format(),
            currency=done.amount.currency.value,
            transaction_id=strawberry.ID(str(done.transaction_id)),
        )

    @strawberry.mutation(
        description="Join with a friend's invitation code after signing up (within the "
        "referral window, if you did not join with one).",
        extensions=[SignedIn()],
    )
    async def apply_referral_code(self, info: Info, code: str) -> ApplyReferralCodeResult:
        ctx = info.context
        user = await ctx.require_viewer()
        rule = ctx.services.referral_rule
        try:
            inviter = await referrals.enter_code(
                user.id,
                rule,
                code,
                ctx.risk_context().device,
                await ctx.services.fx.provider.snapshot(),
            )
        except referrals.ReferralRefused as exc:
            return validation_error("code", exc.code, str(exc))
        return ApplyReferralCodePayload(invited_by=inviter, terms=ReferralTermsType.of(rule))
