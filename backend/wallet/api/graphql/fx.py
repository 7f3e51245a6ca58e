"""GraphQL surface of FX: `fxQuote`, `convert`, and currency balances that open and close."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.api.graphql.throttle import money_throttle
from wallet.api.graphql.wallets import BalanceType
from wallet.fx.service import ConversionReceipt, Quote, get_quote
from wallet.money import Currency, Money
from wallet.wallets import service as wallets


@strawberry.enum(description="Which side of a conversion the amount fixes.")
class FxFixedSide(Enum):
    SELL = "sell"
    BUY = "buy"


@strawberry.type(name="FxQuote", description="Exact terms of a conversion, valid until expiresAt.")
class FxQuoteType:
    id: strawberry.ID
    sell_currency: str
    buy_currency: str
    sell_amount: str = strawberry.field(description="Taken from the sell balance, fee included.")
    fee: str = strawberry.field(description="Conversion fee, in the sell currency.")
    buy_amount: str = strawberry.field(description="What arrives in the buy currency.")
    rate: str = strawberry.field(description="Buy units per sell unit after the spread.")
    mid_rate: str
    spread_bps: int
    fee_bps: int
    expires_at: datetime
    expires_in_seconds: int

    @classmethod
    def from_domain(cls, q: Quote) -> FxQuoteType:
        left = int((q.expires_at - datetime.now(UTC)).total_seconds())
        return cls(
            id=strawberry.ID(q.id),
            sell_currency=q.sell.value,
            buy_currency=q.buy.value,
            sell_amount=q.sold.format(),
            fee=q.fee.format(),
            buy_amount=q.bought.format(),
            rate=str(q.customer_rate.normalize()),
            mid_rate=str(q.mid_rate.normalize()),
            spread_bps=q.spread_bps,
            fee_bps=q.fee_bps,
            expires_at=q.expires_at,
            expires_in_seconds=max(left, 0),
        )


@strawberry.input
class FxQuoteInput:
    sell: str = strawberry.field(description="Currency to sell, e.g. USD.")
    buy: str = strawberry.field(description="Currency to buy, e.g. EUR.")
    amount: str = strawberry.field(description="Decimal string in the fixed side's currency.")
    fixed_side: FxFixedSide = FxFixedSide.SELL


@strawberry.type
class FxQuotePayload:
    quote: FxQuoteType


FxQuoteResult = Annotated[FxQuotePayload | MoneyErrors, strawberry.union("FxQuoteResult")]


@strawberry.type(name="Conversion")
class ConversionType:
    transaction_id: strawberry.ID
    sold: str
    sold_currency: str
    bought: str
    bought_currency: str
    rate: str
    created_at: datetime

    @classmethod
    def from_receipt(cls, r: ConversionReceipt) -> ConversionType:
        return cls(
            transaction_id=strawberry.ID(str(r.transaction_id)),
            sold=r.sold.format(),
            sold_currency=r.sold_currency,
            bought=r.bought.format(),
            bought_currency=r.bought_currency,
            rate=r.rate,
            created_at=datetime.fromisoformat(r.created_at),
        )


@strawberry.input
class ConvertInput:
    quote_id: strawberry.ID
    idempotency_key: str


@strawberry.type
class ConvertPayload:
    conversion: ConversionType


ConvertResult = Annotated[ConvertPayload | MoneyErrors, strawberry.union("ConvertResult")]


@strawberry.type
class CurrencyBalancePayload:
    balance: BalanceType | None = strawberry.field(description="Null once closed.")


CurrencyBalanceResult = Annotated[
    CurrencyBalancePayload | MoneyErrors, strawberry.union("CurrencyBalanceResult")
]


@strawberry.type(name="CurrencyInfo")
class CurrencyInfoType:
    code: str
    decimals: int


@strawberry.type
class FxQuery:
    @strawberry.field(description="Currencies a wallet can hold, with their minor-unit digits.")
    def currencies(self) -> list[CurrencyInfoType]:
        return [CurrencyInfoType(code=c.value, decimals=c.exponent) for c in Currency]


@strawberry.type
class FxMutation:
    @strawberry.mutation(
        description="Price a conversion. The quote holds for a short time (expiresAt); pass "
        "its id to `convert`, or to `sendMoney` for a cross-currency send.",
        extensions=[SignedIn()],
    )
    async def fx_quote(self, info: Info, input: FxQuoteInput) -> FxQuoteResult:
        user = await info.context.require_viewer()
        fixed = input.buy if input.fixed_side is FxFixedSide.BUY else input.sell
        amount = parse_amount(input.amount, fixed)
        if not isinstance(amount, Money):
            return amount
        selling = amount.currency  # what a refusal's available balance is in
        try:
            sell, buy = Currency.parse(input.sell), Currency.parse(input.buy)
            selling = sell
            quote = await info.context.services.fx.quote(user.id, sell, buy, amount)
        except REFUSALS as exc:
            return refusal(exc, selling)
        return FxQuotePayload(quote=FxQuoteType.from_domain(quote))

    @strawberry.mutation(
        description="Execute a quote between your own currency balances.", extensions=[SignedIn()]
    )
    async def convert(self, info: Info, input: ConvertInput) -> ConvertResult:
        user = await info.context.require_viewer()
        if throttled := await money_throttle(info, user.id):
            return throttled
        actor = await info.context.actor()
        assert actor is not None
        try:
            receipt = await info.context.services.fx.convert(
                actor, str(input.quote_id), input.idempotency_key
            )
        except REFUSALS as exc:
            quote = await get_quote(user.id, str(input.quote_id))
            return refusal(exc, quote.sell if quote else Currency.USD)
        return ConvertPayload(conversion=ConversionType.from_receipt(receipt))

    @strawberry.mutation(
        description="Open (or reopen) a balance in another currency.", extensions=[SignedIn()]
    )
    async def open_currency_balance(self, info: Info, currency: str) -> CurrencyBalanceResult:
        user = await info.context.require_viewer()
        try:
            balance = await wallets.open_currency_balance(user.id, Currency.parse(currency))
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return CurrencyBalancePayload(balance=BalanceType.from_domain(balance))

    @strawberry.mutation(
        description="Close a currency balance; it must be at zero.", extensions=[SignedIn()]
    )
    async def close_currency_balance(self, info: Info, currency: str) -> CurrencyBalanceResult:
        user = await info.context.require_viewer()
        try:
            await wallets.close_currency_balance(user.id, Currency.parse(currency))
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return CurrencyBalancePayload(balance=None)
