"""FX quotes and conversions.

A quote fixes the exact amounts of a conversion (`pricing`) for a short time and is
stored, so `convert` executes precisely what the customer saw, once: the quote row is
locked and marked with the transaction that used it in the same database transaction
as the journal entry. A cross-currency send uses the same quote and the same entry,
with the recipient's wallet on the buy side (`wallet.transfers`).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection
from wallet.errors import NonPositiveAmount
from wallet.fx.errors import QuoteAlreadyUsed, QuoteExpired, QuoteNotFound, SameCurrency
from wallet.fx.pricing import FixedSide, Pricing, customer_rate, price_purchase, price_sale
from wallet.ledger import service as ledger
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.ledger.models import EntryDraft, OwnerType, PostingDraft, Purpose, Side
from wallet.money import Currency, CurrencyMismatch, Money
from wallet.outbox.service import Topic, emit_many
from wallet.rates import RateProvider, RateSnapshot, RatesUnavailable
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionType
from wallet.wallets.errors import WalletUnavailable
from wallet.wallets.service import available_for, lock_for_spending, open_balance


@dataclass(frozen=True, slots=True)
class FxTerms:
    spread_bps: int = 35
    fee_bps: int = 25
    quote_seconds: int = 30
    max_rate_age_seconds: int = 600


@dataclass(frozen=True, slots=True)
class Quote:
    id: str
    user_id: int
    sell: Currency
    buy: Currency
    fixed_side: FixedSide
    pricing: Pricing
    mid_rate: Decimal
    customer_rate: Decimal
    spread_bps: int
    fee_bps: int
    rates_as_of: datetime
    expires_at: datetime
    transaction_id: int | None = None

    @property
    def sold(self) -> Money:
        return Money(self.pricing.sell_amount, self.sell)

    @property
    def bought(self) -> Money:
        return Money(self.pricing.buy_amount, self.buy)

    @property
    def fee(self) -> Money:
        return Money(self.pricing.fee_amount, self.sell)


@dataclass(frozen=True, slots=True)
class ConversionReceipt:
    """What `convert` answers; replayed verbatim for a repeated idempotency key."""

    transaction_id: int
    quote_id: str
    sold_minor: int
    sold_currency: str
    bought_minor: int
    bought_currency: str
    rate: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversionReceipt:
        return cls(**data)

    @property
    def sold(self) -> Money:
        return Money(self.sold_minor, Currency(self.sold_currency))

    @property
    def bought(self) -> Money:
        return Money(self.bought_minor, Currency(self.bought_currency))


class FxDesk:
    """Prices and executes conversions with one rate provider and one set of terms."""

    def __init__(self, provider: RateProvider, terms: FxTerms) -> None:
        self.provider = provider
        self.terms = terms

    async def fresh_rates(self) -> RateSnapshot:
        """The current snapshot, refused when older than the terms allow."""
        snapshot = await self.provider.snapshot()
        age = snapshot.age_seconds()
        if age > self.terms.max_rate_age_seconds:
            raise RatesUnavailable(
                f"rates are {int(age)} s old (at most {self.terms.max_rate_age_seconds} s)"
            )
        return snapshot

    async def quote(self, user_id: int, sell: Currency, buy: Currency, amount: Money) -> Quote:
        """Price a conversion from `sell` to `buy` and keep it for `quote_seconds`.

        `amount` in the sell currency fixes what is sold; in the buy currency, what is
        bought (the sale is then the smallest that buys it)."""
        if sell is buy:
            raise SameCurrency()
        if amount.currency not in (sell, buy):
            raise CurrencyMismatch(amount.currency, sell)
        if not amount.is_positive:
            raise NonPositiveAmount()
        fixed_side = FixedSide.SELL if amount.currency is sell else FixedSide.BUY
        snapshot = await self.fresh_rates()
        mid = snapshot.mid(sell, buy)
        price = price_sale if fixed_side is FixedSide.SELL else price_purchase
        pricing = price(
            amount.amount_minor,
            sell,
            buy,
            mid,
            spread_bps=self.terms.spread_bps,
            fee_bps=self.terms.fee_bps,
        )
        quote = Quote(
            id=f"fxq_{secrets.token_urlsafe(16)}",
            user_id=user_id,
            sell=sell,
            buy=buy,
            fixed_side=fixed_side,
            pricing=pricing,
            mid_rate=mid,
            customer_rate=customer_rate(mid, self.terms.spread_bps),
            spread_bps=self.terms.spread_bps,
            fee_bps=self.terms.fee_bps,
            rates_as_of=snapshot.as_of,
            expires_at=datetime.now(UTC) + timedelta(seconds=self.terms.quote_seconds),
        )
        async with connection() as conn:
            # A quote Convert would refuse is refused now, not at Convert: the person
            # learns it before they confirm. Convert checks both again, under lock.
            status = await conn.fetchval("SELECT status FROM wallet WHERE user_id = $1", user_id)
            if status != "active":
                raise WalletUnavailable("your", status or "missing")
            await available_for(conn, user_id, Money(pricing.sell_amount, sell))
            await _store(conn, quote)
        return quote

    async def convert(self, actor: Actor, quote_id: str, idempotency_key: str) -> ConversionReceipt:
        """Execute the actor's quote between their own currency balances, exactly once."""
        return await run(CONVERT, actor, quote_id, idempotency_key)


