"""Monthly budgets per category and currency, with rollover and threshold alerts.

Spent in a month = the category's expenses less its refunds (UTC calendar months). With
rollover, a month's budget is its amount plus whatever was left of the previous month's
(cumulative since the budget started, never below the amount). An alert goes out once
per budget, month and threshold, the first time spending reaches it.

Budgets also act at the moment of paying (`impact_of`, `check_payment`): a payment is
put in the category it will have once made (the person's rules on the payee, then the
merchant's MCC), and the review screen says when it would take that category's budget
over. A strict budget refuses it (`BudgetWouldBeExceeded`) until the person confirms a
second time; the payment commands run that check in their policy step.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from wallet.db.engine import Connection
from wallet.errors import OverBudget
from wallet.insights import queries
from wallet.insights.categories import (
    COUNTED,
    Activity,
    Category,
    Flow,
    activity_between,
    activity_from_row,
)
from wallet.insights.categories import activity_of as activity_of_transaction
from wallet.insights.errors import CategoryError
from wallet.insights.tables import Budget as BudgetRow
from wallet.money import Currency, Money
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices, event_payload

MAX_ALERTS = 5


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def as_utc(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Budget:
    id: int
    category: Category
    amount: Money
    rollover: bool
    alert_percents: tuple[int, ...]
    starts_month: date
    # A payment that would take it over waits for a second confirmation.
    strict: bool = False


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: Budget
    month: date
    available: Money  # this month's budget, rollover included
    spent: Money

    @property
    def percent(self) -> int:
        if self.available.amount_minor <= 0:
            return 0
        return max(self.spent.amount_minor, 0) * 100 // self.available.amount_minor

    @property
    def remaining(self) -> Money:
        return self.available - self.spent


async def set_budget(
    user_id: int,
    category: Category,
    amount: Money,
    *,
    rollover: bool = False,
    alert_percents: tuple[int, ...] = (80, 100),
    strict: bool = False,
) -> Budget:
    """Create or change the user's monthly budget for `category` in `amount`'s currency."""
    if category in (Category.INCOME, Category.TRANSFERS):
        raise CategoryError("category", f"Budgets are for spending, not {category.value}")
    if not amount.is_positive:
        raise CategoryError("amount", "A budget must be more than zero")
    percents = tuple(sorted(set(alert_percents)))
    if len(percents) > MAX_ALERTS or any(not 1 <= p <= 200 for p in percents):
        raise CategoryError("alertPercents", f"Up to {MAX_ALERTS} alerts, each 1 to 200 %")
    [row] = (
        await BudgetRow.insert(
            BudgetRow(
                user_id=user_id,
                category=category.value,
                currency=amount.currency.value,
                amount=amount.amount_minor,
                rollover=rollover,
                strict=strict,
                alert_percents=list(percents),
            )
        )
        .on_conflict(
            target=(BudgetRow.user_id, BudgetRow.category, BudgetRow.currency),
            action="DO UPDATE",
            values=[
                BudgetRow.amount,
                BudgetRow.rollover,
                BudgetRow.strict,
                BudgetRow.alert_percents,
            ],
        )
        .returning(BudgetRow.id, BudgetRow.starts_month)
    )
    return Budget(int(row["id"]), category, amount, rollover, percents, row["starts_month"], strict)


async def delete_budget(user_id: int, budget_id: int) -> bool:
    gone = (
        await BudgetRow.delete()
        .where((BudgetRow.id == budget_id) & (BudgetRow.user_id == user_id))
        .returning(BudgetRow.id)
    )
    return bool(gone)


async def budgets_of(user_id: int) -> list[Budget]:
    rows = await (
        BudgetRow.select(
            BudgetRow.id,
            BudgetRow.category,
            BudgetRow.currency,
            BudgetRow.amount,
            BudgetRow.rollover,
            BudgetRow.alert_percents,
            BudgetRow.starts_month,
            BudgetRow.strict,
        )
        .where(BudgetRow.user_id == user_id)
        .order_by(BudgetRow.category, BudgetRow.currency)
    )
    return [
        Budget(
            int(r["id"]),
            Category(r["category"]),
            Money(int(r["amount"]), Currency(r["currency"])),
            r["rollover"],
            tuple(r["alert_percents"]),
            r["starts_month"],
            r["strict"],
        )
        for r in rows
    ]


def spent_by_month(activity: list[Activity]) -> dict[tuple[Category, Currency, date], int]:
    spent: dict[tuple[Category, Currency, date], int] = defaultdict(int)
    for a in activity:
        sign = {Flow.EXPENSE: 1, Flow.REFUND: -1}.get(a.flow) if a.flow else None
        if sign is not None:
            key = (a.category, a.amount.currency, month_start(a.created_at))
            spent[key] += sign * a.amount.amount_minor
    return spent


def status_in(
    budget: Budget, month: date, spent: dict[tuple[Category, Currency, date], int]
) -> BudgetStatus:
    currency = budget.amount.currency
    available = budget.amount.amount_minor
    current = month_start(budget.starts_month)
    while current < month:
        left = available - spent.get((budget.category, currency, current), 0)
        available = budget.amount.amount_minor + (max(left, 0) if budget.rollover else 0)
        current = next_month(current)
    used = spent.get((budget.category, currency, month), 0)
    return BudgetStatus(budget, month, Money(available, currency), Money(used, currency))


async def budget_statuses(user_id: int, month: date | None = None) -> list[BudgetStatus]:
    """Each budget's amount for `month` (this month by default) and what was spent."""
    target = month_start(month or datetime.now(UTC))
    budgets = await budgets_of(user_id)
    if not budgets:
        return []
    since = min([month_start(b.starts_month) for b in budgets] + [target])
    activity = await activity_between(user_id, as_utc(since), as_utc(next_month(target)))
    spent = spent_by_month(activity)
    return [status_in(b, target, spent) for b in budgets if month_start(b.starts_month) <= target]


