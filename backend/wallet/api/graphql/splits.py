"""GraphQL surface of bill splitting: groups, invitations, expenses, balances, settling up."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ValidationError, validation_error
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.throttle import contact_throttle
from wallet.money import Currency, Money
from wallet.splits import service
from wallet.splits.arithmetic import SplitMethod


@strawberry.enum(name="SplitMethod")
class SplitMethodEnum(Enum):
    EQUAL = "equal"
    EXACT = "exact"
    PERCENT = "percent"
    SHARES = "shares"


@strawberry.type(name="SplitShare")
class SplitShareType:
    username: str
    amount: str


@strawberry.type(name="SplitExpense")
class SplitExpenseType:
    id: strawberry.ID
    description: str
    amount: str
    currency: str
    paid_by: str
    method: SplitMethodEnum
    shares: list[SplitShareType]
    payment_transaction_id: strawberry.ID | None = strawberry.field(
        description="The merchant payment this expense splits, if any."
    )
    created_at: datetime

    @classmethod
    def from_domain(cls, e: service.Expense) -> SplitExpenseType:
        return cls(
            id=strawberry.ID(str(e.id)),
            description=e.description,
            amount=e.amount.format(),
            currency=e.amount.currency.value,
            paid_by=e.paid_by.username,
            method=SplitMethodEnum(e.method.value),
            shares=[
                SplitShareType(username=s.member.username, amount=s.amount.format())
                for s in e.shares
            ],
            payment_transaction_id=(
                strawberry.ID(str(e.transaction_id)) if e.transaction_id else None
            ),
            created_at=e.created_at,
        )


@strawberry.type(name="SplitPosition", description="Positive: the group owes them.")
class SplitPositionType:
    username: str
    currency: str
    net: str


@strawberry.type(
    name="SplitPayment", description="One of the fewest payments that square the group."
)
class SplitPaymentType:
    payer: str
    payee: str
    amount: str
    currency: str


@strawberry.type(name="SplitGroup")
class SplitGroupType:
    id: strawberry.ID
    name: str
    members: list[str] = strawberry.field(description="Who joined: usernames.")
    invited: list[str] = strawberry.field(
        description="Invited, not yet answered: @username, or the email or phone typed "
        "(partly hidden). They cannot be named in expenses until they accept."
    )

    @strawberry.field(description="Each member's net position per currency (non-zero only).")
    async def positions(self, info: Info) -> list[SplitPositionType]:
        view = await _view(info, self)
        return [
            SplitPositionType(
                username=p.member.username, currency=p.net.currency.value, net=p.net.format()
            )
            for p in view.positions
        ]

    @strawberry.field(description="The fewest payments that would square everyone.")
    async def suggested_payments(self, info: Info) -> list[SplitPaymentType]:
        view = await _view(info, self)
        return [
            SplitPaymentType(
                payer=s.payer.username,
                payee=s.payee.username,
                amount=s.amount.format(),
                currency=s.amount.currency.value,
            )
            for s in view.suggested
        ]

    @strawberry.field(description="Newest first (the last 100).")
    async def expenses(self, info: Info) -> list[SplitExpenseType]:
        view = await _view(info, self)
        return [SplitExpenseType.from_domain(e) for e in view.expenses]

    @classmethod
    def from_domain(cls, g: service.Group) -> SplitGroupType:
        return cls(
            id=strawberry.ID(str(g.id)),
            name=g.name,
            members=[m.username for m in g.members],
            invited=[i.shown_as for i in g.invited],
        )


@strawberry.type(name="SplitInvitation", description="An invitation to join a group.")
class SplitInvitationType:
    id: strawberry.ID
    group_name: str
    invited_by: str
    created_at: datetime

    @classmethod
    def from_domain(cls, i: service.Invitation) -> SplitInvitationType:
        return cls(
            id=strawberry.ID(str(i.id)),
            group_name=i.group_name,
            invited_by=i.invited_by,
            created_at=i.created_at,
        )


async def _view(info: Info, group: SplitGroupType) -> service.GroupView:
    """One read of the group's balances and expenses per request, shared by its fields."""
    user = await info.context.require_viewer()

    async def load(ids: list[int]) -> list[service.GroupView]:
        return [await service.group_view(user.id, i) for i in ids]

    view: service.GroupView = await info.context.loader("split-views", load).load(int(group.id))
    return view


