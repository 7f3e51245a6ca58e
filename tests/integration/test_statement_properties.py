"""Property: whatever happens to a wallet, every statement of it adds up to the cent.

Random histories through the real API and services, against the real database: sends
and receives, card top-ups, ACH top-ups that wait and then settle or come back returned,
operator reversals, conversions, payments to a merchant (whose payable is a hot
account), and the wallet itself marked hot (deferred credits rolled up later). Then for
every statement, and for random windows of the chain: opening + rows = closing, rows in
ledger-position order, each balance the one before plus the row, adjacent windows
joined, and the closing balance the ledger's at the cut.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.graphql_client import add_bank, add_card, fund, send
from tests.integration.test_statements import convert
from tests.merchant_helpers import create, customer, pay, shop
from wallet.checks import check_all
from wallet.db.engine import connection, transaction
from wallet.gateway.sandbox import SandboxGateway
from wallet.ledger import chain
from wallet.ledger import service as ledger
from wallet.ledger.errors import InsufficientFunds
from wallet.ledger.models import OwnerType, Purpose
from wallet.money import Currency
from wallet.payments import funding
from wallet.statements import service as statements
from wallet.transfers.reversal import NotReversible, reverse_transfer

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "send",
                "receive",
                "card",
                "ach",
                "ach_returned",
                "settle",
                "reverse",
                "convert",
                "pay_merchant",
                "hot",
                "roll_up",
            ]
        ),
        st.integers(1, 9000),
    ),
    min_size=3,
    max_size=10,
)


class World:
    """The people and methods one example plays with."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.sends: list[str] = []

    async def start(self) -> None:
        self.ann, self.ann_token = await customer(self.live, "120.00")
        self.bob, self.bob_token = await customer(self.live, "80.00")
        self.card = await add_card(self.live, self.ann_token)
        self.bank = await add_bank(self.live, self.ann_token)
        self.returning = await add_bank(self.live, self.ann_token, "000111111116")
        _, self.owner_token, self.merchant = await shop(self.live)

    async def play(self, kind: str, cents: int) -> None:
        amount = f"{cents // 100}.{cents % 100:02d}"
        live = self.live
        if kind == "send":
            sent = await send(live, self.ann_token, self.bob.username, amount)
            if sent.get("__typename") == "SendMoneyPayload":
                self.sends.append(sent["transfer"]["id"])
        elif kind == "receive":
            sent = await send(live, self.bob_token, self.ann.username, amount)
            if sent.get("__typename") == "SendMoneyPayload":
                self.sends.append(sent["transfer"]["id"])
        elif kind == "card":
            await fund(live, self.ann_token, self.card, amount)
        elif kind in ("ach", "ach_returned"):
            method = self.bank if kind == "ach" else self.returning
            await fund(live, self.ann_token, method, amount)
        elif kind == "settle":
            gateway = SandboxGateway(
                Redis.from_url(live.settings.redis_url or ""),
                day_seconds=live.settings.sandbox.day_seconds,
            )
            await gateway.advance(3.1)
            await funding.deliver_sandbox_events(gateway, live.settings.gateway.webhook_secret)
        elif kind == "reverse" and self.sends:
            # Refused when spent already or no longer a completed transfer: nothing moves.
            with contextlib.suppress(InsufficientFunds, NotReversible):
                await reverse_transfer(int(self.sends.pop(cents % len(self.sends))), "mistake")
        elif kind == "convert":
            # Refused when the dollars are not there: nothing moves.
            with contextlib.suppress(AssertionError):
                await convert(live, self.ann_token, "USD", "EUR", amount)
        elif kind == "pay_merchant":
            request = await create(live, self.owner_token, self.merchant, amount=amount)
            await pay(live, self.ann_token, request["request"]["id"])
        elif kind == "hot":
            async with transaction() as conn:
                account = await ledger.find_account(
                    conn, OwnerType.USER, self.ann.id, Currency.USD, Purpose.WALLET
                )
                assert account is not None
                await ledger.set_hot(conn, account, True)
        elif kind == "roll_up":
            async with transaction() as conn:
                await ledger.roll_up_hot_accounts(conn)


WORLDS: dict[str | None, World] = {}


@pytest.mark.usefixtures("assert_ledger_sound")
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS, data=st.data())
async def test_every_statement_adds_up_whatever_the_history(
    live_server: LiveServer, operations: list[tuple[str, int]], data: st.DataObject
) -> None:
    # The people, their cards and banks and the shop are made once per run and their
    # histories grow from example to example: later examples cut longer statements.
    world = WORLDS.get(live_server.settings.database_url)
    if world is None:
        world = WORLDS[live_server.settings.database_url] = World(live_server)
        await world.start()
    for kind, cents in operations:
        await world.play(kind, cents)

    today = datetime.now(UTC).date()
    for user in (world.ann, world.bob):
        made = await statements.cut_statements(user.id, today - timedelta(days=1), today)
        assert made, "every user here has a balance"
        for s in made:
            rows = list(s.rows)
            running = s.opening
            for previous, row in zip([None, *rows], rows, strict=False):
                running = running + row.amount
                assert row.balance == running, (s.currency, row.position)
                if previous is not None:
                    assert row.position == previous.position + 1
                    assert row.posted_at >= previous.posted_at
            assert s.closing == running
            assert sum((r.amount for r in rows), s.opening) == s.closing
            async with connection() as conn:
                accounts = await chain.accounts_of(conn, "user", user.id, Purpose.WALLET)
                account = accounts[s.currency]
                # Nothing moves while we look: the ledger's balance is the one at the cut.
                assert (await ledger.balance(conn, account.id)).posted == s.closing.amount_minor
                assert await chain.last_position(conn, account.id) == s.position
            checked = await statements.verify(
                user.id, s.currency, s.period_from, s.period_to, s.position, s.digest
            )
            assert checked.matches

            # Random windows of the chain join up: each closes where the next opens.
            if not rows:
                continue
            times = sorted({r.posted_at for r in rows})
            cuts = sorted(set(data.draw(st.lists(st.sampled_from(times), max_size=3))))
            upto = data.draw(st.integers(rows[0].position, s.position))
            bounds = [times[0] - timedelta(seconds=1), *cuts, times[-1] + timedelta(seconds=1)]
            async with connection() as conn:
                windows = [
                    await chain.window(conn, account.id, s.currency, start, end, upto)
                    for start, end in itertools.pairwise(bounds)
                ]
            for before, after in itertools.pairwise(windows):
                closing = before.postings[-1].balance_after if before.postings else before.opening
                assert closing == after.opening
            joined = [p.position for w in windows for p in w.postings]
            assert joined == [r.position for r in rows if r.position <= upto]

    async with connection() as conn:
        assert await check_all(conn) == []
