"""GraphQL surface of money in and out: payment methods, `addMoney`, `withdraw`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotAuthenticated,
    NotFound,
    StepUpRequired,
    ValidationError,
    validation_error,
)
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.security import step_up_refusal
from wallet.api.graphql.throttle import money_throttle
from wallet.api.graphql.transactions import TransactionNode
from wallet.commands.actor import Actor
from wallet.gateway.base import InvalidPaymentDetails, PaymentGateway
from wallet.money import Money
from wallet.payments import funding, methods
from wallet.payments.errors import PaymentError, PaymentMethodNotFound
from wallet.security.policy import Action
from wallet.transactions import history


@strawberry.type(name="PaymentMethod")
class PaymentMethodType:
    id: strawberry.ID
    kind: str = strawberry.field(description="CARD or BANK_ACCOUNT.")
    brand: str = strawberry.field(description="Card brand or bank name.")
    last4: str
    exp_month: int | None
    exp_year: int | None

    @classmethod
    def from_domain(cls, m: methods.PaymentMethod) -> PaymentMethodType:
        return cls(
            id=strawberry.ID(str(m.id)),
            kind=m.kind.upper(),
            brand=m.brand,
            last4=m.last4,
            exp_month=m.exp_month,
            exp_year=m.exp_year,
        )


@strawberry.type(name="PaymentGateway")
class PaymentGatewayType:
    tokenize_url: str = strawberry.field(
        description="Where the app POSTs card or bank details (JSON, with the "
        "publishable key), never to this API; the answer's token goes to addCard or "
        "addBankAccount."
    )
    publishable_key: str = strawberry.field(
        description="The gateway's public key for client-side tokenisation (not a secret)."
    )


@strawberry.input
class AddCardInput:
    token: str = strawberry.field(description="The gateway's token for the card.")


@strawberry.input
class AddBankAccountInput:
    token: str = strawberry.field(description="The gateway's token for the bank account.")


@strawberry.type
class AddPaymentMethodPayload:
    payment_method: PaymentMethodType


AddPaymentMethodResult = Annotated[
    AddPaymentMethodPayload | ValidationError | NotAuthenticated | StepUpRequired,
    strawberry.union("AddPaymentMethodResult"),
]


@strawberry.type
class RemovePaymentMethodPayload:
    removed_id: strawberry.ID


RemovePaymentMethodResult = Annotated[
    RemovePaymentMethodPayload | NotFound | StepUpRequired | NotAuthenticated,
    strawberry.union("RemovePaymentMethodResult"),
]


@strawberry.input
class FundingInput:
    payment_method_id: strawberry.ID
    amount: str = strawberry.field(description='Decimal string, e.g. "25.00".')
    currency: str = "USD"
    idempotency_key: str


@strawberry.type
class FundingPayload:
    transaction: TransactionNode


FundingResult = Annotated[FundingPayload | MoneyErrors, strawberry.union("FundingResult")]


def _method_id(raw: strawberry.ID) -> int | None:
    return int(raw) if str(raw).isdigit() else None


async def _funding_payload(user_id: int, transaction_id: int) -> FundingPayload:
    item = await history.get(user_id, transaction_id)
    assert item is not None  # the viewer initiated it
    return FundingPayload(transaction=TransactionNode.from_domain(item))


async def _fund(
    info: Info,
    input: FundingInput,
    move: Callable[[Actor, Money, int], Awaitable[funding.FundingReceipt]],
) -> FundingResult:
    """Shared by addMoney and withdraw: parse, call the service, map refusals."""
    user = await info.context.require_viewer()
    if throttled := await money_throttle(info, user.id):
        return throttled
    amount = parse_amount(input.amount, input.currency)
    if not isinstance(amount, Money):
        return amount
    method_id = _method_id(input.payment_method_id)
    if method_id is None:
        return NotFound(code=ErrorCode.NOT_FOUND, message="No such payment method")
    actor = await info.context.actor()
    assert actor is not None
    try:
        receipt = await move(actor, amount, method_id)
    except REFUSALS as exc:
        return refusal(exc, amount.currency)
    return await _funding_payload(user.id, receipt.transaction_id)


async def _link(
    info: Info,
    link: Callable[[PaymentGateway, int], Awaitable[methods.PaymentMethod]],
) -> AddPaymentMethodResult:
    """Shared by addCard and addBankAccount: step-up, attach the token, map refusals."""
    user = await info.context.require_viewer()
    if asked := await step_up_refusal(info, user.id, Action.ADD_PAYMENT_METHOD):
        return asked
    try:
        method = await link(info.context.services.gateway, user.id)
    except InvalidPaymentDetails as exc:
        return validation_error(exc.field, "INVALID", str(exc))
    except PaymentError as exc:
        return validation_error("paymentMethod", "INVALID", str(exc))
    return AddPaymentMethodPayload(payment_method=PaymentMethodType.from_domain(method))


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="Where and how the app tokenises card and bank details.")
    def payment_gateway(self, info: Info) -> PaymentGatewayType:
        settings = info.context.services.settings
        return PaymentGatewayType(
            tokenize_url=settings.gateway.tokenize_url,
            publishable_key=settings.gateway.publishable_key,
        )

    @strawberry.field(
        description="Your linked cards and bank accounts (null when logged out).",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def payment_methods(self, info: Info) -> list[PaymentMethodType] | None:
        user = await info.context.require_viewer()
        return [PaymentMethodType.from_domain(m) for m in await methods.list_methods(user.id)]


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(
        description="Link a card by the token the gateway gave the app (see paymentGateway); "
        "card numbers never come here.",
        extensions=[SignedIn()],
    )
    async def add_card(self, info: Info, input: AddCardInput) -> AddPaymentMethodResult:
        return await _link(info, lambda g, user_id: methods.add_card(g, user_id, input.token))

    @strawberry.mutation(
        description="Link a bank account for ACH top-ups and withdrawals, by the gateway's "
        "token (see paymentGateway).",
        extensions=[SignedIn()],
    )
    async def add_bank_account(
        self, info: Info, input: AddBankAccountInput
    ) -> AddPaymentMethodResult:
        return await _link(
            info, lambda g, user_id: methods.add_bank_account(g, user_id, input.token)
        )

    @strawberry.mutation(extensions=[SignedIn()])
    async def remove_payment_method(
        self, info: Info, id: strawberry.ID
    ) -> RemovePaymentMethodResult:
        user = await info.context.require_viewer()
        if asked := await step_up_refusal(info, user.id, Action.REMOVE_PAYMENT_METHOD):
            return asked
        try:
            method_id = _method_id(id)
            if method_id is None:
                raise PaymentMethodNotFound(0)
            await methods.remove_method(info.context.services.gateway, user.id, method_id)
        except PaymentMethodNotFound:
            return NotFound(code=ErrorCode.NOT_FOUND, message="No such payment method")
        return RemovePaymentMethodPayload(removed_id=id)

    @strawberry.mutation(
        description="Add money from a card (instant) or a bank account (ACH: pending for "
        "1 to 3 days, then completed or failed).",
        extensions=[SignedIn()],
    )
    async def add_money(self, info: Info, input: FundingInput) -> FundingResult:
        services = info.context.services
        return await _fund(
            info,
            input,
            lambda actor, amount, method_id: funding.add_money(
                services.gateway,
                actor,
                funding.AddMoney(method_id, amount),
                input.idempotency_key,
                timeout_seconds=services.settings.gateway.timeout_seconds,
            ),
        )

    @strawberry.mutation(
        description="Withdraw to a linked bank account (pending until paid).",
        extensions=[SignedIn()],
    )
    async def withdraw(self, info: Info, input: FundingInput) -> FundingResult:
        return await _fund(
            info,
            input,
            lambda actor, amount, method_id: funding.withdraw(
                info.context.services.gateway,
                actor,
                funding.Withdraw(method_id, amount),
                input.idempotency_key,
            ),
        )