@strawberry.input
class SplitValueInput:
    member: str = strawberry.field(description="A member's username.")
    value: str = strawberry.field(
        description="EXACT: their amount; PERCENT: their percentage; SHARES: their weight."
    )


@strawberry.input
class CreateSplitGroupInput:
    name: str
    members: list[str] = strawberry.field(
        description="Phones, emails or @usernames to invite; each joins on accepting."
    )


@strawberry.input
class AnswerSplitInvitationInput:
    invitation_id: strawberry.ID
    accept: bool


@strawberry.input
class AddSplitExpenseInput:
    group_id: strawberry.ID
    description: str
    amount: str
    currency: str = "USD"
    method: SplitMethodEnum = SplitMethodEnum.EQUAL
    paid_by: str | None = strawberry.field(default=None, description="Username; you by default.")
    among: list[str] = strawberry.field(
        default_factory=list, description="Usernames to split among; everyone by default."
    )
    values: list[SplitValueInput] = strawberry.field(default_factory=list)


@strawberry.input
class SplitPaymentInput:
    transaction_id: strawberry.ID
    group_id: strawberry.ID
    description: str = ""
    method: SplitMethodEnum = SplitMethodEnum.EQUAL
    among: list[str] = strawberry.field(default_factory=list)
    values: list[SplitValueInput] = strawberry.field(default_factory=list)


@strawberry.input
class SettleUpInput:
    group_id: strawberry.ID
    currency: str = "USD"
    idempotency_key: str


@strawberry.type
class SplitGroupPayload:
    group: SplitGroupType


@strawberry.type
class SplitExpensePayload:
    expense: SplitExpenseType


@strawberry.type
class SplitInvitationPayload:
    accepted: bool
    group: SplitGroupType | None = strawberry.field(
        description="The group you joined (null when you declined)."
    )


@strawberry.type(name="SettleUpTransfer")
class SettleUpTransferType:
    to: str
    amount: str
    transaction_id: strawberry.ID


@strawberry.type(name="SettleUpRequest")
class SettleUpRequestType:
    from_: str = strawberry.field(name="from")
    amount: str
    request_id: strawberry.ID


@strawberry.type
class SettleUpPayload:
    currency: str
    transfers: list[SettleUpTransferType] = strawberry.field(description="Paid now.")
    requests: list[SettleUpRequestType] = strawberry.field(description="Asked for.")


SplitGroupResult = Annotated[SplitGroupPayload | MoneyErrors, strawberry.union("SplitGroupResult")]
SplitExpenseResult = Annotated[
    SplitExpensePayload | MoneyErrors, strawberry.union("SplitExpenseResult")
]
SettleUpResult = Annotated[SettleUpPayload | MoneyErrors, strawberry.union("SettleUpResult")]
SplitInvitationResult = Annotated[
    SplitInvitationPayload | MoneyErrors, strawberry.union("SplitInvitationResult")
]


def _values(values: list[SplitValueInput]) -> dict[str, Decimal] | ValidationError:
    parsed: dict[str, Decimal] = {}
    for v in values:
        try:
            number = Decimal(v.value.strip())
        except InvalidOperation:
            return validation_error("values", "INVALID", f"{v.value!r} is not a number")
        if not number.is_finite():
            return validation_error("values", "INVALID", f"{v.value!r} is not a number")
        parsed[v.member] = number
    return parsed


def _id(raw: strawberry.ID) -> int:
    return int(raw) if str(raw).isdigit() else 0


