"""FX arithmetic: exact to the minor unit, with the documented rounding (docs/fx.md)."""

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallet.fx.pricing import AmountTooSmall, customer_rate, price_purchase, price_sale
from wallet.fx.service import FxDesk, FxTerms
from wallet.money import Currency, Money
from wallet.rates import SANDBOX_PER_USD, FeedRates, RateSnapshot, RatesUnavailable, parse_feed

CURRENCIES = list(Currency)
pairs = st.tuples(st.sampled_from(CURRENCIES), st.sampled_from(CURRENCIES)).filter(
    lambda p: p[0] is not p[1]
)
rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("20000"), places=6)
bps = st.integers(min_value=0, max_value=500)


def exact_value(net: int, sell: Currency, buy: Currency, mid: Decimal) -> Fraction:
    return Fraction(net) * Fraction(mid) * Fraction(10) ** (buy.exponent - sell.exponent)


def test_a_worked_example_matches_the_documented_rounding() -> None:
    # 100.00 USD -> EUR at 0.9213, spread 35 bps, fee 25 bps.
    p = price_sale(10_000, Currency.USD, Currency.EUR, Decimal("0.9213"), spread_bps=35, fee_bps=25)
    # fee 25.00 cents; net 9975; value 9189.9675 cents of EUR
    assert (p.fee_amount, p.net_sell_amount) == (25, 9975)
    assert p.buy_amount == 9157  # floor(9189.9675 x 0.9965) = floor(9157.80...)
    assert p.spread_amount == 32  # floor(9189.9675 x 0.0035) = floor(32.16...)
    assert p.position_amount == 9190  # 9189.9675 rounded half-even
    assert p.rounding_amount == 1


def test_yen_has_no_minor_units() -> None:
    # 10.00 USD -> JPY at 151.37: fee 2.5 cents rounds half-up to 3; net 997 cents =
    # 1509.1589 yen; less the spread 1503.877... -> 1503 yen, position 1509 yen.
    p = price_sale(1_000, Currency.USD, Currency.JPY, Decimal("151.37"), spread_bps=35, fee_bps=25)
    assert (p.fee_amount, p.buy_amount, p.position_amount) == (3, 1503, 1509)
    assert p.position_amount == p.buy_amount + p.spread_amount + p.rounding_amount


@settings(max_examples=400, deadline=None)
@given(pair=pairs, mid=rates, spread=bps, fee=bps, amount=st.integers(1, 10**13))
def test_a_sale_balances_in_both_currencies_and_never_overpays(
    pair: tuple[Currency, Currency], mid: Decimal, spread: int, fee: int, amount: int
) -> None:
    sell, buy = pair
    try:
        p = price_sale(amount, sell, buy, mid, spread_bps=spread, fee_bps=fee)
    except AmountTooSmall:
        value = exact_value(amount, sell, buy, mid) * Fraction(10_000 - spread, 10_000)
        assert value < 2  # only amounts worth about one minor unit or less are refused
        return
    # Sell leg: what leaves the wallet is the fee plus what the FX position takes.
    assert p.sell_amount == amount == p.fee_amount + p.net_sell_amount
    assert p.fee_amount == math.floor(Fraction(amount * fee, 10_000) + Fraction(1, 2))
    # Buy leg: the position gives up exactly what the customer, spread and rounding get.
    value = exact_value(p.net_sell_amount, sell, buy, mid)
    assert p.position_amount == p.buy_amount + p.spread_amount + p.rounding_amount
    assert p.buy_amount == math.floor(value * Fraction(10_000 - spread, 10_000))
    assert p.spread_amount == math.floor(value * Fraction(spread, 10_000))
    assert abs(p.position_amount - value) <= Fraction(1, 2)
    assert 0 <= p.rounding_amount <= 2


@settings(max_examples=300, deadline=None)
@given(pair=pairs, mid=rates, spread=bps, fee=bps, target=st.integers(1, 10**11))
def test_a_purchase_buys_exactly_the_amount_with_the_smallest_sale(
    pair: tuple[Currency, Currency], mid: Decimal, spread: int, fee: int, target: int
) -> None:
    sell, buy = pair
    p = price_purchase(target, sell, buy, mid, spread_bps=spread, fee_bps=fee)
    assert p.buy_amount == target
    assert p.position_amount == p.buy_amount + p.spread_amount + p.rounding_amount
    assert p.rounding_amount >= 0
    # The same sale priced on its own buys at least the target; one unit less buys less.
    sale = price_sale(p.sell_amount, sell, buy, mid, spread_bps=spread, fee_bps=fee)
    assert sale.buy_amount >= target
    if p.sell_amount > 1:
        try:
            less = price_sale(p.sell_amount - 1, sell, buy, mid, spread_bps=spread, fee_bps=fee)
        except AmountTooSmall:
            return
        assert less.buy_amount < target


def test_customer_rate_is_mid_less_the_spread_rounded_down() -> None:
    assert customer_rate(Decimal("0.9213"), 35) == Decimal("0.918075450000")
    assert customer_rate(Decimal("1"), 0) == Decimal(1)


def test_an_amount_that_buys_nothing_is_refused() -> None:
    with pytest.raises(AmountTooSmall):
        price_sale(1, Currency.JPY, Currency.USD, Decimal("0.0066"), spread_bps=35, fee_bps=25)
    with pytest.raises(AmountTooSmall):
        price_sale(0, Currency.USD, Currency.EUR, Decimal("0.9"), spread_bps=0, fee_bps=0)


def test_cross_rates_come_through_the_dollar() -> None:
    snapshot = RateSnapshot(dict(SANDBOX_PER_USD), datetime.now(UTC))
    assert snapshot.mid(Currency.USD, Currency.EUR) == Decimal("0.921300000000")
    assert snapshot.mid(Currency.EUR, Currency.GBP) == Decimal("0.854661890806")  # 0.7874 / 0.9213
    assert snapshot.usd_value(Money(15_137, Currency.JPY)) == 10_000


def feed_document(as_of: datetime, **rates: str) -> str:
    return json.dumps({"base": "USD", "as_of": as_of.isoformat(), "rates": rates})


async def test_a_feed_file_gives_its_rates(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    path.write_text(feed_document(datetime.now(UTC), EUR="0.95", JPY="150", XAU="0.0004"))
    snapshot = await FeedRates(str(path)).snapshot()
    assert snapshot.mid(Currency.EUR, Currency.JPY) == Decimal("157.894736842105")
    with pytest.raises(RatesUnavailable, match="GBP"):
        snapshot.mid(Currency.USD, Currency.GBP)


async def test_stale_rates_are_refused_for_quotes(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    path.write_text(feed_document(datetime.now(UTC) - timedelta(hours=2), EUR="0.95"))
    desk = FxDesk(FeedRates(f"file://{path}"), FxTerms(max_rate_age_seconds=600))
    with pytest.raises(RatesUnavailable, match="old"):
        await desk.fresh_rates()


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps({"base": "EUR", "as_of": "2026-11-26T00:00:00Z", "rates": {}}),
        json.dumps({"base": "USD", "as_of": "2026-11-26T00:00:00", "rates": {}}),
        json.dumps({"base": "USD", "as_of": "2026-11-26T00:00:00Z", "rates": {"EUR": "-1"}}),
        json.dumps({"base": "USD", "rates": {"EUR": "1"}}),
    ],
)
def test_a_malformed_feed_is_unavailable(document: str) -> None:
    with pytest.raises(RatesUnavailable):
        parse_feed(document)


async def test_an_unreachable_feed_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(RatesUnavailable, match="unreachable"):
        await FeedRates(str(tmp_path / "missing.json")).snapshot()