async def _may_convert(conn: Connection, actor: Actor, quote_id: str) -> None:
    """The wallet is active (its row locked, as for any spending)."""
    wallet = await lock_for_spending(conn, actor.require_user())
    if wallet is None or wallet.status != "active":
        raise WalletUnavailable("your", wallet.status if wallet else "missing")


async def _convert(conn: Connection, actor: Actor, quote_id: str) -> ConversionReceipt:
    user_id = actor.require_user()
    quote = await claim_quote(conn, user_id, quote_id)
    payer = (
        await ledger.find_accounts(conn, OwnerType.USER, [user_id], quote.sell, Purpose.WALLET)
    ).get(user_id)
    if payer is None:
        raise InsufficientFunds(0, 0, quote.pricing.sell_amount)
    receiver = await open_balance(conn, user_id, quote.buy)
    entry_id = await ledger.post_entry(
        conn, await conversion_entry(conn, quote, payer, receiver, "fx_conversion")
    )
    transaction_id, created_at = await transactions.record_completed(
        conn,
        transactions.NewTransaction(
            type=TransactionType.FX,
            amount=quote.sold,
            initiator_user_id=user_id,
            counter_amount=quote.bought,
        ),
        entry_id,
    )
    await mark_used(conn, quote.id, transaction_id)
    await emit_many(
        conn,
        Topic.BALANCE_CHANGED,
        [
            {
                "user_id": user_id,
                "currency": currency.value,
                "entry_id": entry_id,
                "transaction_id": transaction_id,
            }
            for currency in (quote.sell, quote.buy)
        ],
    )
    return ConversionReceipt(
        transaction_id=transaction_id,
        quote_id=quote.id,
        sold_minor=quote.pricing.sell_amount,
        sold_currency=quote.sell.value,
        bought_minor=quote.pricing.buy_amount,
        bought_currency=quote.buy.value,
        rate=str(quote.customer_rate.normalize()),
        created_at=created_at.isoformat(),
    )


async def _replay_conversion(
    conn: Connection, actor: Actor, quote_id: str, stored: dict[str, Any]
) -> ConversionReceipt:
    return ConversionReceipt.from_json(stored)


CONVERT = Command[str, ConversionReceipt](
    name="convert",
    fingerprint=lambda quote_id: {"quote": quote_id},
    policy=(_may_convert,),
    change=_convert,
    response=ConversionReceipt.to_json,
    replay=_replay_conversion,
    refusals=(
        WalletUnavailable,
        QuoteNotFound,
        QuoteAlreadyUsed,
        QuoteExpired,
        InsufficientFunds,
        AccountNotActive,
        CurrencyMismatch,
    ),
)


_COLUMNS = (
    "id, user_id, sell_currency, buy_currency, fixed_side, sell_amount, fee_amount, "
    "buy_amount, position_amount, spread_amount, rounding_amount, mid_rate, customer_rate, "
    "spread_bps, fee_bps, rates_as_of, expires_at, transaction_id"
)


async def _store(conn: Connection, quote: Quote) -> None:
    p = quote.pricing
    await conn.execute(
        f"INSERT INTO fx_quote ({_COLUMNS}) VALUES "  # noqa: S608 (constant columns)
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        quote.id,
        quote.user_id,
        quote.sell.value,
        quote.buy.value,
        quote.fixed_side.value,
        p.sell_amount,
        p.fee_amount,
        p.buy_amount,
        p.position_amount,
        p.spread_amount,
        p.rounding_amount,
        quote.mid_rate,
        quote.customer_rate,
        quote.spread_bps,
        quote.fee_bps,
        quote.rates_as_of,
        quote.expires_at,
        None,
    )


