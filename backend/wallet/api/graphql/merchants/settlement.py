"""GraphQL surface of wallet.merchants.settlement: batches and their reports."""

from __future__ import annotations

from datetime import datetime

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.merchants.access import int_id, principal_for
from wallet.merchants import service as merchants
from wallet.merchants import settlement
from wallet.merchants.settlement import Batch


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


@strawberry.type
class SettlementQuery:
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
