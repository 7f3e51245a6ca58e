"""GraphQL surface of wallet.merchants.protection: buyer protection, delivery and
disputes, decided by mediators."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotFound,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.merchants.access import int_id, principal_for
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.merchants import protection
from wallet.merchants import service as merchants
from wallet.money import Currency, Money
from wallet.users.service import operator_role


@strawberry.type(name="Dispute")
class DisputeType:
    id: strawberry.ID
    payment_id: strawberry.ID
    amount: str
    currency: str
    reason: str
    status: str
    merchant_response: str | None
    refund_amount: str | None
    evidence: list[str]
    trail: list[str] = strawberry.field(description="Every step, oldest first.")


def _dispute_view(dispute: protection.Dispute) -> DisputeType:
    return DisputeType(
        id=strawberry.ID(str(dispute.id)),
        payment_id=strawberry.ID(str(dispute.payment_id)),
        amount=dispute.amount.format(),
        currency=dispute.amount.currency.value,
        reason=dispute.reason,
        status=dispute.status.upper(),
        merchant_response=dispute.merchant_response,
        refund_amount=dispute.refund_amount.format() if dispute.refund_amount else None,
        evidence=dispute.evidence,
        trail=[f"{action}: {detail}" for action, detail, _ in dispute.trail],
    )


@strawberry.input
class EvidenceFile:
    filename: str
    content_base64: str


@strawberry.type
class DisputePayload:
    dispute: DisputeType


@strawberry.type
class DeliveryConfirmedPayload:
    payment_id: strawberry.ID


DisputeResult = Annotated[DisputePayload | MoneyErrors, strawberry.union("DisputeResult")]
ConfirmDeliveryResult = Annotated[
    DeliveryConfirmedPayload | MoneyErrors, strawberry.union("ConfirmDeliveryResult")
]


@strawberry.type
class DisputeQuery:
    @strawberry.field(description="A dispute you are party to (buyer, merchant staff, mediator).")
    async def dispute(self, info: Info, id: strawberry.ID) -> DisputeType | None:
        found = await protection.get_dispute(int_id(id) or 0)
        if found is None:
            return None
        user = await info.context.viewer()
        staff = await info.context.merchant_principal(found.merchant_id)
        allowed = (user is not None and user.id == found.buyer_id) or (
            staff is not None and staff.may(merchants.Scope.PAYMENTS_READ)
        )
        if not allowed and user is not None:
            allowed = (await operator_role(user.id)) in protection.MEDIATORS
        return _dispute_view(found) if allowed else None


def _disputes(found: list[protection.Dispute]) -> list[DisputeType]:
    return [_dispute_view(d) for d in found]


@strawberry.type
class DisputeListQuery:
    @strawberry.field(description="Staff or API key: the merchant's disputes, newest first.")
    async def merchant_disputes(
        self, info: Info, merchant_id: strawberry.ID
    ) -> list[DisputeType] | None:
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        return _disputes(await protection.disputes(merchant_id=principal.merchant_id))

    @strawberry.field(description="Mediators: disputes waiting for a decision.")
    async def disputes_to_decide(self, info: Info) -> list[DisputeType] | None:
        user = await info.context.viewer()
        if user is None or (await operator_role(user.id)) not in protection.MEDIATORS:
            return None
        return _disputes(await protection.disputes(undecided=True))


@strawberry.type
class DisputeMutation:
    @strawberry.mutation(description="Buyer: the goods arrived; release the money now.")
    async def confirm_delivery(
        self, info: Info, payment_id: strawberry.ID
    ) -> ConfirmDeliveryResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            await protection.confirm_delivery(user.id, int_id(payment_id) or 0)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return DeliveryConfirmedPayload(payment_id=payment_id)

    @strawberry.mutation(description="Buyer: dispute a payment within the protection window.")
    async def open_dispute(
        self, info: Info, payment_id: strawberry.ID, reason: str
    ) -> DisputeResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        days = info.context.services.settings.merchants.buyer_protection_days
        try:
            dispute_id = await protection.open_dispute(
                user.id, int_id(payment_id) or 0, reason, timedelta(days=days)
            )
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        found = await protection.get_dispute(dispute_id)
        assert found is not None
        return DisputePayload(dispute=_dispute_view(found))

    @strawberry.mutation(description="Merchant: answer a dispute with a statement and files.")
    async def respond_to_dispute(
        self,
        info: Info,
        dispute_id: strawberry.ID,
        response: str,
        files: list[EvidenceFile] | None = None,
    ) -> DisputeResult:
        found = await protection.get_dispute(int_id(dispute_id) or 0)
        principal = await info.context.merchant_principal(found.merchant_id if found else None)
        if found is None or principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such dispute for you")
        try:
            decoded = [(f.filename, base64.b64decode(f.content_base64)) for f in files or []]
        except ValueError:
            return validation_error("files", "INVALID", "Files must be base64")
        try:
            await protection.respond(principal, found.id, response, decoded)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        updated = await protection.get_dispute(found.id)
        assert updated is not None
        return DisputePayload(dispute=_dispute_view(updated))

    @strawberry.mutation(description="Mediator: refund the buyer (0 to all), the rest is released.")
    async def decide_dispute(
        self, info: Info, dispute_id: strawberry.ID, refund_amount: str
    ) -> DisputeResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        role = await operator_role(user.id)
        try:
            found = await protection.dispute_to_decide(role, int_id(dispute_id) or 0)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        refund_money = parse_amount(refund_amount, found.amount.currency.value)
        if not isinstance(refund_money, Money):
            return refund_money
        try:
            await protection.decide(user.id, role, found.id, refund_money)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        updated = await protection.get_dispute(found.id)
        assert updated is not None
        return DisputePayload(dispute=_dispute_view(updated))
