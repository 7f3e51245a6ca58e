"""GraphQL surface of a merchant's fee rate, which admins set."""

from __future__ import annotations

from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ValidationError,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.merchants.access import int_id
from wallet.api.graphql.refusals import parse_amount
from wallet.merchants import service as merchants
from wallet.money import Currency, Money
from wallet.users.service import operator_role


@strawberry.input
class FixedFeeInput:
    currency: str
    amount: str = strawberry.field(description='Per payment, e.g. "0.30".')


@strawberry.type
class FeesPayload:
    merchant_id: strawberry.ID
    percent_bp: int


FeesResult = Annotated[
    FeesPayload | ValidationError | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("FeesResult"),
]


@strawberry.type
class FeeMutation:
    @strawberry.mutation(description="Admins: a merchant's fee rate (basis points + fixed).")
    async def set_merchant_fees(
        self,
        info: Info,
        merchant_id: strawberry.ID,
        percent_bp: int,
        fixed: list[FixedFeeInput],
    ) -> FeesResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        if await operator_role(user.id) != "admin":
            return Forbidden(code=ErrorCode.FORBIDDEN, message="Admins only")
        amounts: dict[Currency, int] = {}
        for fee in fixed:
            money = parse_amount(fee.amount, fee.currency)
            if not isinstance(money, Money):
                return money
            amounts[money.currency] = money.amount_minor
        try:
            await merchants.set_fees(int_id(merchant_id) or 0, percent_bp, amounts)
        except merchants.InvalidMerchantDetails as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        except merchants.MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant")
        return FeesPayload(merchant_id=merchant_id, percent_bp=percent_bp)
