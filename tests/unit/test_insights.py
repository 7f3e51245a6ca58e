"""Budget rollover and the financial health formula (docs/insights.md)."""

from datetime import date
from decimal import Decimal

from wallet.insights.budgets import Budget, status_in
from wallet.insights.categories import Category
from wallet.insights.trends import health_score
from wallet.money import Currency, Money

USD = Currency.USD


def budget(rollover: bool) -> Budget:
    return Budget(1, Category.FOOD, Money(10_000, USD), rollover, (80, 100), date(2026, 8, 1))


def test_rollover_carries_what_was_left_month_after_month() -> None:
    spent = {
        (Category.FOOD, USD, date(2026, 8, 1)): 6_000,  # 40 left
        (Category.FOOD, USD, date(2026, 9, 1)): 12_000,  # 140 available, 20 left
        (Category.FOOD, USD, date(2026, 10, 1)): 15_000,  # 120 available, overspent
        (Category.FOOD, USD, date(2026, 11, 1)): 2_500,
        (Category.HEALTH, USD, date(2026, 10, 1)): 99_999,  # another category
    }
    november = status_in(budget(rollover=True), date(2026, 11, 1), spent)
    # Overspending resets to the plain amount; it never eats into next month.
    assert (november.available, november.spent) == (Money(10_000, USD), Money(2_500, USD))
    october = status_in(budget(rollover=True), date(2026, 10, 1), spent)
    assert october.available == Money(12_000, USD)
    assert (october.percent, october.remaining) == (125, Money(-3_000, USD))
    plain = status_in(budget(rollover=False), date(2026, 10, 1), spent)
    assert plain.available == Money(10_000, USD)


def test_health_weighs_savings_buffer_and_budgets() -> None:
    # Saves 10 % (half of the 20 % target), 1.5 months of buffer, 1 of 2 budgets on track.
    h = health_score(
        income=100_000, expenses=90_000, balance=45_000, budgets_under=1, budgets_total=2
    )
    assert (h.savings_rate, h.buffer_months, h.budgets_on_track) == (
        Decimal("0.10"),
        Decimal("1.50"),
        Decimal("0.50"),
    )
    assert h.score == 50  # 100 x (0.5 x 0.5 + 0.3 x 0.5 + 0.2 x 0.5)
    broke = health_score(income=0, expenses=5_000, balance=0, budgets_under=0, budgets_total=1)
    assert (broke.score, broke.savings_rate) == (0, Decimal(-1))
    quiet = health_score(income=0, expenses=0, balance=0, budgets_under=0, budgets_total=0)
    assert quiet.score == 50  # nothing saved yet, nothing spent, no budgets
