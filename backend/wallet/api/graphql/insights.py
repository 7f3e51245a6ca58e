"""GraphQL surface of insights: categories, rules, budgets, trends, financial health."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.exports import service as exports
from wallet.insights import budgets, categories, reminders, trends
from wallet.insights.categories import Category
from wallet.money import Currency, Money, UnknownCurrency

SpendingCategory = strawberry.enum(Category, name="SpendingCategory")


@strawberry.type(name="CategoryAmount")
class CategoryAmountType:
    category: SpendingCategory  # type: ignore[valid-type]
    amount: str


@strawberry.type(name="PeriodTotals", description="Amounts in the asked currency.")
class PeriodTotalsType:
    start: date
    income: str
    expenses: str = strawberry.field(description="Spending less refunds.")
    by_category: list[CategoryAmountType]

    @classmethod
    def from_domain(cls, p: trends.PeriodTotals, currency: Currency) -> PeriodTotalsType:
        def fmt(minor: int) -> str:
            return Money(minor, currency).format()

        return cls(
            start=p.start,
            income=fmt(p.income),
            expenses=fmt(p.expenses),
            by_category=[
                CategoryAmountType(category=c, amount=fmt(v))
                for c, v in sorted(p.by_category.items(), key=lambda kv: -kv[1])
            ],
        )


@strawberry.type(name="BudgetStatus")
class BudgetStatusType:
    id: strawberry.ID
    category: SpendingCategory  # type: ignore[valid-type]
    currency: str
    amount: str = strawberry.field(description="The monthly amount set.")
    available: str = strawberry.field(description="This month's budget, rollover included.")
    spent: str
    remaining: str
    percent: int
    rollover: bool
    alert_percents: list[int]
    strict: bool = strawberry.field(
        description="A payment that would take it over waits for a second confirmation."
    )

    @classmethod
    def from_domain(cls, s: budgets.BudgetStatus) -> BudgetStatusType:
        b = s.budget
        return cls(
            id=strawberry.ID(str(b.id)),
            category=b.category,
            currency=b.amount.currency.value,
            amount=b.amount.format(),
            available=s.available.format(),
            spent=s.spent.format(),
            remaining=s.remaining.format(),
            percent=s.percent,
            rollover=b.rollover,
            alert_percents=list(b.alert_percents),
            strict=b.strict,
        )


@strawberry.type(
    name="BudgetImpact",
    description="What a payment would do to the budget of the category it falls in.",
)
class BudgetImpactType:
    budget_id: strawberry.ID
    category: SpendingCategory  # type: ignore[valid-type]
    currency: str
    spent: str = strawberry.field(description="Spent this month, before this payment.")
    limit: str = strawberry.field(description="This month's budget, rollover included.")
    amount: str = strawberry.field(description="This payment.")
    spent_after: str
    remaining_after: str = strawberry.field(description="Negative when it goes over.")
    exceeds: bool
    over_by: str = strawberry.field(description="How far over it takes the budget (0 if not).")
    strict: bool = strawberry.field(
        description="Paying needs a second confirmation (overrideBudget) when it exceeds."
    )

    @classmethod
    def from_domain(cls, impact: budgets.BudgetImpact) -> BudgetImpactType:
        status = impact.status
        return cls(
            budget_id=strawberry.ID(str(status.budget.id)),
            category=status.budget.category,
            currency=impact.amount.currency.value,
            spent=status.spent.format(),
            limit=status.available.format(),
            amount=impact.amount.format(),
            spent_after=impact.after.format(),
            remaining_after=(status.available - impact.after).format(),
            exceeds=impact.exceeds,
            over_by=impact.over_by.format(),
            strict=status.budget.strict,
        )


@strawberry.type(name="FinancialHealth", description="See docs/insights.md for the formula.")
class FinancialHealthType:
    score: int
    savings_rate: str
    buffer_months: str
    budgets_on_track: str
    income: str
    expenses: str


@strawberry.type(name="CategoryRule")
class CategoryRuleType:
    id: strawberry.ID
    pattern: str
    category: SpendingCategory  # type: ignore[valid-type]


@strawberry.input
class SetBudgetInput:
    category: SpendingCategory  # type: ignore[valid-type]
    amount: str
    currency: str = "USD"
    rollover: bool = False
    alert_percents: list[int] = strawberry.field(default_factory=lambda: [80, 100])
    strict: bool = strawberry.field(
        default=False,
        description="Hold a payment that would take it over for a second confirmation.",
    )


@strawberry.type
class BudgetPayload:
    budget: BudgetStatusType


@strawberry.type
class CategoryRulePayload:
    rule: CategoryRuleType


@strawberry.type
class CategorizePayload:
    transaction_id: strawberry.ID
    category: SpendingCategory  # type: ignore[valid-type]


@strawberry.type
class DeletedPayload:
    deleted: bool


BudgetResult = Annotated[BudgetPayload | MoneyErrors, strawberry.union("BudgetResult")]
CategoryRuleResult = Annotated[
    CategoryRulePayload | MoneyErrors, strawberry.union("CategoryRuleResult")
]
CategorizeResult = Annotated[CategorizePayload | MoneyErrors, strawberry.union("CategorizeResult")]


def _currency(code: str) -> Currency:
    try:
        return Currency.parse(code)
    except UnknownCurrency:
        return Currency.USD


@strawberry.type
class InsightsQuery:
    @strawberry.field(
        description="This month's budgets (or `month`'s) and what was spent.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def budgets(self, info: Info, month: date | None = None) -> list[BudgetStatusType]:
        user = await info.context.require_viewer()
        return [
            BudgetStatusType.from_domain(s) for s in await budgets.budget_statuses(user.id, month)
        ]

    @strawberry.field(
        description="Monthly income, expenses and spending by category.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def spending_trends(
        self, info: Info, currency: str = "USD", months: int = 6
    ) -> list[PeriodTotalsType]:
        user = await info.context.require_viewer()
        code = _currency(currency)
        periods = await trends.monthly(user.id, code, months)
        return [PeriodTotalsType.from_domain(p, code) for p in periods]

    @strawberry.field(
        description="The same by ISO week (Monday first).",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def weekly_spending(
        self, info: Info, currency: str = "USD", weeks: int = 8
    ) -> list[PeriodTotalsType]:
        user = await info.context.require_viewer()
        code = _currency(currency)
        periods = await trends.weekly(user.id, code, weeks)
        return [PeriodTotalsType.from_domain(p, code) for p in periods]

    @strawberry.field(
        description="A 0-100 score from the last 90 days in one currency.",
        extensions=[SignedIn(otherwise_null=True)],
    )
    async def financial_health(
        self, info: Info, currency: str = "USD"
    ) -> FinancialHealthType | None:
        user = await info.context.require_viewer()
        code = _currency(currency)
        h = await trends.financial_health(user.id, code)
        return FinancialHealthType(
            score=h.score,
            savings_rate=str(h.savings_rate),
            buffer_months=str(h.buffer_months),
            budgets_on_track=str(h.budgets_on_track),
            income=Money(h.income, code).format(),
            expenses=Money(h.expenses, code).format(),
        )

    @strawberry.field(
        description="Your 'payee contains X' rules, earliest (strongest) first.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def category_rules(self, info: Info) -> list[CategoryRuleType]:
        user = await info.context.require_viewer()
        return [
            CategoryRuleType(id=strawberry.ID(str(r.id)), pattern=r.pattern, category=r.category)
            for r in await categories.rules_of(user.id)
        ]


@strawberry.type
class InsightsMutation:
    @strawberry.mutation(
        description="Set a monthly budget for a category (one per currency).",
        extensions=[SignedIn()],
    )
    async def set_budget(self, info: Info, input: SetBudgetInput) -> BudgetResult:
        user = await info.context.require_viewer()
        amount = parse_amount(input.amount, input.currency)
        if not isinstance(amount, Money):
            return amount
        try:
            await budgets.set_budget(
                user.id,
                input.category,
                amount,
                rollover=input.rollover,
                alert_percents=tuple(input.alert_percents),
                strict=input.strict,
            )
        except REFUSALS as exc:
            return refusal(exc, amount.currency)
        statuses = await budgets.budget_statuses(user.id)
        status = next(
            s
            for s in statuses
            if s.budget.category is input.category and s.budget.amount.currency is amount.currency
        )
        return BudgetPayload(budget=BudgetStatusType.from_domain(status))

    @strawberry.mutation
    async def delete_budget(self, info: Info, id: strawberry.ID) -> DeletedPayload:
        user = await info.context.require_viewer()
        deleted = str(id).isdigit() and await budgets.delete_budget(user.id, int(id))
        return DeletedPayload(deleted=deleted)

    @strawberry.mutation(
        description="Payee contains `pattern` -> `category`, from now on.", extensions=[SignedIn()]
    )
    async def add_category_rule(
        self,
        info: Info,
        pattern: str,
        category: SpendingCategory,  # type: ignore[valid-type]
    ) -> CategoryRuleResult:
        user = await info.context.require_viewer()
        try:
            rule = await categories.add_rule(user.id, pattern, category)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return CategoryRulePayload(
            rule=CategoryRuleType(
                id=strawberry.ID(str(rule.id)), pattern=rule.pattern, category=rule.category
            )
        )

    @strawberry.mutation
    async def delete_category_rule(self, info: Info, id: strawberry.ID) -> DeletedPayload:
        user = await info.context.require_viewer()
        deleted = str(id).isdigit() and await categories.delete_rule(user.id, int(id))
        return DeletedPayload(deleted=deleted)

    @strawberry.mutation(
        description="Put one transaction in a category; null goes back to rules.",
        extensions=[SignedIn()],
    )
    async def categorize_transaction(
        self,
        info: Info,
        transaction_id: strawberry.ID,
        category: SpendingCategory | None = None,  # type: ignore[valid-type]
    ) -> CategorizeResult:
        user = await info.context.require_viewer()
        raw = str(transaction_id)
        try:
            resolved = await categories.categorize(
                user.id, int(raw) if raw.isdigit() else 0, category
            )
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return CategorizePayload(transaction_id=transaction_id, category=resolved)


@strawberry.type(name="Statement")
class StatementType:
    month: date
    created_at: datetime
    size_bytes: int
    download_url: str


@strawberry.type
class StatementRequestedPayload:
    month: date


StatementRequestResult = Annotated[
    StatementRequestedPayload | MoneyErrors, strawberry.union("StatementRequestResult")
]


@strawberry.type
class ExportQuery:
    @strawberry.field(
        description="Your monthly statements (PDF), newest first.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def statements(self, info: Info) -> list[StatementType]:
        user = await info.context.require_viewer()
        return [
            StatementType(
                month=s.month,
                created_at=s.created_at,
                size_bytes=s.size,
                download_url=f"/export/statements/{s.month:%Y-%m}",
            )
            for s in await exports.statements_of(user.id)
        ]


@strawberry.type
class ExportMutation:
    @strawberry.mutation(
        description="Ask for a month's statement; the worker builds it.", extensions=[SignedIn()]
    )
    async def request_statement(self, info: Info, month: date) -> StatementRequestResult:
        user = await info.context.require_viewer()
        try:
            first = await exports.request_statement(user.id, month)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return StatementRequestedPayload(month=first)


@strawberry.type(name="BillReminder")
class BillReminderType:
    id: strawberry.ID | None = strawberry.field(description="Null for a suggestion.")
    name: str
    amount: str
    currency: str
    day_of_month: int
    next_due: date
    remind_days_before: int
    source: str

    @classmethod
    def from_domain(cls, r: reminders.Reminder) -> BillReminderType:
        return cls(
            id=strawberry.ID(str(r.id)) if r.id is not None else None,
            name=r.name,
            amount=r.amount.format(),
            currency=r.amount.currency.value,
            day_of_month=r.day_of_month,
            next_due=r.next_due,
            remind_days_before=r.remind_days_before,
            source=r.source,
        )


@strawberry.input
class BillReminderInput:
    name: str
    amount: str
    currency: str = "USD"
    day_of_month: int
    remind_days_before: int = 3


@strawberry.type
class BillReminderPayload:
    reminder: BillReminderType


BillReminderResult = Annotated[
    BillReminderPayload | MoneyErrors, strawberry.union("BillReminderResult")
]


@strawberry.type
class ReminderQuery:
    @strawberry.field(
        description="Your bill reminders, soonest first.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def bill_reminders(self, info: Info) -> list[BillReminderType]:
        user = await info.context.require_viewer()
        return [BillReminderType.from_domain(r) for r in await reminders.reminders_of(user.id)]

    @strawberry.field(
        description="Payees you pay every month that have no reminder yet.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def suggested_bill_reminders(self, info: Info) -> list[BillReminderType]:
        user = await info.context.require_viewer()
        return [BillReminderType.from_domain(r) for r in await reminders.detect(user.id)]


@strawberry.type
class ReminderMutation:
    @strawberry.mutation(description="Remind me of a monthly bill.", extensions=[SignedIn()])
    async def create_bill_reminder(
        self, info: Info, input: BillReminderInput
    ) -> BillReminderResult:
        user = await info.context.require_viewer()
        amount = parse_amount(input.amount, input.currency)
        if not isinstance(amount, Money):
            return amount
        try:
            made = await reminders.create_reminder(
                user.id,
                input.name,
                amount,
                input.day_of_month,
                remind_days_before=input.remind_days_before,
            )
        except REFUSALS as exc:
            return refusal(exc, amount.currency)
        return BillReminderPayload(reminder=BillReminderType.from_domain(made))

    @strawberry.mutation(
        description="Keep a suggested reminder (its index in the list).", extensions=[SignedIn()]
    )
    async def accept_suggested_bill_reminder(self, info: Info, index: int) -> BillReminderResult:
        user = await info.context.require_viewer()
        try:
            made = await reminders.accept_detected(user.id, index)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return BillReminderPayload(reminder=BillReminderType.from_domain(made))

    @strawberry.mutation
    async def delete_bill_reminder(self, info: Info, id: strawberry.ID) -> DeletedPayload:
        user = await info.context.require_viewer()
        deleted = str(id).isdigit() and await reminders.delete_reminder(user.id, int(id))
        return DeletedPayload(deleted=deleted)
