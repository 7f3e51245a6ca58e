"""Ledger positions under concurrency: statements cut while money moves in and out of a
wallet (an ordinary one, and a hot one whose credits are rolled up later) add up, and
verify again, byte for byte, once everything has committed."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest

from tests.factories import make_user
from tests.ledger_helpers import transfer, wallet_account
from wallet.checks import check_all
from wallet.db.engine import connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.errors import InsufficientFunds
from wallet.money import Currency
from wallet.statements import service as statements

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


@pytest.mark.parametrize("hot", [False, True], ids=["ordinary", "hot"])
async def test_statements_cut_during_concurrent_transfers_add_up_and_verify_later(
    hot: bool,
) -> None:
    payers = [await make_user(balance="100.00") for _ in range(4)]
    star, sink = await make_user(balance="50.00"), await make_user()
    s, out = await wallet_account(star.id), await wallet_account(sink.id)
    if hot:
        async with transaction() as conn:
            await ledger.set_hot(conn, s, True)
    sources = [await wallet_account(p.id) for p in payers]
    today = datetime.now(UTC).date()

    async def spend() -> None:
        for cents in range(101, 131):
            with contextlib.suppress(InsufficientFunds):  # refused: nothing moved
                await transfer(s, out, cents)

    async def roll_up() -> None:
        for _ in range(20):
            async with transaction() as conn:
                await ledger.roll_up_hot_accounts(conn)
            await asyncio.sleep(0.01)

    async def cut_often() -> list[statements.Statement]:
        made = []
        for _ in range(8):
            made += await statements.cut_statements(star.id, today, today, Currency.USD)
            await asyncio.sleep(0.02)
        return made

    *_, cuts = await asyncio.gather(
        *(transfer(src, s, 77 + n) for n, src in enumerate(sources) for _ in range(12)),
        spend(),
        roll_up(),
        cut_often(),
    )
    final = await statements.cut_statements(star.id, today, today, Currency.USD)
    for statement in [*cuts, *final]:
        running = statement.opening
        for previous, row in zip([None, *statement.rows], statement.rows, strict=False):
            running = running + row.amount
            assert row.balance == running
            if previous is not None:
                assert row.position == previous.position + 1
        assert running == statement.closing
        again = await statements.verify(
            star.id,
            Currency.USD,
            statement.period_from,
            statement.period_to,
            statement.position,
            statement.digest,
        )
        assert again.matches, statement.position
    # The last cut has every posting: its closing is the wallet's balance.
    async with connection() as conn:
        assert (await ledger.balance(conn, s)).posted == final[0].closing.amount_minor
        assert await check_all(conn) == []
    positions = [c.position for c in cuts]
    assert positions == sorted(positions)
