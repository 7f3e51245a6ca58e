"""FX arithmetic: exact to the minor unit, with every rounding stated.

All amounts are integer minor units; rates are `Decimal` units of the buy currency per
one unit of the sell currency (major units, as people quote them). With S sold:

    F = fee       = S x fee_bps / 10 000, rounded half-up        (sell currency)
    N = net       = S - F                                         (sell currency)
    V = value     = N x mid x 10^(exp_buy - exp_sell), exact     (buy currency)
    B = bought    = floor(V x (1 - spread))   the customer never gets more than quoted
    G = spread    = floor(V x spread)          spread revenue
    P = position  = V rounded half-even        what the FX position gives up
    R = rounding  = P - B - G, always 0..2     the remainder, to `fx_rounding`

so the buy leg P = B + G + R balances exactly. When the customer fixes the amount to
buy, S is the smallest sale whose B reaches it, and B is then exactly the asked amount
(the fraction above it falls into R). docs/fx.md explains the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from enum import Enum

from wallet.fx.errors import AmountTooSmall
from wallet.money import Currency
from wallet.rates import RATE_QUANTUM

BPS = Decimal(10_000)
_CTX = Context(prec=60)
_MAX_STEPS = 10_000


class FixedSide(Enum):
    SELL = "sell"
    BUY = "buy"


@dataclass(frozen=True, slots=True)
class Pricing:
    sell_amount: int
    fee_amount: int
    buy_amount: int
    position_amount: int
    spread_amount: int
    rounding_amount: int

    @property
    def net_sell_amount(self) -> int:
        return self.sell_amount - self.fee_amount


def customer_rate(mid: Decimal, spread_bps: int) -> Decimal:
    """The rate the customer gets: mid less the spread."""
    return _CTX.multiply(mid, (BPS - spread_bps) / BPS).quantize(RATE_QUANTUM, ROUND_FLOOR)


def _scale(sell: Currency, buy: Currency) -> Decimal:
    return Decimal(10) ** (buy.exponent - sell.exponent)


def price_sale(
    sell_amount: int,
    sell: Currency,
    buy: Currency,
    mid: Decimal,
    *,
    spread_bps: int,
    fee_bps: int,
) -> Pricing:
    """Price selling exactly `sell_amount` minor units of `sell` for `buy`."""
    if sell_amount <= 0:
        raise AmountTooSmall("the amount to sell must be positive")
    fee = int(
        _CTX.divide(_CTX.multiply(Decimal(sell_amount), Decimal(fee_bps)), BPS).to_integral_value(
            ROUND_HALF_UP
        )
    )
    net = sell_amount - fee
    value = _CTX.multiply(_CTX.multiply(Decimal(net), mid), _scale(sell, buy))
    bought = int(
        _CTX.divide(_CTX.multiply(value, BPS - spread_bps), BPS).to_integral_value(ROUND_FLOOR)
    )
    spread = int(
        _CTX.divide(_CTX.multiply(value, Decimal(spread_bps)), BPS).to_integral_value(ROUND_FLOOR)
    )
    position = int(value.to_integral_value(ROUND_HALF_EVEN))
    if net <= 0 or bought <= 0:
        raise AmountTooSmall(f"{sell_amount} minor units of {sell.value} buy no {buy.value}")
    return Pricing(
        sell_amount=sell_amount,
        fee_amount=fee,
        buy_amount=bought,
        position_amount=position,
        spread_amount=spread,
        rounding_amount=position - bought - spread,
    )


def price_purchase(
    buy_amount: int,
    sell: Currency,
    buy: Currency,
    mid: Decimal,
    *,
    spread_bps: int,
    fee_bps: int,
) -> Pricing:
    """Price buying exactly `buy_amount` minor units of `buy`: the smallest sale that does."""
    if buy_amount <= 0:
        raise AmountTooSmall("the amount to buy must be positive")
    per_unit = _CTX.multiply(
        _CTX.multiply(mid, _scale(sell, buy)),
        _CTX.multiply((BPS - spread_bps) / BPS, (BPS - fee_bps) / BPS),
    )
    guess = max(1, int(_CTX.divide(Decimal(buy_amount), per_unit).to_integral_value(ROUND_FLOOR)))

    def bought(sale: int) -> int:
        try:
            return price_sale(
                sale, sell, buy, mid, spread_bps=spread_bps, fee_bps=fee_bps
            ).buy_amount
        except AmountTooSmall:
            return 0

    # `bought` never decreases as the sale grows, so walk from the estimate to the edge.
    for _ in range(_MAX_STEPS):
        if bought(guess) < buy_amount:
            guess += 1
        elif guess > 1 and bought(guess - 1) >= buy_amount:
            guess -= 1
        else:
            break
    else:  # pragma: no cover - the estimate is within a few units of the answer
        raise AmountTooSmall("could not price the purchase")
    sale = price_sale(guess, sell, buy, mid, spread_bps=spread_bps, fee_bps=fee_bps)
    return Pricing(
        sell_amount=sale.sell_amount,
        fee_amount=sale.fee_amount,
        buy_amount=buy_amount,
        position_amount=sale.position_amount,
        spread_amount=sale.spread_amount,
        rounding_amount=sale.position_amount - buy_amount - sale.spread_amount,
    )
