"""Hot accounts: postings that cannot overdraw are appended without locking the account,
queued deltas roll up later, and every balance read and invariant sees them."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from tests.ledger_helpers import posted, transfer, wallet_account
from wallet.checks import check_all
from wallet.db.engine import connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.errors import InsufficientFunds

pytestmark = pytest.mark.usefixtures("database_url")


async def queued(account_id: int) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM ledger_account_delta WHERE account_id = $1", account_id
            )
        )


async def make_hot(account_id: int) -> None:
    async with transaction() as conn:
        await ledger.set_hot(conn, account_id, True)


async def test_credits_to_a_hot_account_queue_and_roll_up_with_snapshots() -> None:
    alice, star = await make_user(balance="30.00"), await make_user()
    a, s = await wallet_account(alice.id), await wallet_account(star.id)
    await make_hot(s)
    for minor in (100, 250, 400):
        await transfer(a, s, minor)
    assert await queued(s) == 3
    assert await posted(s) == 750  # reads include what is queued
    async with connection() as conn:
        assert await check_all(conn) == []
        assert await ledger.roll_up_hot_accounts(conn) >= 3
        snapshots = await conn.fetch(
            "SELECT s.balance_after FROM posting p JOIN posting_snapshot s ON s.posting_id = p.id "
            "WHERE p.account_id = $1 ORDER BY p.id",
            s,
        )
        totals = await conn.fetchrow(
            "SELECT posted_credits, posted_debits FROM ledger_account WHERE id = $1", s
        )
        assert await check_all(conn) == []
    assert [r["balance_after"] for r in snapshots] == [100, 350, 750]
    assert tuple(totals) == (750, 0)
    assert await queued(s) == 0


async def test_a_credit_to_a_hot_account_does_not_wait_for_its_row_lock(
    database_url: str,
) -> None:
    alice, star = await make_user(balance="10.00"), await make_user()
    a, s = await wallet_account(alice.id), await wallet_account(star.id)
    await make_hot(s)
    blocker = await asyncpg.connect(database_url)
    try:
        await blocker.execute("BEGIN")
        await blocker.execute("SELECT 1 FROM ledger_account WHERE id = $1 FOR NO KEY UPDATE", s)
        # The blocker holds the balance lock (as a roll-up or a debit would); a credit
        # would wait for it if the write path locked the hot row.
        await asyncio.wait_for(transfer(a, s, 500), timeout=5)
        await blocker.execute("ROLLBACK")
    finally:
        await blocker.close()
    assert await posted(s) == 500


async def test_spending_from_a_hot_wallet_sees_queued_credits_and_never_overdraws() -> None:
    alice, star, bob = await make_user(balance="10.00"), await make_user(), await make_user()
    a, s, b = [await wallet_account(u.id) for u in (alice, star, bob)]
    await make_hot(s)
    await transfer(a, s, 700)
    await transfer(a, s, 300)
    await transfer(s, b, 1000)  # needs both queued credits, rolled up under the lock
    with pytest.raises(InsufficientFunds):
        await transfer(s, b, 1)
    assert (await posted(s), await posted(b)) == (0, 1000)
    async with connection() as conn:
        assert await check_all(conn) == []


async def test_many_concurrent_credits_to_one_hot_account_all_land() -> None:
    payers = [await make_user(balance="5.00") for _ in range(20)]
    star = await make_user()
    s = await wallet_account(star.id)
    await make_hot(s)
    sources = [await wallet_account(p.id) for p in payers]
    await asyncio.gather(*(transfer(src, s, 25) for src in sources for _ in range(10)))
    assert await posted(s) == 20 * 10 * 25
    async with connection() as conn:
        assert await check_all(conn) == []
        await ledger.roll_up_hot_accounts(conn)
        assert await check_all(conn) == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    operations=st.lists(
        st.tuples(st.sampled_from(["in", "out", "roll_up"]), st.integers(1, 600)),
        min_size=1,
        max_size=25,
    )
)
async def test_hot_wallet_matches_a_model_under_random_operations(
    operations: list[tuple[str, int]],
) -> None:
    source, star, sink = await make_user(balance="1000.00"), await make_user(), await make_user()
    a, s, b = [await wallet_account(u.id) for u in (source, star, sink)]
    await make_hot(s)
    model = 0
    for kind, minor in operations:
        if kind == "in":
            await transfer(a, s, minor)
            model += minor
        elif kind == "out":
            if minor <= model:
                await transfer(s, b, minor)
                model -= minor
            else:
                with pytest.raises(InsufficientFunds):
                    await transfer(s, b, minor)
        else:
            async with connection() as conn:
                await ledger.roll_up_hot_accounts(conn)
        assert await posted(s) == model
        async with connection() as conn:
            assert await check_all(conn) == []
