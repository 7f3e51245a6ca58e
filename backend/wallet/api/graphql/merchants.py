"""GraphQL surface of merchants: onboarding, staff keys, payment requests (QR/NFC),
paying them with the transaction PIN, refunds, and the POS subscription.

A payment request's GraphQL `id` is its unguessable reference; a payer sees only a
`PayableRequest` (merchant, amount, description) while it can be paid."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PublicError,
    ValidationError,
    not_authenticated,
    validation_error,
)
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.throttle import money_throttle
from wallet.merchants import checkout, emvco, protection, settlement, webhooks
from wallet.merchants import service as merchants
from wallet.merchants.errors import (
    MerchantNotFound,
    PaymentRequestNotFound,
    WebhookTargetRefused,
)
from wallet.money import Currency, Money, UnknownCurrency
from wallet.realtime.channels import payment_request_channel
from wallet.realtime.pubsub import listen
from wallet.security.egress import EgressPolicy
from wallet.users.service import operator_role


@strawberry.enum
class ApiScope(Enum):
    PAYMENTS_WRITE = "payments:write"
    REFUNDS_WRITE = "refunds:write"
    PAYMENTS_READ = "payments:read"


@strawberry.enum(description="An operator's review of the business (KYB).")
class MerchantApproval(Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.type(name="Merchant")
class MerchantType:
    id: strawberry.ID
    name: str
    mcc: str
    country: str
    city: str
    settlement_schedule: str
    fee_percent_bp: int
    role: str | None = strawberry.field(description="Your role: OWNER or CASHIER.")
    approval: MerchantApproval = strawberry.field(
        description="PENDING: sales are kept until an operator approves the business; "
        "nothing is paid out to the bank before. REJECTED: no payments."
    )

    @classmethod
    def from_domain(cls, m: merchants.Merchant, role: merchants.Role | None) -> MerchantType:
        return cls(
            id=strawberry.ID(str(m.id)),
            name=m.name,
            mcc=m.mcc,
            country=m.country,
            city=m.city,
            settlement_schedule=m.settlement_schedule.upper(),
            fee_percent_bp=m.fee_percent_bp,
            role=role.value.upper() if role else None,
            approval=MerchantApproval(m.approval_status),
        )


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
class OnboardMerchantInput:
    name: str
    mcc: str
    country: str
    legal_name: str = strawberry.field(description="The business's registered legal name.")
    business_address: str
    registration_number: str | None = strawberry.field(
        default=None, description="Company registration number; not needed for a sole trader."
    )
    sole_trader: bool = False
    website: str | None = None
    description: str = strawberry.field(
        default="", description="What the business sells (needed without a website)."
    )
    city: str = ""
    settlement_schedule: str = "DAILY"
    settlement_method_id: strawberry.ID | None = None
    currencies: list[str] = strawberry.field(default_factory=lambda: ["USD"])
    marketplace: bool = strawberry.field(
        default=False, description="Hold sales in buyer-protection escrow until delivery."
    )


@strawberry.type
class MerchantPayload:
    merchant: MerchantType


MerchantResult = Annotated[
    MerchantPayload | ValidationError | NotAuthenticated, strawberry.union("MerchantResult")
]
VERIFICATION_REQUIRED = "VERIFICATION_REQUIRED"


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


@strawberry.type
class ApiKeyPayload:
    id: strawberry.ID
    prefix: str
    key: str = strawberry.field(description="Shown once; store it now.")


ApiKeyResult = Annotated[
    ApiKeyPayload | ValidationError | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("ApiKeyResult"),
]


@strawberry.type
class ApiKeyRevokedPayload:
    revoked_id: strawberry.ID


ApiKeyRevokedResult = Annotated[
    ApiKeyRevokedPayload | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("ApiKeyRevokedResult"),
]


@strawberry.enum
class StaffRole(Enum):
    OWNER = "owner"
    CASHIER = "cashier"


@strawberry.type
class StaffPayload:
    username: str
    role: StaffRole


StaffResult = Annotated[
    StaffPayload | NotFound | Forbidden | NotAuthenticated, strawberry.union("StaffResult")
]


@strawberry.type
class StaffRemovedPayload:
    username: str


StaffRemovedResult = Annotated[
    StaffRemovedPayload | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("StaffRemovedResult"),
]


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


def _id(raw: strawberry.ID | None) -> int | None:
    return int(raw) if raw is not None and str(raw).isdigit() else None


def _base_url(info: Info) -> str:
    request = info.context.request
    return str(request.base_url).rstrip("/") if request is not None else ""


async def _principal(info: Info, merchant_id: strawberry.ID) -> merchants.Principal | None:
    return await info.context.merchant_principal(_id(merchant_id))


async def _payable(reference: str) -> PayableRequestType | None:
    try:
        return PayableRequestType.from_domain(await checkout.payable_request(reference))
    except PaymentRequestNotFound:
        return None


@strawberry.type
class MerchantQuery:
    @strawberry.field(description="Merchants you work for.")
    async def my_merchants(self, info: Info) -> list[MerchantType] | None:
        user = await info.context.viewer()
        if user is None:
            return None
        return [MerchantType.from_domain(m, r) for m, r in await merchants.merchants_of(user.id)]

    @strawberry.field(description="Staff or API key: what the merchant holds, per currency.")
    async def merchant_balances(
        self, info: Info, merchant_id: strawberry.ID
    ) -> list[MerchantBalanceType] | None:
        principal = await _principal(info, merchant_id)
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
        principal = await _principal(info, merchant_id)
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
class MerchantMutation:
    @strawberry.mutation(description="Open a merchant account that you own.")
    async def onboard_merchant(self, info: Info, input: OnboardMerchantInput) -> MerchantResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            currencies = tuple(Currency.parse(c) for c in input.currencies)
            merchant = await merchants.onboard(
                merchants.Onboarding(
                    owner_user_id=user.id,
                    name=input.name,
                    mcc=input.mcc,
                    country=input.country,
                    city=input.city,
                    currencies=currencies or (Currency.USD,),
                    settlement_schedule=input.settlement_schedule.lower(),
                    settlement_method_id=_id(input.settlement_method_id),
                    marketplace=input.marketplace,
                    profile=merchants.BusinessProfile(
                        legal_name=input.legal_name,
                        address=input.business_address,
                        registration_number=input.registration_number,
                        sole_trader=input.sole_trader,
                        website=input.website,
                        description=input.description,
                    ),
                )
            )
        except UnknownCurrency as exc:
            return validation_error("currencies", "INVALID", str(exc))
        except merchants.VerificationRequired as exc:
            return validation_error("verification", VERIFICATION_REQUIRED, str(exc))
        except merchants.InvalidMerchantDetails as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        return MerchantPayload(merchant=MerchantType.from_domain(merchant, merchants.Role.OWNER))

    @strawberry.mutation(description="Staff or API key: ask a customer to pay (QR/NFC).")
    async def create_payment_request(
        self, info: Info, input: CreatePaymentRequestInput
    ) -> PaymentRequestResult:
        principal = await _principal(info, input.merchant_id)
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
                checkout.PayRequest(request.reference, amount, input.pin),
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
        principal = await _principal(info, input.merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        payment_id = _id(input.transaction_id)
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

    @strawberry.mutation(description="Owner: revoke an API key at once.")
    async def revoke_merchant_api_key(
        self, info: Info, merchant_id: strawberry.ID, key_id: strawberry.ID
    ) -> ApiKeyRevokedResult:
        principal = await _principal(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        try:
            await merchants.revoke_api_key(principal, _id(key_id) or 0)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except merchants.MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such API key")
        return ApiKeyRevokedPayload(revoked_id=key_id)

    @strawberry.mutation(description="Owner: add a user (by @username) as owner or cashier.")
    async def add_merchant_staff(
        self, info: Info, merchant_id: strawberry.ID, username: str, role: StaffRole
    ) -> StaffResult:
        principal = await _principal(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        user_id = await merchants.user_id_by_username(username)
        if user_id is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message=f"No user {username}")
        try:
            await merchants.add_staff(principal, user_id, merchants.Role(role.value))
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        return StaffPayload(username=username.removeprefix("@"), role=role)

    @strawberry.mutation(description="Owner: take a user off your staff, at once.")
    async def remove_merchant_staff(
        self, info: Info, merchant_id: strawberry.ID, username: str
    ) -> StaffRemovedResult:
        principal = await _principal(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        user_id = await merchants.user_id_by_username(username)
        try:
            await merchants.remove_staff(principal, user_id or 0)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message=f"{username} is not your staff")
        return StaffRemovedPayload(username=username.strip().removeprefix("@"))

    @strawberry.mutation(description="Owner: a key for your server; the secret is shown once.")
    async def create_merchant_api_key(
        self, info: Info, merchant_id: strawberry.ID, label: str, scopes: list[ApiScope]
    ) -> ApiKeyResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        principal = await _principal(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        try:
            issued = await merchants.create_api_key(
                principal, label, {merchants.Scope(s.value) for s in scopes}
            )
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except merchants.InvalidMerchantDetails as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        return ApiKeyPayload(id=strawberry.ID(str(issued.id)), prefix=issued.prefix, key=issued.key)


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
        async for message in listen(ctx.services.redis, payment_request_channel(found.id)):
            # Checked on every event, as user subscriptions check their session.
            if not await _acts_for_now(info, found.merchant_id):
                return
            current = await checkout.get_request(int(message["payload"]["request_id"]))
            if current is not None:
                yield PaymentRequestType.from_domain(current, "")


@strawberry.type(name="WebhookDelivery")
class WebhookDeliveryType:
    id: strawberry.ID
    event_type: str
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime

    @classmethod
    def from_domain(cls, d: webhooks.Delivery) -> WebhookDeliveryType:
        return cls(
            id=strawberry.ID(str(d.id)),
            event_type=d.event_type,
            url=d.url,
            status=d.status.upper(),
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
        )


@strawberry.type
class WebhookEndpointPayload:
    secret: str = strawberry.field(description="Signing secret; shown once.")


WebhookEndpointResult = Annotated[
    WebhookEndpointPayload | ValidationError | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("WebhookEndpointResult"),
]

WebhookReplayResult = Annotated[
    WebhookDeliveryType | NotFound | Forbidden | NotAuthenticated,
    strawberry.union("WebhookReplayResult"),
]


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Owner or API key: your webhook deliveries, newest first.")
    async def webhook_deliveries(
        self, info: Info, merchant_id: strawberry.ID, first: int = 50
    ) -> list[WebhookDeliveryType] | None:
        principal = await _principal(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        return [
            WebhookDeliveryType.from_domain(d) for d in await webhooks.deliveries(principal, first)
        ]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Owner: where to POST payment events; returns the secret.")
    async def set_merchant_webhook(
        self, info: Info, merchant_id: strawberry.ID, url: str
    ) -> WebhookEndpointResult:
        principal = await _principal(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        policy = EgressPolicy.from_settings(info.context.services.settings)
        try:
            secret = await webhooks.set_endpoint(principal, url, policy)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except WebhookTargetRefused as exc:
            return validation_error(exc.field, exc.code, str(exc))
        return WebhookEndpointPayload(secret=secret)

    @strawberry.mutation(description="Owner: send a webhook delivery again now.")
    async def replay_webhook_delivery(
        self, info: Info, merchant_id: strawberry.ID, delivery_id: strawberry.ID
    ) -> WebhookReplayResult:
        principal = await _principal(info, merchant_id)
        if principal is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant for you")
        try:
            delivery = await webhooks.replay(principal, _id(delivery_id) or 0)
        except merchants.NotAllowed as exc:
            return Forbidden(code=ErrorCode.FORBIDDEN, message=str(exc))
        except merchants.MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such delivery")
        return WebhookDeliveryType.from_domain(delivery)


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


@strawberry.type
class SettlementQuery:
    @strawberry.field(description="Owner or API key: settlement batches, newest first.")
    async def settlement_batches(
        self, info: Info, merchant_id: strawberry.ID
    ) -> list[SettlementBatchType] | None:
        principal = await _principal(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        return [
            SettlementBatchType(
                id=strawberry.ID(str(b.id)),
                currency=b.currency.value,
                payments=b.payments,
                gross=b.gross.format(),
                fee=b.fee.format(),
                net=b.net.format(),
                payout_status=b.payout_status.upper(),
                created_at=b.created_at,
            )
            for b in await settlement.batches_of(principal)
        ]

    @strawberry.field(description="Owner or API key: a batch's report as CSV.")
    async def settlement_report(
        self, info: Info, merchant_id: strawberry.ID, batch_id: strawberry.ID
    ) -> str | None:
        principal = await _principal(info, merchant_id)
        if principal is None or not principal.may(merchants.Scope.PAYMENTS_READ):
            return None
        try:
            return await settlement.report_csv(principal, _id(batch_id) or 0)
        except merchants.MerchantNotFound:
            return None


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


def _dispute_refusal(exc: Exception) -> MoneyErrors:
    match exc:
        case protection.DisputeNotFound():
            return NotFound(code=ErrorCode.NOT_FOUND, message=str(exc))
        case protection.NotDisputable() | protection.DisputeClosed():
            return validation_error("disputeId", "NOT_ALLOWED", str(exc))
        case _:
            return refusal(exc, Currency.USD)


@strawberry.type
class DisputeQuery:
    @strawberry.field(description="A dispute you are party to (buyer, merchant staff, mediator).")
    async def dispute(self, info: Info, id: strawberry.ID) -> DisputeType | None:
        found = await protection.get_dispute(_id(id) or 0)
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
        principal = await _principal(info, merchant_id)
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
            await protection.confirm_delivery(user.id, _id(payment_id) or 0)
        except REFUSALS as exc:
            return _dispute_refusal(exc)
        return DeliveryConfirmedPayload(payment_id=payment_id)

    @strawberry.mutation(description="Buyer: dispute a payment within the protection window.")
    async def open_dispute(
        self, info: Info, payment_id: strawberry.ID, reason: str
    ) -> DisputeResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        days = info.context.services.settings.buyer_protection_days
        try:
            dispute_id = await protection.open_dispute(
                user.id, _id(payment_id) or 0, reason, timedelta(days=days)
            )
        except REFUSALS as exc:
            return _dispute_refusal(exc)
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
        found = await protection.get_dispute(_id(dispute_id) or 0)
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
            return _dispute_refusal(exc)
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
            found = await protection.dispute_to_decide(role, _id(dispute_id) or 0)
        except REFUSALS as exc:
            return _dispute_refusal(exc)
        refund_money = parse_amount(refund_amount, found.amount.currency.value)
        if not isinstance(refund_money, Money):
            return refund_money
        try:
            await protection.decide(user.id, role, found.id, refund_money)
        except REFUSALS as exc:
            return _dispute_refusal(exc)
        updated = await protection.get_dispute(found.id)
        assert updated is not None
        return DisputePayload(dispute=_dispute_view(updated))


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
            await merchants.set_fees(_id(merchant_id) or 0, percent_bp, amounts)
        except merchants.InvalidMerchantDetails as exc:
            return validation_error(exc.field, "INVALID", str(exc))
        except merchants.MerchantNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such merchant")
        return FeesPayload(merchant_id=merchant_id, percent_bp=percent_bp)
