"""Conversions racing with sends in several currencies: every currency's books balance,
no balance goes negative, every acknowledged conversion is applied exactly once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from wallet.commands.actor import Actor
from wallet.db.engine import connection
from wallet.fx.errors import FxError
from wallet.fx.service import ConversionReceipt, FxDesk, FxTerms
from wallet.ledger.errors import InsufficientFunds
from wallet.limits.service import LimitExceeded
from wallet.money import Currency, Money
from wallet.rates import SandboxRates
from wallet.transfers.service import SendMoney, send_money
from wallet.users.models import User

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

HELD = (Currency.USD, Currency.EUR, Currency.JPY, Currency.GBP)
CLIENTS = 40
OPERATIONS_PER_CLIENT = 12


def some_amount(rng: random.Random, currency: Currency) -> Money:
    """One to forty dollars' worth, give or take (yen have no minor units)."""
    if currency.exponent == 0:
        return Money(rng.randint(150, 6_000), currency)
    return Money(rng.randint(100, 4_000), currency)


async def test_a_mixed_workload_with_conversions_keeps_every_currency_sound(
    live_server: LiveServer,
) -> None:
    users = [await make_user(balance="400.00") for _ in range(12)]
    desk = FxDesk(SandboxRates(), FxTerms())
    conversions: Counter[int] = Counter()
    sends: Counter[int] = Counter()
    refused: Counter[str] = Counter()

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(OPERATIONS_PER_CLIENT):
            me, other = rng.sample(users, 2)
            sell, buy = rng.sample(HELD, 2)
            try:
                match rng.random():
                    case r if r < 0.45:
                        quote = await desk.quote(me.id, sell, buy, some_amount(rng, sell))
                        key = uuid.uuid4().hex
                        # Retries of one key race each other: at most one conversion.
                        outcomes = await asyncio.gather(
                            *(
                                desk.convert(Actor.user(me.id), quote.id, key)
                                for _ in range(rng.randint(1, 3))
                            ),
                            return_exceptions=True,
                        )
                        done = {
                            o.transaction_id for o in outcomes if isinstance(o, ConversionReceipt)
                        }
                        assert len(done) <= 1, outcomes
                        if not done:
                            raise next(o for o in outcomes if isinstance(o, Exception))
                        conversions[done.pop()] += 1
                    case r if r < 0.75:
                        quote = await desk.quote(me.id, sell, buy, some_amount(rng, sell))
                        receipt = await send_money(
                            SendMoney(
                                me.id,
                                other.username,
                                quote.sold,
                                "",
                                uuid.uuid4().hex,
                                quote_id=quote.id,
                                rates=await desk.provider.snapshot(),
                            )
                        )
                        sends[receipt.transaction_id] += 1
                    case _:
                        receipt = await send_money(
                            SendMoney(
                                me.id, other.username, some_amount(rng, sell), "", uuid.uuid4().hex
                            )
                        )
                        sends[receipt.transaction_id] += 1
            except (InsufficientFunds, LimitExceeded, FxError) as exc:
                refused[type(exc).__name__] += 1

    await asyncio.gather(*(client(seed) for seed in range(CLIENTS)))

    assert sum(conversions.values()) > 50 and sum(sends.values()) > 100, (conversions, refused)
    async with connection() as conn:
        fx_rows = await conn.fetch("SELECT id FROM money_transaction WHERE type = 'fx'")
        assert Counter(int(r["id"]) for r in fx_rows) == conversions
        used = await conn.fetchval("SELECT count(*) FROM fx_quote WHERE transaction_id IS NOT NULL")
        cross_sends = await conn.fetchval(
            "SELECT count(*) FROM money_transaction WHERE type = 'send' "
            "AND counter_currency IS NOT NULL"
        )
        assert used == len(conversions) + cross_sends
        # Every currency in use: users' money plus the platform's FX accounts and fees
        # add up to what was granted (the trial balance, by currency, is in the fixture).
        negative = await conn.fetchval(
            "SELECT count(*) FROM ledger_balance WHERE no_overdraft "
            "AND posted_credits - posted_debits - pending_debits < 0"
        )
        assert negative == 0
        currencies = await conn.fetch(
            "SELECT DISTINCT currency FROM ledger_balance WHERE owner_type = 'user' "
            "AND posted_credits > 0"
        )
    assert {c["currency"] for c in currencies} == {c.value for c in HELD}


async def test_cross_currency_sends_both_ways_at_once_do_not_deadlock(
    live_server: LiveServer,
) -> None:
    """Alice pays Bob dollars into euros while Bob pays Alice euros into dollars. Finding
    the recipient's balance must not lock it ahead of the ledger's id-ordered locking."""
    alice, bob = await make_user(balance="400.00"), await make_user(balance="400.00")
    desk = FxDesk(SandboxRates(), FxTerms())
    for user in (alice, bob):  # both hold both currencies
        quote = await desk.quote(user.id, Currency.USD, Currency.EUR, Money(20_000, Currency.USD))
        await desk.convert(Actor.user(user.id), quote.id, uuid.uuid4().hex)

    async def pay(sender: User, recipient: str, sell: Currency, buy: Currency) -> int:
        quote = await desk.quote(sender.id, sell, buy, Money(300, sell))
        receipt = await send_money(
            SendMoney(
                sender.id,
                recipient,
                quote.sold,
                "",
                uuid.uuid4().hex,
                quote_id=quote.id,
                rates=await desk.provider.snapshot(),
            )
        )
        return receipt.transaction_id

    rounds = [
        pay(alice, bob.username, Currency.USD, Currency.EUR)
        if i % 2
        else pay(bob, alice.username, Currency.EUR, Currency.USD)
        for i in range(40)
    ]
    done = await asyncio.gather(*rounds)
    assert len(set(done)) == 40  # every one went through, none deadlocked
