"""Money: integer minor units plus an ISO 4217 currency. Never float.

Parsing and formatting of decimal strings happen here, at the edge; everything inside
the service works on `Money` values whose arithmetic refuses to mix currencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

from wallet.errors import Refusal


class Currency(Enum):
    """Supported ISO 4217 currencies; the value is the code, `exponent` its minor digits."""

    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"
    JPY = "JPY"
    INR = "INR"
    BRL = "BRL"

    @property
    def exponent(self) -> int:
        return _EXPONENTS[self]

    @classmethod
    def parse(cls, code: str) -> Currency:
        try:
            return cls(code.strip().upper())
        except ValueError:
            raise UnknownCurrency(code) from None


_EXPONENTS: dict[Currency, int] = {
    Currency.USD: 2,
    Currency.EUR: 2,
    Currency.GBP: 2,
    Currency.JPY: 0,
    Currency.INR: 2,
    Currency.BRL: 2,
}


# How people write each currency before the amount (en locale: "$", "€1,000.00").
_SYMBOLS: dict[Currency, str] = {
    Currency.USD: "$",
    Currency.EUR: "€",
    Currency.GBP: "£",
    Currency.JPY: "¥",
    Currency.INR: "₹",
    Currency.BRL: "R$",
}


def format_money(amount_minor: int, currency: Currency | str) -> str:
    """`Money.display` for an amount still in parts (a row's minor units and code)."""
    cur = currency if isinstance(currency, Currency) else Currency.parse(currency)
    return Money(amount_minor, cur).display()


class MoneyError(Refusal, ValueError):
    """Base for invalid money input."""

    field = "amount"


class UnknownCurrency(MoneyError):
    field = "currency"

    def __init__(self, code: str) -> None:
        super().__init__(f"Unknown currency {code!r}")
        self.currency_code = code


class CurrencyMismatch(MoneyError):
    field = "currency"

    def __init__(self, left: Currency, right: Currency) -> None:
        super().__init__(f"Cannot combine {left.value} with {right.value}")


class InvalidAmount(MoneyError):
    """An amount string that is not a plain decimal, or has too many decimals."""


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: Currency

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("Money.amount_minor must be an int of minor units")

    @classmethod
    def zero(cls, currency: Currency) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, amount: str, currency: Currency | str) -> Money:
        """Parse a decimal string like ``"12.34"``; reject more decimals than the currency has."""
        cur = currency if isinstance(currency, Currency) else Currency.parse(currency)
        text = amount.strip()
        if not text or len(text) > 40 or any(c not in "0123456789.-" for c in text):
            raise InvalidAmount(f"{amount!r} is not a decimal amount")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise InvalidAmount(f"{amount!r} is not a decimal amount") from None
        scaled = value.scaleb(cur.exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(
                f"{cur.value} allows at most {cur.exponent} decimal places, got {amount!r}"
            )
        return cls(int(scaled), cur)

    def format(self) -> str:
        """Plain decimal string with exactly the currency's number of decimals."""
        exp = self.currency.exponent
        sign = "-" if self.amount_minor < 0 else ""
        units, minor = divmod(abs(self.amount_minor), 10**exp)
        return f"{sign}{units}.{minor:0{exp}d}" if exp else f"{sign}{units}"

    def display(self) -> str:
        """For people to read (notifications, emails, texts): the currency's symbol and
        grouped digits, "$12.34", "€1,000.00", "-£5.00", "¥1,200". One formatter for all
        text the server writes; GraphQL amounts stay plain decimals (`format`)."""
        exp = self.currency.exponent
        sign = "-" if self.amount_minor < 0 else ""
        units, minor = divmod(abs(self.amount_minor), 10**exp)
        digits = f"{units:,}" + (f".{minor:0{exp}d}" if exp else "")
        return f"{sign}{_SYMBOLS[self.currency]}{digits}"

    def _check(self, other: Money) -> None:
        if other.currency is not self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor <= other.amount_minor

    @property
    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def __str__(self) -> str:
        return f"{self.format()} {self.currency.value}"