def _quote(row: Any) -> Quote:
    return Quote(
        id=row["id"],
        user_id=int(row["user_id"]),
        sell=Currency(row["sell_currency"]),
        buy=Currency(row["buy_currency"]),
        fixed_side=FixedSide(row["fixed_side"]),
        pricing=Pricing(
            sell_amount=int(row["sell_amount"]),
            fee_amount=int(row["fee_amount"]),
            buy_amount=int(row["buy_amount"]),
            position_amount=int(row["position_amount"]),
            spread_amount=int(row["spread_amount"]),
            rounding_amount=int(row["rounding_amount"]),
        ),
        mid_rate=row["mid_rate"],
        customer_rate=row["customer_rate"],
        spread_bps=int(row["spread_bps"]),
        fee_bps=int(row["fee_bps"]),
        rates_as_of=row["rates_as_of"],
        expires_at=row["expires_at"],
        transaction_id=row["transaction_id"],
    )


async def claim_quote(conn: Connection, user_id: int, quote_id: str) -> Quote:
    """Lock the user's quote for execution: unknown, someone else's, used or expired
    quotes are refused. The caller marks it used (`mark_used`) in the same transaction."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, expires_at <= clock_timestamp() AS expired "  # noqa: S608
        "FROM fx_quote WHERE id = $1 AND user_id = $2 FOR UPDATE",
        quote_id,
        user_id,
    )
    if row is None:
        raise QuoteNotFound()
    if row["transaction_id"] is not None:
        raise QuoteAlreadyUsed()
    if row["expired"]:
        raise QuoteExpired()
    return _quote(row)


async def mark_used(conn: Connection, quote_id: str, transaction_id: int) -> None:
    await conn.execute(
        "UPDATE fx_quote SET transaction_id = $2 WHERE id = $1 AND transaction_id IS NULL",
        quote_id,
        transaction_id,
    )


async def purge_unused_quotes(conn: Connection, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete quotes nobody executed (used ones stay with their transaction)."""
    deleted = await conn.fetchval(
        "WITH gone AS (DELETE FROM fx_quote WHERE transaction_id IS NULL "
        "AND created_at < now() - $1::interval RETURNING 1) SELECT count(*) FROM gone",
        older_than,
    )
    return int(deleted)


async def get_quote(user_id: int, quote_id: str) -> Quote | None:
    async with connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM fx_quote WHERE id = $1 AND user_id = $2",  # noqa: S608
            quote_id,
            user_id,
        )
    return None if row is None else _quote(row)


_SYSTEM_PURPOSES = (
    Purpose.FEE_REVENUE,
    Purpose.FX_POSITION,
    Purpose.FX_SPREAD_REVENUE,
    Purpose.FX_ROUNDING,
)


async def conversion_entry(
    conn: Connection, quote: Quote, payer: int, receiver: int, kind: str
) -> EntryDraft:
    """The journal entry of a quote: a sell leg and a buy leg, each balanced in its own
    currency through that currency's FX position (zero postings are left out)."""
    codes = {
        (currency, purpose): ledger.account_code(OwnerType.SYSTEM, None, currency, purpose)
        for currency in (quote.sell, quote.buy)
        for purpose in _SYSTEM_PURPOSES
    }
    by_code = await ledger.account_ids_by_code(conn, list(codes.values()))

    def system(currency: Currency, purpose: str) -> int:
        return by_code[codes[(currency, purpose)]]

    p = quote.pricing
    legs = [
        (payer, Side.DEBIT, Money(p.sell_amount, quote.sell)),
        (system(quote.sell, Purpose.FEE_REVENUE), Side.CREDIT, Money(p.fee_amount, quote.sell)),
        (
            system(quote.sell, Purpose.FX_POSITION),
            Side.CREDIT,
            Money(p.net_sell_amount, quote.sell),
        ),
        (
            system(quote.buy, Purpose.FX_POSITION),
            Side.DEBIT,
            Money(p.position_amount, quote.buy),
        ),
        (receiver, Side.CREDIT, Money(p.buy_amount, quote.buy)),
        (
            system(quote.buy, Purpose.FX_SPREAD_REVENUE),
            Side.CREDIT,
            Money(p.spread_amount, quote.buy),
        ),
        (system(quote.buy, Purpose.FX_ROUNDING), Side.CREDIT, Money(p.rounding_amount, quote.buy)),
    ]
    return EntryDraft(
        kind,
        tuple(PostingDraft(a, side, m) for a, side, m in legs if m.amount_minor > 0),
        f"quote {quote.id}",
    )
