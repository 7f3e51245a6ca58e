"""GraphQL surface of wallet.merchants.checkout: payment requests (QR/NFC), paying them
with the transaction PIN, refunds, sales and balances, and the POS subscription.

A payment request's GraphQL `id` is its unguessable reference; a payer sees only a
`PayableRequest` (merchant, amount, description) while it can be paid."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotFound,
    PublicError,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.insights import BudgetImpactType
from wallet.api.graphql.merchants.access import int_id, principal_for
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.throttle import money_throttle
from wallet.merchants import checkout, emvco
from wallet.merchants import service as merchants
from wallet.merchants.errors import (
    MerchantNotFound,
    PaymentRequestNotFound,
)
from wallet.money import Currency, Money, UnknownCurrency


@strawberry.type(
    name="PaymentRequest",
    description="A payment request as its merchant sees it; `id` is its unguessable "
    "reference (the code under the QR).",
)
class PaymentRequestType:
    id: strawberry.ID
    merchant_name: str
    amount: str | None = strawberry.field(description="Null for a static code.")
    currency: str
    order_id: str | None
    description: str
    status: str
    transaction_id: strawberry.ID | None
    expires_at: datetime | None
    return_url: str | None = strawberry.field(
        description="Online checkout: the merchant page the customer returns to."
    )
    qr_payload: str = strawberry.field(description="EMVCo merchant-presented QR payload.")
    ndef_record: str = strawberry.field(description="NDEF URI record (hex) for NFC.")
    pay_url: str
    merchant_id: strawberry.Private[int]
    payment_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The sale that paid this request (amount, time, payer, what was "
        "refunded); null until it is paid, and for a static code."
    )
    async def sale(self) -> MerchantSaleType | None:
        # The request itself was only ever given to its merchant's staff or keys.
        if self.payment_id is None:
            return None
        found = await checkout.sale_of(self.merchant_id, self.payment_id)
        return None if found is None else MerchantSaleType.from_domain(found)

    @classmethod
    def from_domain(cls, r: checkout.PaymentRequest, base_url: str) -> PaymentRequestType:
        pay_url = f"{base_url}/?pay={r.reference}"
        return cls(
            merchant_id=r.merchant_id,
            payment_id=r.transaction_id,
            id=strawberry.ID(r.reference),
            merchant_name=r.merchant_name,
            amount=r.amount.format() if r.amount else None,
            currency=r.currency.value,
            order_id=r.order_id,
            description=r.description,
            status=r.status.upper(),
            transaction_id=strawberry.ID(str(r.transaction_id)) if r.transaction_id else None,
            expires_at=r.expires_at,
            return_url=r.return_url,
            qr_payload=r.qr_payload(),
            ndef_record=emvco.ndef_uri_record(pay_url).hex(),
            pay_url=pay_url,
        )


@strawberry.type(
    name="PayableRequest",
    description="A payment request as a payer sees it, only while it can be paid.",
)
class PayableRequestType:
    id: strawberry.ID = strawberry.field(description="The reference to pay it with.")
    merchant_name: str
    amount: str | None = strawberry.field(description="Null for a static code: you type it.")
    currency: str
    description: str

    @classmethod
    def from_domain(cls, r: checkout.PayableRequest) -> PayableRequestType:
        return cls(
            id=strawberry.ID(r.reference),
            merchant_name=r.merchant_name,
            amount=r.amount.format() if r.amount else None,
            currency=r.currency.value,
            description=r.description,
        )


@strawberry.input
class CreatePaymentRequestInput:
    merchant_id: strawberry.ID
    amount: str | None = strawberry.field(default=None, description="Omit for a static code.")
    currency: str = "USD"
    order_id: str | None = None
    description: str = ""
    expires_in_minutes: int = 15
    return_url: str | None = strawberry.field(
        default=None, description="Online checkout: send the customer back here after paying."
    )


@strawberry.type
class PaymentRequestPayload:
    request: PaymentRequestType


PaymentRequestResult = Annotated[
    PaymentRequestPayload | MoneyErrors, strawberry.union("PaymentRequestResult")
]


@strawberry.input
class PayPaymentRequestInput:
    request_id: strawberry.ID = strawberry.field(description="The request's reference.")
    amount: str | None = strawberry.field(default=None, description="Only for a static code.")
    pin: str
    idempotency_key: str
    override_budget: bool = strawberry.field(
        default=False,
        description="The payer confirmed it again after BudgetWouldBeExceeded (same key).",
    )


@strawberry.type
class MerchantPaymentType:
    transaction_id: strawberry.ID
    amount: str
    currency: str
    merchant_name: str
    order_id: str | None
    return_url: str | None = strawberry.field(
        description="Online checkout: the shop's page to go back to now."
    )


@strawberry.type
class PayPaymentRequestPayload:
    payment: MerchantPaymentType


PayPaymentRequestResult = Annotated[
    PayPaymentRequestPayload | MoneyErrors, strawberry.union("PayPaymentRequestResult")
]


OWNER_PIN_HELP = (
    "A cashier's refund needs the PIN of the shop's owner of record, typed at the till; "
    "owners and API keys with refunds:write leave it out."
)


@strawberry.input
class RefundPaymentInput:
    merchant_id: strawberry.ID
    transaction_id: strawberry.ID
    amount: str
    idempotency_key: str
    owner_pin: str | None = strawberry.field(default=None, description=OWNER_PIN_HELP)


@strawberry.input
class RefundPaymentRequestInput:
    request_id: strawberry.ID = strawberry.field(
        description="The payment request's reference: its payment is refunded, no other."
    )
    amount: str | None = strawberry.field(
        default=None, description="Omit to refund all that is left of the sale."
    )
    idempotency_key: str
    owner_pin: str | None = strawberry.field(default=None, description=OWNER_PIN_HELP)


@strawberry.type
class RefundPayload:
    refund_transaction_id: strawberry.ID
    amount: str
    refunded_total: str
    fully_refunded: bool


RefundResult = Annotated[RefundPayload | MoneyErrors, strawberry.union("RefundResult")]


@strawberry.type(name="MerchantSale")
class MerchantSaleType:
    transaction_id: strawberry.ID
    amount: str
    refunded: str
    currency: str
    status: str
    order_id: str | None
    note: str
    created_at: datetime
    refundable: str = strawberry.field(
        description="What is left to refund: 0 unless the sale is COMPLETED."
    )
    payer_name: str = strawberry.field(
        description="Who paid, as a merchant may see them: their @username only."
    )
    request_id: strawberry.ID | None = strawberry.field(
        description="The payment request this sale paid (its reference); null for a "
        "static code's payments and for bills."
    )
    sequence: str | None = strawberry.field(
        default=None,
        description="merchantSales only: the id of the event that told of this change.",
    )

    @classmethod
    def from_domain(cls, s: checkout.Sale) -> MerchantSaleType:
        return cls(
            transaction_id=strawberry.ID(str(s.transaction_id)),
            amount=s.amount.format(),
            refunded=s.refunded.format(),
            refundable=s.refundable.format(),
            currency=s.amount.currency.value,
            status=s.status.upper(),
            order_id=s.order_id,
            note=s.note,
            created_at=s.created_at,
            payer_name=s.payer_name,
            request_id=strawberry.ID(s.request_reference) if s.request_reference else None,
        )


@strawberry.type(name="MerchantBalance")
class MerchantBalanceType:
    currency: str
    available: str
    paying_out: str


def _base_url(info: Info) -> str:
    request = info.context.request
    return str(request.base_url).rstrip("/") if request is not None else ""


async def _payable(reference: str) -> PayableRequestType | None:
    try:
        return PayableRequestType.from_domain(await checkout.payable_request(reference))
    except PaymentRequestNotFound:
        return None


@strawberry.type
class CheckoutQuery:
    @strawberry.field(description="Staff or API key: what the merchant holds, per currency.")
    async def merchant_balances(
        self, info: Info, merchant_id: strawberry.ID
    ) -> list[MerchantBalanceType] | None:
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        return [
            MerchantBalanceType(
                currency=available.currency.value,
                available=available.format(),
                paying_out=out.format(),
            )
            for available, out in await checkout.payable_balances(principal)
        ]

    @strawberry.field(description="Staff or API key: recent payments and their refunds.")
    async def merchant_payments(
        self, info: Info, merchant_id: strawberry.ID, first: int = 50
    ) -> list[MerchantSaleType] | None:
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        return [MerchantSaleType.from_domain(s) for s in await checkout.sales_of(principal, first)]

    @strawberry.field(
        description="A payment request to pay, by its reference; null unless it can be paid."
    )
    async def payment_request(self, info: Info, reference: str) -> PayableRequestType | None:
        if await info.context.viewer() is None:
            return None
        return await _payable(reference)

    @strawberry.field(
        description="What paying a request (with `amount` for a static code) would do to "
        "your budget of its category; null when no budget covers it."
    )
    async def payment_budget_impact(
        self, info: Info, reference: str, amount: str | None = None
    ) -> BudgetImpactType | None:
        user = await info.context.viewer()
        found = await checkout.find_request(reference) if user is not None else None
        if user is None or found is None:
            return None
        offered = None if amount is None else parse_amount(amount, found.currency.value)
        if offered is not None and not isinstance(offered, Money):
            return None
        impact = await checkout.budget_impact(user.id, found, offered)
        return None if impact is None else BudgetImpactType.from_domain(impact)

    @strawberry.field(description="The payment request a scanned QR payload points to.")
    async def scan_payment_qr(self, info: Info, payload: str) -> PayableRequestType | None:
        if await info.context.viewer() is None:
            return None
        try:
            qr = emvco.decode(payload.strip())
        except emvco.InvalidPayload:
            return None
        return await _payable(qr.reference)

    @strawberry.field(description="Staff or API key: one of your payment requests, in full.")
    async def merchant_payment_request(
        self, info: Info, reference: str
    ) -> PaymentRequestType | None:
        found = await checkout.find_request(reference)
        principal = await info.context.merchant_principal(found.merchant_id if found else None)
        if found is None or principal is None:
            return None
        try:
            mine = await checkout.request_for_merchant(principal, found.reference)
        except (merchants.NotAllowed, PaymentRequestNotFound):
            return None
        return PaymentRequestType.from_domain(mine, _base_url(info))


@strawberry.type
class CheckoutMutation:
    @strawberry.mutation(description="Staff or API key: ask a customer to pay (QR/NFC).")
    async def create_payment_request(
        self, info: Info, input: CreatePaymentRequestInput
    ) -> PaymentRequestResult:
        principal = await principal_for(info, input.merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        try:
            currency = Currency.parse(input.currency)
        except UnknownCurrency as exc:
            return validation_error("currency", "INVALID", str(exc))
        amount: Money | None = None
        if input.amount is not None:
            parsed = parse_amount(input.amount, input.currency)
            if not isinstance(parsed, Money):
                return parsed
            amount = parsed
        try:
            created = await checkout.create_request(
                principal,
                checkout.NewPaymentRequest(
                    currency=currency,
                    amount=amount,
                    order_id=input.order_id,
                    description=input.description,
                    expires_in=timedelta(minutes=input.expires_in_minutes),
                    return_url=input.return_url,
                ),
            )
        except REFUSALS as exc:
            return refusal(exc, currency)
        return PaymentRequestPayload(
            request=PaymentRequestType.from_domain(created, _base_url(info))
        )

    @strawberry.mutation(description="Pay a merchant's request; confirm with your PIN.")
    async def pay_payment_request(
        self, info: Info, input: PayPaymentRequestInput
    ) -> PayPaymentRequestResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        if throttled := await money_throttle(info, user.id):
            return throttled
        request = await checkout.find_request(str(input.request_id))
        if request is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such payment request")
        amount: Money | None = None
        if input.amount is not None:
            parsed = parse_amount(input.amount, request.currency.value)
            if not isinstance(parsed, Money):
                return parsed
            amount = parsed
        try:
            actor = await info.context.actor()
            assert actor is not None
            paid = await checkout.pay_request(
                actor,
                checkout.PayRequest(
                    request.reference, amount, input.pin, override_budget=input.override_budget
                ),
                input.idempotency_key,
            )
        except REFUSALS as exc:
            return refusal(exc, request.currency)
        return PayPaymentRequestPayload(
            payment=MerchantPaymentType(
                transaction_id=strawberry.ID(str(paid.transaction_id)),
                amount=paid.amount.format(),
                currency=paid.amount.currency.value,
                merchant_name=paid.merchant_name,
                order_id=paid.order_id,
                return_url=paid.return_url,
            )
        )

    @strawberry.mutation(
        description="Owner, API key, or cashier with the owner's PIN: refund all or part "
        "of a payment."
    )
    async def refund_payment(self, info: Info, input: RefundPaymentInput) -> RefundResult:
        principal = await principal_for(info, input.merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        payment_id = int_id(input.transaction_id)
        if payment_id is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such payment")
        try:
            currency = Currency.parse(
                (await checkout.payment_currency(payment_id)) or Currency.USD.value
            )
            amount = parse_amount(input.amount, currency.value)
            if not isinstance(amount, Money):
                return amount
            done = await checkout.refund(
                principal, payment_id, amount, input.idempotency_key, input.owner_pin
            )
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return _refunded(done)

    @strawberry.mutation(
        description="Owner, API key, or cashier with the owner's PIN: refund the payment "
        "of one payment request (the till's), and nothing else; a request no one has "
        "paid is refused (NOT_PAID)."
    )
    async def refund_payment_request(
        self, info: Info, input: RefundPaymentRequestInput
    ) -> RefundResult:
        found = await checkout.find_request(str(input.request_id))
        principal = await info.context.merchant_principal(found.merchant_id if found else None)
        if found is None or principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such payment request for you")
        amount: Money | None = None
        if input.amount is not None:
            parsed = parse_amount(input.amount, found.currency.value)
            if not isinstance(parsed, Money):
                return parsed
            amount = parsed
        try:
            done = await checkout.refund_request(
                principal, found.reference, amount, input.idempotency_key, input.owner_pin
            )
        except REFUSALS as exc:
            return refusal(exc, found.currency)
        return _refunded(done)


def _refunded(done: checkout.Refund) -> RefundPayload:
    return RefundPayload(
        refund_transaction_id=strawberry.ID(str(done.refund_transaction_id)),
        amount=done.amount.format(),
        refunded_total=done.refunded_total.format(),
        fully_refunded=done.fully_refunded,
    )


async def _acts_for_now(info: Info, merchant_id: int) -> bool:
    """Whether the client's credential acts for the merchant at this moment: read afresh
    (not the operation's cached viewer), so a subscription notices a revoked API key, an
    ended session or a removed staff member at its next event."""
    ctx = info.context
    token = ctx.session_token() or ""
    if token.startswith(merchants.KEY_PREFIX):
        key = await merchants.authenticate_api_key(token)
        return key is not None and key.merchant_id == merchant_id
    session = await ctx.services.sessions.resolve(token) if token else None
    if session is None:
        return False
    try:
        await merchants.staff_principal(merchant_id, session.user_id)
    except MerchantNotFound:
        return False
    return True


@strawberry.type
class MerchantSubscription:
    @strawberry.subscription(
        description="Staff or API key with payments:read: the shop's sales live, each as "
        "it is paid or refunded (any request, static code or bill). The stream ends when "
        "the key is revoked, the session ends or the staff member leaves."
    )
    async def merchant_sales(
        self, info: Info, merchant_id: strawberry.ID
    ) -> AsyncGenerator[MerchantSaleType, None]:
        ctx = info.context
        principal = await principal_for(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            raise PublicError(ErrorCode.NOT_FOUND, "No such merchant for you")
        async for message in ctx.services.hub.listen(
            ctx.services.channels.merchant_sales(principal.merchant_id)
        ):
            if not await _acts_for_now(info, principal.merchant_id):
                return
            sale = await checkout.sale_changed_by(
                principal.merchant_id, int(message["payload"]["transaction_id"])
            )
            if sale is not None:
                node = MerchantSaleType.from_domain(sale)
                node.sequence = str(message["event_id"])
                yield node

    @strawberry.subscription(
        description="Staff or API key: a payment request's status as it changes. The "
        "stream ends when the key is revoked, the session ends or the staff member leaves."
    )
    async def payment_request_updated(
        self, info: Info, request_id: strawberry.ID
    ) -> AsyncGenerator[PaymentRequestType, None]:
        ctx = info.context
        found = await checkout.find_request(str(request_id))
        if found is None or not await _acts_for_now(info, found.merchant_id):
            raise PublicError(ErrorCode.NOT_FOUND, "No such payment request for you")
        async for message in ctx.services.hub.listen(
            ctx.services.channels.payment_request(found.id)
        ):
            # Checked on every event, as user subscriptions check their session.
            if not await _acts_for_now(info, found.merchant_id):
                return
            current = await checkout.get_request(int(message["payload"]["request_id"]))
            if current is not None:
                yield PaymentRequestType.from_domain(current, "")
