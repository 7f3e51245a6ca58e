"""GraphQL surface of savings goals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.goals import service
from wallet.money import Currency, Money


@strawberry.type(name="SavingsGoal")
class SavingsGoalType:
    id: strawberry.ID
    name: str
    currency: str
    target: str
    saved: str
    percent: int
    target_date: date | None
    round_up: bool = strawberry.field(description="Round merchant payments up into this goal.")
    weekly_amount: str = strawberry.field(description="Moved in every week; 0 for none.")
    next_weekly_at: datetime | None

    @classmethod
    def from_domain(cls, g: service.Goal) -> SavingsGoalType:
        return cls(
            id=strawberry.ID(str(g.id)),
            name=g.name,
            currency=g.target.currency.value,
            target=g.target.format(),
            saved=g.saved.format(),
            percent=g.percent,
            target_date=g.target_date,
            round_up=g.round_up,
            weekly_amount=g.weekly_amount.format(),
            next_weekly_at=g.next_weekly_at,
        )


@strawberry.input
class CreateSavingsGoalInput:
    name: str
    target: str
    currency: str = "USD"
    target_date: date | None = None
    round_up: bool = False
    weekly_amount: str = "0"


@strawberry.input
class SavingsGoalRulesInput:
    goal_id: strawberry.ID
    round_up: bool
    weekly_amount: str


@strawberry.input
class SavingsMoveInput:
    goal_id: strawberry.ID
    amount: str
    idempotency_key: str


@strawberry.type
class SavingsGoalPayload:
    goal: SavingsGoalType | None = strawberry.field(description="Null once closed.")
    transaction_id: strawberry.ID | None = None
    moved: str | None = strawberry.field(default=None, description="The amount just moved.")


SavingsGoalResult = Annotated[
    SavingsGoalPayload | MoneyErrors, strawberry.union("SavingsGoalResult")
]


def _goal_id(raw: strawberry.ID) -> int:
    return int(raw) if str(raw).isdigit() else 0


async def _current(user_id: int, goal_id: int) -> SavingsGoalType | None:
    found = next((g for g in await service.goals_of(user_id) if g.id == goal_id), None)
    return None if found is None else SavingsGoalType.from_domain(found)


async def _goal_currency(user_id: int, goal_id: int) -> Currency:
    found = next((g for g in await service.goals_of(user_id) if g.id == goal_id), None)
    return found.target.currency if found else Currency.USD


@strawberry.type
class GoalQuery:
    @strawberry.field(
        description="Your active savings goals.", extensions=[SignedIn(otherwise_empty=True)]
    )
    async def savings_goals(self, info: Info) -> list[SavingsGoalType]:
        user = await info.context.require_viewer()
        return [SavingsGoalType.from_domain(g) for g in await service.goals_of(user.id)]


@strawberry.type
class GoalMutation:
    @strawberry.mutation(
        description="Start a savings goal (a vault that holds your money).", extensions=[SignedIn()]
    )
    async def create_savings_goal(
        self, info: Info, input: CreateSavingsGoalInput
    ) -> SavingsGoalResult:
        user = await info.context.require_viewer()
        target = parse_amount(input.target, input.currency)
        if not isinstance(target, Money):
            return target
        weekly = parse_amount(input.weekly_amount or "0", input.currency)
        if not isinstance(weekly, Money):
            return weekly
        try:
            goal = await service.create_goal(
                user.id,
                input.name,
                target,
                target_date=input.target_date,
                round_up=input.round_up,
                weekly=weekly,
            )
        except REFUSALS as exc:
            return refusal(exc, target.currency)
        return SavingsGoalPayload(goal=SavingsGoalType.from_domain(goal))

    @strawberry.mutation(
        description="Turn round-ups on or off and set the weekly amount.", extensions=[SignedIn()]
    )
    async def set_savings_goal_rules(
        self, info: Info, input: SavingsGoalRulesInput
    ) -> SavingsGoalResult:
        user = await info.context.require_viewer()
        goal_id = _goal_id(input.goal_id)
        weekly = parse_amount(input.weekly_amount, (await _goal_currency(user.id, goal_id)).value)
        if not isinstance(weekly, Money):
            return weekly
        try:
            goal = await service.update_rules(
                user.id, goal_id, round_up=input.round_up, weekly=weekly
            )
        except REFUSALS as exc:
            return refusal(exc, weekly.currency)
        return SavingsGoalPayload(goal=SavingsGoalType.from_domain(goal))

    @strawberry.mutation(
        description="Move money from your balance into a goal.", extensions=[SignedIn()]
    )
    async def move_to_savings_goal(self, info: Info, input: SavingsMoveInput) -> SavingsGoalResult:
        return await _move(info, input, into_goal=True)

    @strawberry.mutation(
        description="Move money from a goal back to your balance.", extensions=[SignedIn()]
    )
    async def withdraw_from_savings_goal(
        self, info: Info, input: SavingsMoveInput
    ) -> SavingsGoalResult:
        return await _move(info, input, into_goal=False)

    @strawberry.mutation(
        description="Close a goal; what it holds goes back to your balance.",
        extensions=[SignedIn()],
    )
    async def close_savings_goal(self, info: Info, goal_id: strawberry.ID) -> SavingsGoalResult:
        user = await info.context.require_viewer()
        try:
            await service.close_goal(user.id, _goal_id(goal_id))
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return SavingsGoalPayload(goal=None)


async def _move(info: Info, input: SavingsMoveInput, *, into_goal: bool) -> SavingsGoalResult:
    user = await info.context.require_viewer()
    goal_id = _goal_id(input.goal_id)
    currency = await _goal_currency(user.id, goal_id)
    amount = parse_amount(input.amount, currency.value)
    if not isinstance(amount, Money):
        return amount
    try:
        actor = await info.context.actor()
        assert actor is not None
        receipt = await service.move(
            actor, goal_id, amount, input.idempotency_key, into_goal=into_goal
        )
    except REFUSALS as exc:
        return refusal(exc, currency)
    return SavingsGoalPayload(
        goal=await _current(user.id, goal_id),
        transaction_id=strawberry.ID(str(receipt.transaction_id)),
        moved=Money(receipt.amount_minor, Currency(receipt.currency)).format(),
    )
