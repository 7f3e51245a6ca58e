"""GraphQL surface of wallet.merchants.settlement: batches and their reports."""

from __future__ import annotations

from datetime import datetime

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.merchants.access import int_id, principal_for
from wallet.merchants import service as merchants
from wallet.merchants import settlement
from wallet.merchants.settlement import Batch, PayoutPreview


@strawberry.type(name="SettlementBatch")
class SettlementBatchType:
    id: strawberry.ID
    currency: str
    payments: int
    gross: str
    fee: str
    net: str
    payout_status: str
    created_at: datetime

    @classmethod
    def from_domain(cls, b: Batch) -> SettlementBatchType:
        return cls(
            id=strawberry.ID(str(b.id)),
            currency=b.currency.value,
            payments=b.payments,
            gross=b.gross.format(),
            fee=b.fee.format(),
            net=b.net.format(),
            payout_status=b.payout_status.upper(),
            created_at=b.created_at,
        )


@strawberry.type(
    name="PayoutPreview",
    description="The next payout in one currency, if it ran now: when, and the amount less fees.",
)
class PayoutPreviewType:
    currency: str
    at: datetime | None = strawberry.field(
        description="When the next batch runs; null until the merchant is approved with a "
        "settlement account."
    )
    payments: int = strawberry.field(description="Payments since the last batch.")
    gross: str = strawberry.field(description="Payments less refunds since the last batch.")
    fee: str
    net: str = strawberry.field(description="What would be paid out: the balance less the fee.")

    @classmethod
    def from_domain(cls, p: PayoutPreview) -> PayoutPreviewType:
        return cls(
            currency=p.currency.value,
            at=p.at,
            payments=p.payments,
            gross=p.gross.format(),
            fee=p.fee.format(),
            net=p.net.format(),
        )


@strawberry.type
class SettlementQuery:
    @strawberry.field(
        description="Staff or API key with payments:read: the next payout per currency "
        "(date, amount less fees)."
    )
    async def next_payouts(
        self, info: Info, merchant_id: strawberry.ID
    ) -> list[PayoutPreviewType] | None:
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        previews = await settlement.payout_preview(principal)
        return [PayoutPreviewType.from_domain(p) for p in previews]

    @strawberry.field(description="Owner or API key: settlement batches, newest first.")
    async def settlement_batches(
        self, info: Info, merchant_id: strawberry.ID
    ) -> list[SettlementBatchType] | None:
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        return [SettlementBatchType.from_domain(b) for b in await settlement.batches_of(principal)]

    @strawberry.field(description="Owner or API key: a batch's report as CSV.")
    async def settlement_report(
        self, info: Info, merchant_id: strawberry.ID, batch_id: strawberry.ID
    ) -> str | None:
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        try:
            return await settlement.report_csv(principal, int_id(batch_id) or 0)
        except merchants.MerchantNotFound:
            return None
