"""GraphQL surface of merchants' fees and settlement schedules for operators
(`wallet.merchants.operator_view`). Anyone without a ledger-reading operator role gets
null (the resolver never runs)."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from wallet.api.graphql.books import OperatorsOnly
from wallet.api.graphql.merchants.settlement import SettlementBatchType
from wallet.api.graphql.operators import LEDGER_READERS
from wallet.merchants import operator_view


@strawberry.type(description="A fixed fee per payment, in one currency.")
class MerchantFixedFee:
    currency: str
    amount: str = strawberry.field(description='e.g. "0.30".')


@strawberry.type(description="A merchant's fee rate, settlement schedule and latest batches.")
class MerchantFeeSchedule:
    id: strawberry.ID
    name: str
    status: str = strawberry.field(description="ACTIVE or SUSPENDED.")
    approval_status: str = strawberry.field(description="PENDING, APPROVED or REJECTED.")
    fee_percent_bp: int = strawberry.field(
        description="Of each payment, in basis points (290 is 2.9%), rounded half up."
    )
    fixed_fees: list[MerchantFixedFee] = strawberry.field(
        description="Per payment, in each currency that has one."
    )
    settlement_schedule: str = strawberry.field(description="DAILY or WEEKLY.")
    schedule_in_words: str
    next_settlement_due: datetime | None = strawberry.field(
        description="When it is next due (the hourly run after that pays it); null when it "
        "is not settled (suspended, not approved, or no payout account)."
    )
    last_batches: list[SettlementBatchType] = strawberry.field(
        description=f"Its newest settlement batches, at most {operator_view.LAST_BATCHES}."
    )

    @classmethod
    def of(cls, m: operator_view.MerchantFees, now: datetime) -> MerchantFeeSchedule:
        return cls(
            id=strawberry.ID(str(m.id)),
            name=m.name,
            status=m.status.upper(),
            approval_status=m.approval_status.upper(),
            fee_percent_bp=m.fee_percent_bp,
            fixed_fees=[
                MerchantFixedFee(currency=f.currency.value, amount=f.format()) for f in m.fixed_fees
            ],
            settlement_schedule=m.schedule.upper(),
            schedule_in_words=m.schedule_in_words,
            next_settlement_due=m.next_due(now),
            last_batches=[SettlementBatchType.from_domain(b) for b in m.batches],
        )


@strawberry.type
class OperatorFeeQuery:
    @strawberry.field(
        description="Operators: every merchant's fees and settlement schedule, by id "
        "(null otherwise).",
        extensions=[OperatorsOnly(LEDGER_READERS)],
    )
    async def merchant_fees(self, first: int = 100) -> list[MerchantFeeSchedule] | None:
        now = datetime.now(UTC)
        return [MerchantFeeSchedule.of(m, now) for m in await operator_view.merchant_fees(first)]
