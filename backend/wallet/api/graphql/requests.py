"""GraphQL surface of money requests: request, pay, decline, cancel, list, subscribe."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotFound,
)
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.throttle import contact_throttle, money_throttle
from wallet.money import Currency, Money
from wallet.requests import service as requests
from wallet.requests.errors import RequestNotFound


@strawberry.enum
class MoneyRequestStatus(Enum):
    OPEN = "open"
    PAID = "paid"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@strawberry.type(name="MoneyRequest")
class MoneyRequestType:
    id: strawberry.ID
    amount: str
    currency: str
    note: str
    status: MoneyRequestStatus
    requester_username: str
    payer_username: str | None = strawberry.field(
        description="Who pays. For a request you made to an email or phone: null until "
        "they pay or decline (see payerContact), whether or not that contact has a wallet."
    )
    payer_contact: str | None = strawberry.field(
        description="The email or phone you asked, for a request you made to one."
    )
    incoming: bool = strawberry.field(description="True when you are the one asked to pay.")
    transaction_id: strawberry.ID | None
    expires_at: datetime
    created_at: datetime

    @classmethod
    def from_domain(cls, r: requests.MoneyRequest, viewer_id: int) -> MoneyRequestType:
        incoming = r.payer_id == viewer_id
        # Asked by email or phone, the requester learns who has it only from an answer:
        # otherwise the username would say the contact is registered (review finding 18).
        answered = r.status in ("paid", "declined")
        hidden = not incoming and r.payer_contact is not None and not answered
        return cls(
            id=strawberry.ID(str(r.id)),
            amount=r.amount.format(),
            currency=r.amount.currency.value,
            note=r.note,
            status=MoneyRequestStatus(r.status),
            requester_username=r.requester_username,
            payer_username=None if hidden else r.payer_username,
            payer_contact=None if incoming else r.payer_contact,
            incoming=incoming,
            transaction_id=strawberry.ID(str(r.transaction_id)) if r.transaction_id else None,
            expires_at=r.expires_at,
            created_at=r.created_at,
        )


@strawberry.input
class RequestMoneyInput:
    payer: str = strawberry.field(description="Phone number, email or @username.")
    amount: str
    currency: str = "USD"
    note: str = ""
    expires_in_days: int | None = None
    idempotency_key: str


@strawberry.input
class PayMoneyRequestInput:
    request_id: strawberry.ID
    idempotency_key: str


@strawberry.type
class MoneyRequestPayload:
    request: MoneyRequestType


MoneyRequestResult = Annotated[
    MoneyRequestPayload | MoneyErrors, strawberry.union("MoneyRequestResult")
]


def _request_id(raw: strawberry.ID) -> int:
    if not str(raw).isdigit():
        raise RequestNotFound(0)
    return int(raw)


@strawberry.type
class RequestQuery:
    @strawberry.field(
        description="Requests you made or received, newest first.",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def money_requests(
        self, info: Info, status: MoneyRequestStatus | None = None
    ) -> list[MoneyRequestType] | None:
        user = await info.context.require_viewer()
        found = await requests.requests_of(user.id, status.value if status else None)
        return [MoneyRequestType.from_domain(r, user.id) for r in found]


@strawberry.type
class RequestMutation:
    @strawberry.mutation(
        description="Ask someone for money: an @username, or an email or phone (who gets "
        "an invite when no wallet has it; the answer is the same either way).",
        extensions=[SignedIn()],
    )
    async def request_money(self, info: Info, input: RequestMoneyInput) -> MoneyRequestResult:
        user = await info.context.require_viewer()
        if throttled := await money_throttle(info, user.id):
            return throttled
        if throttled := await contact_throttle(info, user.id, [input.payer]):
            return throttled
        amount = parse_amount(input.amount, input.currency)
        if not isinstance(amount, Money):
            return amount
        actor = await info.context.actor()
        assert actor is not None
        try:
            created = await requests.request_money(
                actor,
                requests.RequestMoney(input.payer, amount, input.note, input.expires_in_days),
                input.idempotency_key,
            )
        except REFUSALS as exc:
            return refusal(exc, amount.currency)
        return MoneyRequestPayload(request=MoneyRequestType.from_domain(created, user.id))

    @strawberry.mutation(
        description="Pay a request you received (a transfer to the requester).",
        extensions=[SignedIn()],
    )
    async def pay_money_request(
        self, info: Info, input: PayMoneyRequestInput
    ) -> MoneyRequestResult:
        user = await info.context.require_viewer()
        if throttled := await money_throttle(info, user.id):
            return throttled
        try:
            request_id = _request_id(input.request_id)
            existing = await requests.get_request(user.id, request_id)
            if existing is None:
                raise RequestNotFound(request_id)
            actor = await info.context.actor()
            assert actor is not None
            paid = await requests.pay_request(actor, request_id, input.idempotency_key)
        except REFUSALS as exc:
            currency = existing.amount.currency if existing else Currency.USD
            return refusal(exc, currency)
        return MoneyRequestPayload(request=MoneyRequestType.from_domain(paid, user.id))

    @strawberry.mutation(description="Decline a request you received.", extensions=[SignedIn()])
    async def decline_money_request(
        self, info: Info, request_id: strawberry.ID
    ) -> MoneyRequestResult:
        return await _close(info, request_id, requests.decline_request)

    @strawberry.mutation(description="Cancel a request you made.", extensions=[SignedIn()])
    async def cancel_money_request(
        self, info: Info, request_id: strawberry.ID
    ) -> MoneyRequestResult:
        return await _close(info, request_id, requests.cancel_request)


async def _close(
    info: Info,
    raw_id: strawberry.ID,
    action: Callable[[int, int], Awaitable[requests.MoneyRequest]],
) -> MoneyRequestResult:
    user = await info.context.require_viewer()
    try:
        closed = await action(user.id, _request_id(raw_id))
    except RequestNotFound:
        return NotFound(code=ErrorCode.NOT_FOUND, message="No such money request")
    except REFUSALS as exc:
        return refusal(exc, Currency.USD)
    return MoneyRequestPayload(request=MoneyRequestType.from_domain(closed, user.id))


@strawberry.type
class RequestSubscription:
    @strawberry.subscription(description="Requests others make of you, as they arrive.")
    async def money_request_received(self, info: Info) -> AsyncGenerator[MoneyRequestType, None]:
        ctx = info.context
        user = await ctx.require_viewer()
        async for message in ctx.services.hub.listen(ctx.services.channels.requests(user.id)):
            if not await ctx.session_active():
                return
            event = message["payload"]
            if event.get("status") != "open":
                continue
            found = await requests.get_request(user.id, int(event["request_id"]))
            if found is not None and found.payer_id == user.id:
                yield MoneyRequestType.from_domain(found, user.id)
