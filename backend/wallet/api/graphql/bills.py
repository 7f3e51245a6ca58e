"""GraphQL surface of bill payments: billers, saved billers, pay now, schedules."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, NotFound, not_authenticated
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.security import large_amount_check, payment_screening
from wallet.api.graphql.throttle import money_throttle
from wallet.api.graphql.transactions import TransactionNode
from wallet.merchants import bills
from wallet.money import Currency, Money
from wallet.transactions import history


@strawberry.enum
class Recurrence(Enum):
    ONCE = "once"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@strawberry.type(name="Biller")
class BillerType:
    merchant_id: strawberry.ID
    name: str
    reference_pattern: str


@strawberry.type(name="SavedBiller")
class SavedBillerType:
    id: strawberry.ID
    biller_name: str
    account_reference: str
    nickname: str

    @classmethod
    def from_domain(cls, b: bills.SavedBiller) -> SavedBillerType:
        return cls(
            id=strawberry.ID(str(b.id)),
            biller_name=b.biller_name,
            account_reference=b.account_reference,
            nickname=b.nickname,
        )


@strawberry.type(name="BillSchedule")
class BillScheduleType:
    id: strawberry.ID
    biller_name: str
    amount: str
    currency: str
    recurrence: Recurrence
    next_run_at: datetime
    status: str
    last_error: str | None

    @classmethod
    def from_domain(cls, s: bills.Schedule) -> BillScheduleType:
        return cls(
            id=strawberry.ID(str(s.id)),
            biller_name=s.biller_name,
            amount=s.amount.format(),
            currency=s.amount.currency.value,
            recurrence=Recurrence(s.recurrence),
            next_run_at=s.next_run_at,
            status=s.status.upper(),
            last_error=s.last_error,
        )


@strawberry.type
class SavedBillerPayload:
    saved_biller: SavedBillerType


@strawberry.type
class BillPaidPayload:
    transaction: TransactionNode


@strawberry.type
class BillSchedulePayload:
    schedule: BillScheduleType


SaveBillerResult = Annotated[SavedBillerPayload | MoneyErrors, strawberry.union("SaveBillerResult")]
PayBillResult = Annotated[BillPaidPayload | MoneyErrors, strawberry.union("PayBillResult")]
ScheduleBillResult = Annotated[
    BillSchedulePayload | MoneyErrors, strawberry.union("ScheduleBillResult")
]


def _id(raw: strawberry.ID) -> int:
    return int(raw) if str(raw).isdigit() else 0


@strawberry.type
class BillQuery:
    @strawberry.field(description="Billers you can pay, with their account-number format.")
    async def billers(self) -> list[BillerType]:
        return [
            BillerType(
                merchant_id=strawberry.ID(str(b.merchant_id)),
                name=b.name,
                reference_pattern=b.reference_pattern,
            )
            for b in await bills.billers()
        ]

    @strawberry.field
    async def saved_billers(self, info: Info) -> list[SavedBillerType] | None:
        user = await info.context.viewer()
        if user is None:
            return None
        return [SavedBillerType.from_domain(b) for b in await bills.saved_billers(user.id)]

    @strawberry.field
    async def bill_schedules(self, info: Info) -> list[BillScheduleType] | None:
        user = await info.context.viewer()
        if user is None:
            return None
        return [BillScheduleType.from_domain(s) for s in await bills.schedules_of(user.id)]


@strawberry.type
class BillMutation:
    @strawberry.mutation(description="Save a biller with your account number there.")
    async def save_biller(
        self, info: Info, merchant_id: strawberry.ID, account_reference: str, nickname: str = ""
    ) -> SaveBillerResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            saved = await bills.save_biller(user.id, _id(merchant_id), account_reference, nickname)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return SavedBillerPayload(saved_biller=SavedBillerType.from_domain(saved))

    @strawberry.mutation(description="Pay a saved biller now.")
    async def pay_bill(
        self,
        info: Info,
        saved_biller_id: strawberry.ID,
        amount: str,
        idempotency_key: str,
        currency: str = "USD",
    ) -> PayBillResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        if throttled := await money_throttle(info, user.id):
            return throttled
        money = parse_amount(amount, currency)
        if not isinstance(money, Money):
            return money
        try:
            large = await large_amount_check(info)
            transaction_id = await bills.pay_bill(
                user.id,
                _id(saved_biller_id),
                money,
                idempotency_key,
                large,
                screening=payment_screening(info, large),
            )
        except REFUSALS as exc:
            return refusal(exc, money.currency)
        item = await history.get(user.id, transaction_id)
        if item is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="Payment not found")
        return BillPaidPayload(transaction=TransactionNode.from_domain(item))

    @strawberry.mutation(description="Pay a saved biller later: once, weekly or monthly.")
    async def schedule_bill_payment(
        self,
        info: Info,
        saved_biller_id: strawberry.ID,
        amount: str,
        first_run: datetime,
        recurrence: Recurrence = Recurrence.ONCE,
        currency: str = "USD",
    ) -> ScheduleBillResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        money = parse_amount(amount, currency)
        if not isinstance(money, Money):
            return money
        try:
            created = await bills.schedule(
                user.id,
                _id(saved_biller_id),
                money,
                first_run,
                recurrence.value,
                await large_amount_check(info),
            )
        except REFUSALS as exc:
            return refusal(exc, money.currency)
        return BillSchedulePayload(schedule=BillScheduleType.from_domain(created))
