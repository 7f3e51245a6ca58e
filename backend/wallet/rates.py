"""Where exchange rates come from: a small provider interface and two implementations.
Every domain that values money in another currency reads them; the conversion desk
(`wallet.fx`) prices from them.

A provider returns a `RateSnapshot`: units of each currency per one US dollar, and when
they were observed. Quotes refuse a snapshot older than the configured age; limit
checks (which only need a USD equivalent) accept the last one they saw.

- `SandboxRates`: fixed, deterministic mid rates, observed "now".
- `FeedRates`: a JSON document at a file path or http(s) URL, refreshed at most every
  `refresh_seconds`:  {"base": "USD", "as_of": "2026-11-26T12:00:00Z",
                       "rates": {"EUR": "0.9213", "JPY": "151.37", ...}}
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

import httpx

from wallet.errors import TryLater
from wallet.money import Currency, Money

# Cross rates are kept to 12 decimal places (the quote table's precision).
RATE_QUANTUM = Decimal("1e-12")


class RatesUnavailable(TryLater):
    """No usable rate: the feed failed, lacks the currency, or is too old."""


@dataclass(frozen=True, slots=True)
class RateSnapshot:
    per_usd: dict[Currency, Decimal]
    as_of: datetime

    def mid(self, sell: Currency, buy: Currency) -> Decimal:
        """Units of `buy` per one unit of `sell`, to 12 decimal places (half-even)."""
        try:
            rate = self.per_usd[buy] / self.per_usd[sell]
        except KeyError as missing:
            raise RatesUnavailable(f"no rate for {missing.args[0].value}") from None
        return rate.quantize(RATE_QUANTUM, ROUND_HALF_EVEN)

    def usd_value(self, amount: Money) -> int:
        """`amount` in US cents at the mid rate, rounded half-even (for limits)."""
        if amount.currency is Currency.USD:
            return amount.amount_minor
        cents = (
            Decimal(amount.amount_minor)
            / self.per_usd[amount.currency]
            * Decimal(10) ** (Currency.USD.exponent - amount.currency.exponent)
        )
        return int(cents.to_integral_value(ROUND_HALF_EVEN))

    def from_usd(self, cents: int, currency: Currency) -> int:
        """`cents` US cents in `currency`'s minor units at the mid rate, rounded down."""
        if currency is Currency.USD:
            return cents
        minor = (
            Decimal(cents)
            * self.per_usd[currency]
            * Decimal(10) ** (currency.exponent - Currency.USD.exponent)
        )
        return int(minor.to_integral_value(ROUND_FLOOR))

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.as_of).total_seconds()


class RateProvider(Protocol):
    async def snapshot(self) -> RateSnapshot: ...


SANDBOX_PER_USD: dict[Currency, Decimal] = {
    Currency.USD: Decimal(1),
    Currency.EUR: Decimal("0.9213"),
    Currency.GBP: Decimal("0.7874"),
    Currency.JPY: Decimal("151.37"),
    Currency.INR: Decimal("83.412"),
    Currency.BRL: Decimal("5.0764"),
}


class SandboxRates:
    """Deterministic mid rates (fixed), always fresh."""

    async def snapshot(self) -> RateSnapshot:
        return RateSnapshot(dict(SANDBOX_PER_USD), datetime.now(UTC))


def parse_feed(document: str) -> RateSnapshot:
    """Read a feed document; anything malformed is `RatesUnavailable`."""
    try:
        data = json.loads(document)
        if data.get("base", "USD") != "USD":
            raise RatesUnavailable("the feed must be based on USD")
        as_of = datetime.fromisoformat(str(data["as_of"]).replace("Z", "+00:00"))
        if as_of.tzinfo is None:
            raise RatesUnavailable("the feed's as_of needs a time zone")
        per_usd = {Currency.USD: Decimal(1)}
        for code, value in data["rates"].items():
            try:
                currency = Currency(code)
            except ValueError:
                continue  # currencies the wallet does not hold are ignored
            rate = Decimal(str(value))
            if not rate.is_finite() or rate <= 0:
                raise RatesUnavailable(f"bad rate for {code}: {value!r}")
            per_usd[currency] = rate
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as exc:
        raise RatesUnavailable(f"unreadable rate feed: {exc}") from None
    return RateSnapshot(per_usd, as_of)


class FeedRates:
    """Rates from a JSON feed at a path or URL, cached for `refresh_seconds`."""

    def __init__(self, source: str, *, refresh_seconds: float = 60.0, timeout: float = 5.0):
        self._source = source
        self._refresh_seconds = refresh_seconds
        self._timeout = timeout
        self._cached: RateSnapshot | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _read(self) -> str:
        if self._source.startswith(("http://", "https://")):
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self._source)
                response.raise_for_status()
                return response.text
        path = Path(self._source.removeprefix("file://"))
        return await asyncio.to_thread(path.read_text)

    async def snapshot(self) -> RateSnapshot:
        async with self._lock:
            if self._cached is None or time.monotonic() - self._fetched_at >= self._refresh_seconds:
                try:
                    self._cached = parse_feed(await self._read())
                except (OSError, httpx.HTTPError) as exc:
                    if self._cached is None:
                        raise RatesUnavailable(f"rate feed unreachable: {exc}") from None
                    # Keep the last snapshot; its age decides whether it may be used.
                self._fetched_at = time.monotonic()
            return self._cached


def provider_from_config(kind: str, feed_url: str | None) -> RateProvider:
    if kind == "sandbox":
        return SandboxRates()
    if kind == "feed":
        if not feed_url:
            raise RuntimeError("WALLET_FX_PROVIDER=feed needs WALLET_FX_FEED_URL")
        return FeedRates(feed_url)
    raise RuntimeError(f"unknown WALLET_FX_PROVIDER {kind!r} (sandbox or feed)")
