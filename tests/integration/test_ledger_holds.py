"""Holds: reserve now, then post (full or partial), void or expire; invariants throughout."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from tests.ledger_helpers import transfer, usd, wallet_account
from wallet.checks import check_all
from wallet.db.engine import connection, transaction
from wallet.ledger import holds
from wallet.ledger import service as ledger
from wallet.ledger.errors import HoldAmountExceeded, HoldNotPending, InsufficientFunds
from wallet.ledger.models import Balance

pytestmark = pytest.mark.usefixtures("database_url")
LATER = datetime.now(UTC) + timedelta(days=1)


async def balance(account_id: int) -> Balance:
    async with connection() as conn:
        return await ledger.balance(conn, account_id)


async def reserve(debit: int, credit: int, minor: int, expires_at: datetime = LATER) -> int:
    async with transaction() as conn:
        return await holds.reserve(
            conn,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=usd(minor),
            expires_at=expires_at,
        )


async def accounts(balance_a: str = "100.00") -> tuple[int, int]:
    a, b = await make_user(balance=balance_a), await make_user()
    return await wallet_account(a.id), await wallet_account(b.id)


async def test_reserve_lowers_available_at_once_and_posts_nothing() -> None:
    a, b = await accounts()
    await reserve(a, b, 3000)
    source, target = await balance(a), await balance(b)
    assert (source.posted, source.reserved, source.available) == (10000, 3000, 7000)
    assert (target.posted, target.incoming, target.available) == (0, 3000, 0)
    with pytest.raises(InsufficientFunds):
        await transfer(a, b, 7001)  # the reserved money cannot be spent twice


async def test_partial_post_moves_part_and_releases_the_rest() -> None:
    a, b = await accounts()
    hold = await reserve(a, b, 3000)
    async with transaction() as conn:
        await holds.post(conn, hold, usd(1200))
    source, target = await balance(a), await balance(b)
    assert (source.posted, source.reserved, target.posted, target.incoming) == (8800, 0, 1200, 0)
    with pytest.raises(HoldNotPending):
        async with transaction() as conn:
            await holds.post(conn, hold)
    async with connection() as conn:
        assert await check_all(conn) == []


async def test_void_releases_everything_and_over_posting_is_refused() -> None:
    a, b = await accounts()
    hold = await reserve(a, b, 3000)
    with pytest.raises(HoldAmountExceeded):
        async with transaction() as conn:
            await holds.post(conn, hold, usd(3001))
    assert (await balance(a)).reserved == 3000  # the refused post changed nothing
    async with transaction() as conn:
        await holds.void(conn, hold)
    assert (await balance(a)).available == 10000
    assert (await balance(b)).incoming == 0


async def test_reserving_more_than_available_writes_nothing() -> None:
    a, b = await accounts("10.00")
    with pytest.raises(InsufficientFunds):
        await reserve(a, b, 1001)
    assert (await balance(a)).reserved == 0
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ledger_hold") == 0


async def test_due_holds_expire_and_others_stay() -> None:
    a, b = await accounts()
    past = datetime.now(UTC) - timedelta(seconds=1)
    due, later = await reserve(a, b, 1000, past), await reserve(a, b, 2000)
    async with transaction() as conn:
        assert await holds.expire_due(conn, datetime.now(UTC)) == [due]
    assert (await balance(a)).reserved == 2000
    async with connection() as conn:
        statuses = dict(await conn.fetch("SELECT id, status FROM ledger_hold"))
    assert statuses == {due: "expired", later: "pending"}


async def test_concurrent_reservations_never_oversubscribe_a_wallet() -> None:
    a, b = await accounts("50.00")
    results = await asyncio.gather(*(reserve(a, b, 700) for _ in range(20)), return_exceptions=True)
    succeeded = [r for r in results if isinstance(r, int)]
    assert len(succeeded) == 7  # 7 x 7.00 <= 50.00 < 8 x 7.00
    assert all(isinstance(r, InsufficientFunds) for r in results if not isinstance(r, int))
    assert (await balance(a)).available == 5000 - 7 * 700
    async with connection() as conn:
        assert await check_all(conn) == []


OPS = st.lists(
    st.tuples(
        st.sampled_from(["transfer", "reserve", "post", "void"]),
        st.integers(0, 2),
        st.integers(0, 2),
        st.integers(1, 3000),
    ),
    max_size=20,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
async def test_random_transfers_and_holds_match_a_model(ops: list) -> None:  # type: ignore[type-arg]
    users = [await make_user(balance="30.00") for _ in range(3)]
    accts = [await wallet_account(u.id) for u in users]
    posted, reserved = [3000, 3000, 3000], [0, 0, 0]
    open_holds: list[tuple[int, int, int, int]] = []  # (hold, src, dst, amount)
    for op, i, j, amount in ops:
        src, dst = i, (i + 1 + j % 2) % 3
        available = posted[src] - reserved[src]
        if op == "transfer":
            if amount <= available:
                await transfer(accts[src], accts[dst], amount)
                posted[src] -= amount
                posted[dst] += amount
            else:
                with pytest.raises(InsufficientFunds):
                    await transfer(accts[src], accts[dst], amount)
        elif op == "reserve":
            if amount <= available:
                open_holds.append((await reserve(accts[src], accts[dst], amount), src, dst, amount))
                reserved[src] += amount
            else:
                with pytest.raises(InsufficientFunds):
                    await reserve(accts[src], accts[dst], amount)
        elif open_holds:
            hold, h_src, h_dst, held = open_holds.pop(j % len(open_holds))
            reserved[h_src] -= held
            async with transaction() as conn:
                if op == "post":
                    part = min(amount, held)
                    await holds.post(conn, hold, usd(part))
                    posted[h_src] -= part
                    posted[h_dst] += part
                else:
                    await holds.void(conn, hold)
        async with connection() as conn:
            assert await check_all(conn) == []
    for k, account in enumerate(accts):
        b = await balance(account)
        assert (b.posted, b.reserved) == (posted[k], reserved[k])
