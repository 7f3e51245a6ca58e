"""Spending trends (monthly and weekly totals by category, income vs expenses) and the
financial health score (docs/insights.md has the formula)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from wallet.insights.budgets import as_utc, budget_statuses, month_start, next_month
from wallet.insights.categories import Activity, Category, Flow, activity_between
from wallet.money import Currency
from wallet.wallets.service import get_balance

MAX_PERIODS = 24


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    start: date
    income: int = 0
    expenses: int = 0  # expenses less refunds
    by_category: dict[Category, int] = field(default_factory=dict)


def _totals(
    starts: list[date],
    activity: list[Activity],
    currency: Currency,
    period_of: Callable[[datetime], date],
) -> list[PeriodTotals]:
    income: dict[date, int] = defaultdict(int)
    expenses: dict[date, int] = defaultdict(int)
    by_category: dict[date, dict[Category, int]] = defaultdict(lambda: defaultdict(int))
    for a in activity:
        if a.amount.currency is not currency or a.flow is None:
            continue
        start = period_of(a.created_at)
        if a.flow is Flow.INCOME:
            income[start] += a.amount.amount_minor
        else:
            signed = a.amount.amount_minor if a.flow is Flow.EXPENSE else -a.amount.amount_minor
            expenses[start] += signed
            by_category[start][a.category] += signed
    return [
        PeriodTotals(s, income[s], expenses[s], {c: v for c, v in by_category[s].items() if v})
        for s in starts
    ]


def _week_start(moment: datetime | date) -> date:
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


async def monthly(user_id: int, currency: Currency, months: int = 6) -> list[PeriodTotals]:
    """The last `months` calendar months (UTC), oldest first, this month included."""
    count = max(1, min(months, MAX_PERIODS))
    starts = [month_start(datetime.now(UTC))]
    for _ in range(count - 1):
        first = starts[0]
        starts.insert(0, month_start(date(first.year, first.month, 1) - timedelta(days=1)))
    activity = await activity_between(user_id, as_utc(starts[0]), as_utc(next_month(starts[-1])))
    return _totals(starts, activity, currency, month_start)


async def weekly(user_id: int, currency: Currency, weeks: int = 8) -> list[PeriodTotals]:
    """The last `weeks` ISO weeks (Monday to Sunday, UTC), oldest first."""
    count = max(1, min(weeks, MAX_PERIODS))
    this_week = _week_start(datetime.now(UTC))
    starts = [this_week - timedelta(weeks=n) for n in range(count - 1, -1, -1)]
    since = datetime(starts[0].year, starts[0].month, starts[0].day, tzinfo=UTC)
    activity = await activity_between(user_id, since, since + timedelta(weeks=count))
    return _totals(starts, activity, currency, _week_start)


@dataclass(frozen=True, slots=True)
class Health:
    score: int  # 0 to 100
    savings_rate: Decimal  # (income - expenses) / income over the last 90 days
    buffer_months: Decimal  # available balance / average monthly expenses
    budgets_on_track: Decimal  # share of this month's budgets under 100 %
    income: int
    expenses: int


def _clamp(value: Decimal) -> Decimal:
    return min(max(value, Decimal(0)), Decimal(1))


def health_score(
    income: int, expenses: int, balance: int, budgets_under: int, budgets_total: int
) -> Health:
    """score = 100 x (0.5 x min(savings rate / 20 %, 1) + 0.3 x min(buffer / 3 months, 1)
    + 0.2 x share of budgets on track), each part clamped to [0, 1]; 90 days of activity."""
    if income > 0:
        savings_rate = Decimal(income - expenses) / Decimal(income)
    else:
        savings_rate = Decimal(-1 if expenses > 0 else 0)
    monthly_expenses = Decimal(max(expenses, 0)) / 3
    buffer = Decimal(balance) / monthly_expenses if monthly_expenses else Decimal(12)
    on_track = Decimal(budgets_under) / budgets_total if budgets_total else Decimal(1)
    raw = (
        Decimal("0.5") * _clamp(savings_rate / Decimal("0.2"))
        + Decimal("0.3") * _clamp(buffer / 3)
        + Decimal("0.2") * _clamp(on_track)
    )
    quantum = Decimal("0.01")
    return Health(
        score=int((raw * 100).to_integral_value(ROUND_HALF_UP)),
        savings_rate=savings_rate.quantize(quantum, ROUND_HALF_UP),
        buffer_months=min(buffer, Decimal(99)).quantize(quantum, ROUND_HALF_UP),
        budgets_on_track=on_track.quantize(quantum, ROUND_HALF_UP),
        income=income,
        expenses=expenses,
    )


async def financial_health(user_id: int, currency: Currency) -> Health:
    now = datetime.now(UTC)
    activity = await activity_between(user_id, now - timedelta(days=90), now + timedelta(seconds=1))
    income = sum(
        a.amount.amount_minor
        for a in activity
        if a.flow is Flow.INCOME and a.amount.currency is currency
    )
    expenses = sum(
        (a.amount.amount_minor if a.flow is Flow.EXPENSE else -a.amount.amount_minor)
        for a in activity
        if a.flow in (Flow.EXPENSE, Flow.REFUND) and a.amount.currency is currency
    )
    balance = await get_balance(user_id, currency)
    statuses = [s for s in await budget_statuses(user_id) if s.budget.amount.currency is currency]
    under = sum(1 for s in statuses if s.percent < 100)
    return health_score(income, expenses, balance.available if balance else 0, under, len(statuses))
