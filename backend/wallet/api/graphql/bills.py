"""GraphQL surface of bill payments: billers, saved billers, pay now, schedules."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import ErrorCode, NotFound
from wallet.api.graphql.insights import BudgetImpactType
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.security import large_amount_check
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
    reference_format: str | None = strawberry.field(
        description='Its account numbers in words, e.g. "8 digits" (null when the pattern '
        "cannot be said simply)."
    )


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
    day_of_month: int | None = strawberry.field(
        description="Monthly: the day it runs (1-31); a shorter month's last day when the "
        "month has no such day. Null otherwise."
    )
    time_zone: str = strawberry.field(description="The zone its day and time are read in.")

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
            day_of_month=s.cadence.day_of_month if s.recurrence == "monthly" else None,
            time_zone=s.cadence.time_zone,
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
                reference_format=b.reference_format,
            )
            for b in await bills.billers()
        ]

    @strawberry.field(extensions=[SignedIn(otherwise_null=True)])
    async def saved_billers(self, info: Info) -> list[SavedBillerType] | None:
        user = await info.context.require_viewer()
        return [SavedBillerType.from_domain(b) for b in await bills.saved_billers(user.id)]

    @strawberry.field(
        description="What paying a saved biller `amount` would do to your budget of its "
        "category; null when no budget covers it.",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def bill_budget_impact(
        self, info: Info, saved_biller_id: strawberry.ID, amount: str, currency: str = "USD"
    ) -> BudgetImpactType | None:
        user = await info.context.require_viewer()
        money = parse_amount(amount, currency)
        if not isinstance(money, Money):
            return None
        impact = await bills.budget_impact(user.id, _id(saved_biller_id), money)
        return None if impact is None else BudgetImpactType.from_domain(impact)

    @strawberry.field(extensions=[SignedIn(otherwise_null=True)])
    async def bill_schedules(self, info: Info) -> list[BillScheduleType] | None:
        user = await info.context.require_viewer()
        return [BillScheduleType.from_domain(s) for s in await bills.schedules_of(user.id)]


@strawberry.type
class BillMutation:
    @strawberry.mutation(
        description="Save a biller with your account number there.", extensions=[SignedIn()]
    )
    async def save_biller(
        self, info: Info, merchant_id: strawberry.ID, account_reference: str, nickname: str = ""
    ) -> SaveBillerResult:
        user = await info.context.require_viewer()
        try:
            saved = await bills.save_biller(user.id, _id(merchant_id), account_reference, nickname)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return SavedBillerPayload(saved_biller=SavedBillerType.from_domain(saved))

    @strawberry.mutation(description="Pay a saved biller now.", extensions=[SignedIn()])
    async def pay_bill(
        self,
        info: Info,
        saved_biller_id: strawberry.ID,
        amount: str,
        idempotency_key: str,
        currency: str = "USD",
        override_budget: Annotated[
            bool,
            strawberry.argument(
                description="Confirmed again after BudgetWouldBeExceeded (same key)."
            ),
        ] = False,
    ) -> PayBillResult:
        user = await info.context.require_viewer()
        if throttled := await money_throttle(info, user.id):
            return throttled
        money = parse_amount(amount, currency)
        if not isinstance(money, Money):
            return money
        try:
            actor = await info.context.actor()
            assert actor is not None
            transaction_id = await bills.pay_bill(
                actor, _id(saved_biller_id), money, idempotency_key, override_budget=override_budget
            )
        except REFUSALS as exc:
            return refusal(exc, money.currency)
        item = await history.get(user.id, transaction_id)
        if item is None:
            return NotFound(code=ErrorCode.NOT_FOUND, message="Payment not found")
        return BillPaidPayload(transaction=TransactionNode.from_domain(item))

    @strawberry.mutation(
        description="Pay a saved biller later: once, weekly, or monthly in calendar months "
        "on firstRun's day of the month (a shorter month's last day when it has no such day).",
        extensions=[SignedIn()],
    )
    async def schedule_bill_payment(
        self,
        info: Info,
        saved_biller_id: strawberry.ID,
        amount: str,
        first_run: datetime,
        recurrence: Recurrence = Recurrence.ONCE,
        currency: str = "USD",
        time_zone: Annotated[
            str,
            strawberry.argument(
                description="IANA zone (e.g. Europe/Paris) the day and time are kept in."
            ),
        ] = "UTC",
    ) -> ScheduleBillResult:
        user = await info.context.require_viewer()
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
                time_zone,
            )
        except REFUSALS as exc:
            return refusal(exc, money.currency)
        return BillSchedulePayload(schedule=BillScheduleType.from_domain(created))

    @strawberry.mutation(
        description="Change a scheduled payment of yours: its amount, or the day it next "
        "runs (a monthly one then runs on that day of the month). Only while ACTIVE.",
        extensions=[SignedIn()],
    )
    async def update_bill_schedule(
        self,
        info: Info,
        schedule_id: strawberry.ID,
        amount: str | None = None,
        next_run_on: date | None = None,
    ) -> ScheduleBillResult:
        user = await info.context.require_viewer()
        money: Money | None = None
        if amount is not None:
            current = await bills.schedules_of(user.id, _id(schedule_id))
            parsed = parse_amount(amount, current[0].amount.currency.value if current else "USD")
            if not isinstance(parsed, Money):
                return parsed
            money = parsed
        try:
            updated = await bills.update_schedule(
                user.id,
                _id(schedule_id),
                amount=money,
                next_run_on=next_run_on,
                large_amount=await large_amount_check(info),
            )
        except REFUSALS as exc:
            return refusal(exc, money.currency if money else Currency.USD)
        return BillSchedulePayload(schedule=BillScheduleType.from_domain(updated))

    @strawberry.mutation(
        description="Cancel a scheduled payment of yours: nothing more is paid.",
        extensions=[SignedIn()],
    )
    async def cancel_bill_schedule(
        self, info: Info, schedule_id: strawberry.ID
    ) -> ScheduleBillResult:
        user = await info.context.require_viewer()
        try:
            cancelled = await bills.cancel(user.id, _id(schedule_id))
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return BillSchedulePayload(schedule=BillScheduleType.from_domain(cancelled))