@dataclass(frozen=True, slots=True)
class BudgetImpact:
    """What a payment would do to the budget of the category it falls in."""

    status: BudgetStatus  # this month, before the payment
    amount: Money

    @property
    def after(self) -> Money:
        return self.status.spent + self.amount

    @property
    def exceeds(self) -> bool:
        return self.status.available < self.after

    @property
    def over_by(self) -> Money:
        over = self.after - self.status.available
        return over if over.is_positive else Money.zero(over.currency)


class BudgetWouldBeExceeded(OverBudget):
    def __init__(self, impact: BudgetImpact) -> None:
        status = impact.status
        self.budget_id = status.budget.id
        self.category = status.budget.category.value
        self.spent = status.spent
        self.limit = status.available
        self.amount = impact.amount
        name = status.budget.category.value.capitalize()
        super().__init__(
            f"This payment would take your {name} budget over by "
            f"{impact.over_by.display()}: {status.spent.display()} of "
            f"{status.available.display()} is spent this month. Confirm it again to pay anyway."
        )


async def impact_of(
    conn: Connection,
    user_id: int,
    *,
    payee: str,
    mcc: str | None,
    amount: Money,
    lock: bool = False,
) -> BudgetImpact | None:
    """What paying `amount` to `payee` (a merchant with `mcc`, if one) now would do to
    the budget of its category; None when no budget covers it. With `lock`, the budget's
    row is locked first, so two payments against it are judged one after the other: the
    second sees the first's spending once it commits."""
    # The payment's policy (`lock`) cares only for strict budgets: a payment that falls
    # in a budget that only warns takes no lock and reads no history.
    query = queries.BUDGET_FOR_PAYMENT + (" AND b.strict FOR UPDATE OF b" if lock else "")
    row = await conn.fetchrow(query, user_id, payee, mcc, amount.currency.value)
    if row is None:
        return None
    budget = Budget(
        int(row["id"]),
        Category(row["category"]),
        Money(int(row["amount"]), amount.currency),
        row["rollover"],
        tuple(row["alert_percents"]),
        row["starts_month"],
        row["strict"],
    )
    month = month_start(datetime.now(UTC))
    # Only rollover carries earlier months into this one's budget.
    since = min(month_start(budget.starts_month), month) if budget.rollover else month
    rows = await conn.fetch(
        queries.ACTIVITY_BETWEEN, user_id, as_utc(since), as_utc(next_month(month)), list(COUNTED)
    )
    spent = spent_by_month([activity_from_row(r) for r in rows])
    return BudgetImpact(status_in(budget, month, spent), amount)


async def check_payment(
    conn: Connection,
    user_id: int,
    *,
    payee: str,
    mcc: str | None,
    amount: Money,
    override: bool,
) -> None:
    """The policy step of a payment: refuse one that would take a strict budget over,
    unless the person confirmed it (`override`)."""
    if override:
        return
    impact = await impact_of(conn, user_id, payee=payee, mcc=mcc, amount=amount, lock=True)
    if impact is not None and impact.status.budget.strict and impact.exceeds:
        raise BudgetWouldBeExceeded(impact)


async def alerts_for(user_id: int, transaction_id: int) -> list[Notice]:
    """Budget alerts the user's transaction may have set off (deduplicated downstream)."""
    activity = await activity_of_transaction(user_id, transaction_id)
    if activity is None or activity.flow is not Flow.EXPENSE:
        return []
    month = month_start(activity.created_at)
    notices = []
    for status in await budget_statuses(user_id, month):
        budget = status.budget
        if budget.category is not activity.category:
            continue
        if budget.amount.currency is not activity.amount.currency:
            continue
        for percent in budget.alert_percents:
            if status.percent < percent:
                continue
            what = f"{budget.category.value.capitalize()} budget"
            spent = f"{status.spent.display()} of {status.available.display()}"
            notices.append(
                Notice(
                    user_id,
                    "budget_alert",
                    f"{what}: {percent}% used" if percent != 100 else f"{what} reached",
                    f"You have spent {spent} this month",
                    f"budget:{budget.id}:{month.isoformat()}:{percent}",
                    transaction_id,
                )
            )
    return notices


async def alert_on_event(event_id: int, *, email: EmailProvider) -> int:
    """Budget alerts for a `transaction.updated` event (a worker job; safe to repeat)."""
    payload = await event_payload(event_id)
    if payload is None or payload.get("status") not in COUNTED:
        return 0
    notices: list[Notice] = []
    for user_id in payload.get("user_ids", []):
        notices += await alerts_for(int(user_id), int(payload["transaction_id"]))
    return await deliver_notices(notices, email)