@strawberry.type
class SplitQuery:
    @strawberry.field(
        description="Your bill-splitting groups, newest first.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def split_groups(self, info: Info) -> list[SplitGroupType]:
        user = await info.context.require_viewer()
        return [SplitGroupType.from_domain(g) for g in await service.groups_of(user.id)]

    @strawberry.field(
        description="Invitations to groups waiting for your answer.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def split_invitations(self, info: Info) -> list[SplitInvitationType]:
        user = await info.context.require_viewer()
        return [SplitInvitationType.from_domain(i) for i in await service.invitations_of(user.id)]


@strawberry.type
class SplitMutation:
    @strawberry.mutation(
        description="Start a group and invite people to it (they join when they accept).",
        extensions=[SignedIn()],
    )
    async def create_split_group(
        self, info: Info, input: CreateSplitGroupInput
    ) -> SplitGroupResult:
        user = await info.context.require_viewer()
        if throttled := await contact_throttle(info, user.id, input.members):
            return throttled
        try:
            group = await service.create_group(user.id, input.name, input.members)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return SplitGroupPayload(group=SplitGroupType.from_domain(group))

    @strawberry.mutation(
        description="Invite people to a group you are in.", extensions=[SignedIn()]
    )
    async def add_split_members(
        self, info: Info, group_id: strawberry.ID, members: list[str]
    ) -> SplitGroupResult:
        user = await info.context.require_viewer()
        if throttled := await contact_throttle(info, user.id, members):
            return throttled
        try:
            group = await service.add_members(user.id, _id(group_id), members)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return SplitGroupPayload(group=SplitGroupType.from_domain(group))

    @strawberry.mutation(
        description="Accept or decline an invitation to a group.", extensions=[SignedIn()]
    )
    async def answer_split_invitation(
        self, info: Info, input: AnswerSplitInvitationInput
    ) -> SplitInvitationResult:
        user = await info.context.require_viewer()
        try:
            group = await service.answer_invitation(user.id, _id(input.invitation_id), input.accept)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return SplitInvitationPayload(
            accepted=input.accept, group=SplitGroupType.from_domain(group) if group else None
        )

    @strawberry.mutation(
        description="Record a shared expense and how it is split.", extensions=[SignedIn()]
    )
    async def add_split_expense(
        self, info: Info, input: AddSplitExpenseInput
    ) -> SplitExpenseResult:
        user = await info.context.require_viewer()
        amount = parse_amount(input.amount, input.currency)
        if not isinstance(amount, Money):
            return amount
        values = _values(input.values)
        if isinstance(values, ValidationError):
            return values
        try:
            expense = await service.add_expense(
                user.id,
                service.NewExpense(
                    group_id=_id(input.group_id),
                    description=input.description,
                    amount=amount,
                    method=SplitMethod(input.method.value),
                    paid_by=input.paid_by,
                    among=input.among,
                    values=values,
                ),
            )
        except REFUSALS as exc:
            return refusal(exc, amount.currency)
        return SplitExpensePayload(expense=SplitExpenseType.from_domain(expense))

    @strawberry.mutation(
        description="Split one of your merchant payments with a group.", extensions=[SignedIn()]
    )
    async def split_payment(self, info: Info, input: SplitPaymentInput) -> SplitExpenseResult:
        user = await info.context.require_viewer()
        values = _values(input.values)
        if isinstance(values, ValidationError):
            return values
        try:
            expense = await service.split_payment(
                user.id,
                _id(input.transaction_id),
                service.NewExpense(
                    group_id=_id(input.group_id),
                    description=input.description,
                    amount=Money(1, Currency.USD),  # the payment's own amount is used
                    method=SplitMethod(input.method.value),
                    among=input.among,
                    values=values,
                ),
            )
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return SplitExpensePayload(expense=SplitExpenseType.from_domain(expense))

    @strawberry.mutation(
        description="Pay what you owe in the group (now) and ask for what you are owed, "
        "by the fewest payments that square everyone.",
        extensions=[SignedIn()],
    )
    async def settle_up(self, info: Info, input: SettleUpInput) -> SettleUpResult:
        try:
            currency = Currency.parse(input.currency)
            actor = await info.context.actor()
            assert actor is not None
            receipt = await service.settle_up(
                actor,
                service.SettleUp(_id(input.group_id), currency),
                input.idempotency_key,
            )
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)

        def fmt(minor: int) -> str:
            return Money(minor, currency).format()

        return SettleUpPayload(
            currency=receipt.currency,
            transfers=[
                SettleUpTransferType(
                    to=t["to"],
                    amount=fmt(t["amount_minor"]),
                    transaction_id=strawberry.ID(str(t["transaction_id"])),
                )
                for t in receipt.transfers
            ],
            requests=[
                SettleUpRequestType(
                    from_=r["from"],
                    amount=fmt(r["amount_minor"]),
                    request_id=strawberry.ID(str(r["request_id"])),
                )
                for r in receipt.requests
            ],
        )
