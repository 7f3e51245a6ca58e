"""GraphQL surface of person-to-person transfers: `sendMoney`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    not_authenticated,
)
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.security import large_amount_check, payment_screening
from wallet.api.graphql.throttle import money_throttle
from wallet.money import Currency, Money
from wallet.transfers.models import SendMoney, TransferReceipt
from wallet.transfers.preview import preview_send
from wallet.transfers.service import send_money


@strawberry.type(name="Transfer")
class TransferType:
    id: strawberry.ID
    status: str
    amount: str
    currency: str
    note: str
    recipient_username: str | None = strawberry.field(
        description="Null when the recipient has no wallet yet (see recipientContact)."
    )
    recipient_contact: str | None = strawberry.field(
        description="The phone or email the money waits for, when it is not claimed yet."
    )
    created_at: datetime
    received_amount: str | None = strawberry.field(
        default=None, description="What the recipient got, when in another currency."
    )
    received_currency: str | None = None

    @classmethod
    def from_receipt(cls, r: TransferReceipt) -> TransferType:
        return cls(
            id=strawberry.ID(str(r.transaction_id)),
            status=r.status.upper(),
            amount=Money(r.amount_minor, Currency(r.currency)).format(),
            currency=r.currency,
            note=r.note,
            recipient_username=r.recipient_username,
            recipient_contact=r.recipient_contact,
            created_at=datetime.fromisoformat(r.created_at),
            received_amount=(
                Money(r.received_minor, Currency(r.received_currency)).format()
                if r.received_minor is not None and r.received_currency
                else None
            ),
            received_currency=r.received_currency,
        )


@strawberry.input
class SendMoneyInput:
    recipient: str = strawberry.field(description="Phone number, email or @username.")
    amount: str = strawberry.field(description='Decimal string, e.g. "12.34".')
    currency: str = "USD"
    note: str = ""
    idempotency_key: str
    quote_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An FX quote (fxQuote) selling exactly this amount: the recipient gets "
        "its buy currency.",
    )


@strawberry.type
class SendMoneyPayload:
    transfer: TransferType


SendMoneyResult = Annotated[SendMoneyPayload | MoneyErrors, strawberry.union("SendMoneyResult")]


@strawberry.input
class SendPreviewInput:
    recipient: str = strawberry.field(description="Phone number, email or @username.")
    amount: str
    currency: str = "USD"
    quote_id: strawberry.ID | None = None


@strawberry.type(
    name="SendPreview",
    description="The review of a send before Confirm: nothing has moved.",
)
class SendPreviewType:
    recipient: str = strawberry.field(description='"@ann", or the phone or email.')
    username: str | None = strawberry.field(
        description="A registered recipient's, when a @username was given."
    )
    amount: str
    currency: str
    fee: str
    receives: str = strawberry.field(description="What arrives, in receivesCurrency.")
    receives_currency: str
    rate: str | None = strawberry.field(
        description="Cross-currency: what 1 unit sent buys (6 significant digits)."
    )
    arrives: str = strawberry.field(description="When the money arrives, in plain words.")
    balance_after: str = strawberry.field(description="Your available balance afterwards.")


SendPreviewResult = Annotated[SendPreviewType | MoneyErrors, strawberry.union("SendPreviewResult")]


@strawberry.type
class TransferQuery:
    @strawberry.field(
        description="Review a send before it is made: recipient, fee, what they get, when, "
        "and your balance after; or the refusal the send would get."
    )
    async def send_preview(self, info: Info, input: SendPreviewInput) -> SendPreviewResult:
        session = await info.context.session()
        if session is None:
            return not_authenticated()
        amount = parse_amount(input.amount, input.currency)
        if not isinstance(amount, Money):
            return amount
        try:
            found = await preview_send(
                session.user_id,
                input.recipient,
                amount,
                None if input.quote_id is None else str(input.quote_id),
            )
        except REFUSALS as exc:
            return refusal(exc, amount.currency)
        return SendPreviewType(
            recipient=found.recipient,
            username=found.username,
            amount=found.amount.format(),
            currency=found.amount.currency.value,
            fee=found.fee.format(),
            receives=found.receives.format(),
            receives_currency=found.receives.currency.value,
            rate=None if found.rate is None else f"{found.rate:.6g}",
            arrives=found.arrives,
            balance_after=found.balance_after.format(),
        )


@strawberry.type
class TransferMutation:
    @strawberry.mutation(
        description="Send money now. To a phone or email with no wallet yet, the money waits "
        "(PENDING) until they sign up and verify it, or comes back after some days."
    )
    async def send_money(self, info: Info, input: SendMoneyInput) -> SendMoneyResult:
        # The session names the sender; the batch reads their wallet under its lock (a
        # closed account's wallet is closed too), so no user row is read here.
        session = await info.context.session()
        if session is None:
            return not_authenticated()
        if throttled := await money_throttle(info, session.user_id):
            return throttled
        amount = parse_amount(input.amount, input.currency)
        if not isinstance(amount, Money):
            return amount
        services = info.context.services
        settings = services.settings
        try:
            rates = await services.fx.provider.snapshot()
            large = await large_amount_check(info)
            receipt = await send_money(
                SendMoney(
                    session.user_id,
                    input.recipient,
                    amount,
                    input.note,
                    input.idempotency_key,
                    claim_days=settings.transfers.unclaimed_transfer_days,
                    quote_id=None if input.quote_id is None else str(input.quote_id),
                    rates=rates,
                    risk=payment_screening(info, large),
                    large_amount=large,
                    cross_border_threshold=settings.limits.cross_border_full_kyc,
                )
            )
        except REFUSALS as exc:
            return refusal(exc, amount.currency)
        return SendMoneyPayload(transfer=TransferType.from_receipt(receipt))
