"""`wallet.ledger.post_entry`: the one write path for money."""

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from tests.ledger_helpers import posted, transfer, usd, wallet_account
from wallet.checks import check_all
from wallet.db.engine import connection
from wallet.ledger.errors import AccountNotActive, InsufficientFunds

pytestmark = pytest.mark.usefixtures("database_url")


async def test_transfer_moves_money_and_snapshots_running_balances() -> None:
    alice, bob = await make_user(balance="50.00"), await make_user(balance="5.00")
    a, b = await wallet_account(alice.id), await wallet_account(bob.id)
    entry_id = await transfer(a, b, 1250)
    assert (await posted(a), await posted(b)) == (3750, 1750)
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT account_id, side, amount, balance_after FROM posting WHERE entry_id = $1 "
            "ORDER BY side",
            entry_id,
        )
        assert [tuple(r) for r in rows] == [(b, "C", 1250, 1750), (a, "D", 1250, 3750)]
        assert await check_all(conn) == []


async def test_insufficient_funds_writes_nothing() -> None:
    alice, bob = await make_user(balance="10.00"), await make_user()
    a, b = await wallet_account(alice.id), await wallet_account(bob.id)
    async with connection() as conn:
        entries_before = await conn.fetchval("SELECT count(*) FROM journal_entry")
    with pytest.raises(InsufficientFunds) as raised:
        await transfer(a, b, 1001)
    assert (raised.value.available, raised.value.requested) == (1000, 1001)
    assert (await posted(a), await posted(b)) == (1000, 0)
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM journal_entry") == entries_before


async def test_frozen_wallet_can_receive_but_not_send() -> None:
    alice, bob = await make_user(balance="10.00"), await make_user(balance="10.00")
    a, b = await wallet_account(alice.id), await wallet_account(bob.id)
    async with connection() as conn:
        await conn.execute("UPDATE ledger_account SET status = 'frozen' WHERE id = $1", a)
    with pytest.raises(AccountNotActive):
        await transfer(a, b, 100)
    await transfer(b, a, 100)
    assert await posted(a) == 1100


async def test_closed_account_refuses_every_posting() -> None:
    alice, bob = await make_user(balance="10.00"), await make_user()
    a, b = await wallet_account(alice.id), await wallet_account(bob.id)
    async with connection() as conn:
        await conn.execute("UPDATE ledger_account SET status = 'closed' WHERE id = $1", b)
    with pytest.raises(AccountNotActive):
        await transfer(a, b, 100)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opening=st.lists(st.integers(0, 5_000), min_size=2, max_size=4),
    moves=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 4_000)), max_size=25
    ),
)
async def test_random_transfers_match_a_model_and_keep_invariants(
    opening: list[int], moves: list[tuple[int, int, int]]
) -> None:
    users = [await make_user(balance=usd(o).format()) for o in opening]
    accounts = [await wallet_account(u.id) for u in users]
    model = list(opening)
    for src, dst, amount in moves:
        src, dst = src % len(accounts), dst % len(accounts)
        if src == dst:
            continue
        if model[src] >= amount:
            await transfer(accounts[src], accounts[dst], amount)
            model[src] -= amount
            model[dst] += amount
        else:
            with pytest.raises(InsufficientFunds):
                await transfer(accounts[src], accounts[dst], amount)
        async with connection() as conn:
            assert await check_all(conn) == []
    assert [await posted(a) for a in accounts] == model


async def test_concurrent_transfers_conserve_money_and_never_overdraw() -> None:
    """40 concurrent clients, 400 random transfers among 6 wallets on real connections."""
    users = [await make_user(balance="20.00") for _ in range(6)]
    accounts = [await wallet_account(u.id) for u in users]
    rng = random.Random(7)
    outcomes = {"ok": 0, "insufficient": 0}

    async def client(n: int) -> None:
        for _ in range(10):
            src, dst = rng.sample(accounts, 2)
            try:
                await transfer(src, dst, rng.randint(1, 900))
                outcomes["ok"] += 1
            except InsufficientFunds:
                outcomes["insufficient"] += 1

    await asyncio.gather(*(client(n) for n in range(40)))
    balances = [await posted(a) for a in accounts]
    assert sum(balances) == 6 * 2000
    assert min(balances) >= 0
    assert outcomes["ok"] + outcomes["insufficient"] == 400
    async with connection() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM journal_entry WHERE kind = 'p2p'")
            == outcomes["ok"]
        )
        assert await check_all(conn) == []
