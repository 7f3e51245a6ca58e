from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.money import (
    Currency,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    UnknownCurrency,
    format_money,
)

currencies = st.sampled_from(list(Currency))
minor_amounts = st.integers(min_value=-(10**15), max_value=10**15)


@given(minor_amounts, currencies)
def test_format_then_parse_round_trips_exactly(amount: int, currency: Currency) -> None:
    money = Money(amount, currency)
    assert Money.parse(money.format(), currency) == money


@given(st.lists(minor_amounts, min_size=1, max_size=20), currencies)
def test_sum_of_money_equals_sum_of_minor_units(amounts: list[int], currency: Currency) -> None:
    total = Money.zero(currency)
    for a in amounts:
        total = total + Money(a, currency)
    assert total.amount_minor == sum(amounts)


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2))
def test_parse_matches_decimal_value_for_cents(value: Decimal) -> None:
    assert Money.parse(str(value), "USD").amount_minor == int(value * 100)


def test_jpy_has_no_minor_digits() -> None:
    assert Money.parse("1500", Currency.JPY).amount_minor == 1500
    assert Money(1500, Currency.JPY).format() == "1500"
    with pytest.raises(InvalidAmount):
        Money.parse("15.5", Currency.JPY)


@pytest.mark.parametrize("text", ["12.345", "1e3", "", "abc", "1.2.3", "--1", "0x10", " . "])
def test_rejects_malformed_or_too_precise_usd(text: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse(text, Currency.USD)


def test_trailing_zeros_beyond_exponent_are_fine() -> None:
    assert Money.parse("12.3400", Currency.USD).amount_minor == 1234


def test_unknown_currency_is_rejected() -> None:
    with pytest.raises(UnknownCurrency):
        Money.parse("1.00", "XYZ")


def test_mixing_currencies_raises() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(1, Currency.USD) + Money(1, Currency.EUR)


def test_float_amounts_are_refused() -> None:
    with pytest.raises(TypeError):
        Money(1.5, Currency.USD)  # type: ignore[arg-type]


def test_negative_format_keeps_sign_and_padding() -> None:
    assert Money(-5, Currency.USD).format() == "-0.05"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1234, Currency.USD, "$12.34"),
        (100_000, Currency.EUR, "€1,000.00"),
        (-500, Currency.GBP, "-£5.00"),
        (1_200, Currency.JPY, "¥1,200"),
        (123_456_789, Currency.INR, "₹1,234,567.89"),
        (5, Currency.BRL, "R$0.05"),
        (0, Currency.USD, "$0.00"),
    ],
)
def test_display_writes_money_the_way_people_read_it(
    amount: int, currency: Currency, shown: str
) -> None:
    assert Money(amount, currency).display() == shown
    assert format_money(amount, currency.value) == shown


@given(minor_amounts, currencies)
def test_display_is_the_plain_amount_with_a_symbol_and_grouped_digits(
    amount: int, currency: Currency
) -> None:
    """Never "12.34 USD": a symbol first, the digits of `format` with thousands grouped."""
    shown = Money(amount, currency).display()
    assert currency.value not in shown
    plain = shown.replace(",", "").lstrip("-")
    assert plain.endswith(Money(abs(amount), currency).format())
    assert shown.startswith("-") == (amount < 0)
