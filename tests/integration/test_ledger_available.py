"""'Available' is defined once, in SQL (`ledger_available`, migration 0044), and agrees
with the ledger: for random postings and holds on ordinary, hot and debit-normal
accounts, the balance view, a locked row and the write path's refusals all report what
a model of the movements says (posted on the normal side minus what holds reserve)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_user
from tests.ledger_helpers import usd, wallet_account
from wallet.checks import check_all
from wallet.db.engine import connection, transaction
from wallet.ledger import holds
from wallet.ledger import service as ledger
from wallet.ledger.errors import InsufficientFunds
from wallet.ledger.models import EntryDraft, Purpose
from wallet.money import Currency

pytestmark = pytest.mark.usefixtures("database_url")
LATER = datetime.now(UTC) + timedelta(days=1)
CLEARING = 3  # index of the gateway clearing account (an asset: debit-normal, may overdraw)


@dataclass
class Model:
    """An account as the movements say it should be, on its normal side."""

    debit_normal: bool
    posted: int = 0
    reserved: int = 0

    def debit(self, amount: int) -> None:
        self.posted += amount if self.debit_normal else -amount

    def credit(self, amount: int) -> None:
        self.posted += -amount if self.debit_normal else amount

    @property
    def available(self) -> int:
        return self.posted - self.reserved


OPS = st.lists(
    st.tuples(
        st.sampled_from(["topup", "transfer", "reserve", "withdraw", "post", "void", "roll_up"]),
        st.integers(0, 2),
        st.integers(0, 5),
        st.integers(1, 4000),
    ),
    min_size=1,
    max_size=14,
)


async def _refused_with(draft: EntryDraft) -> int | None:
    """Post `draft`; the available amount a refusal reports, or None if it posted."""
    try:
        async with transaction() as conn:
            await ledger.post_entry(conn, draft)
    except InsufficientFunds as exc:
        return exc.available
    return None


async def _reserve(debit: int, credit: int, amount: int) -> int | InsufficientFunds:
    try:
        async with transaction() as conn:
            return await holds.reserve(
                conn,
                debit_account_id=debit,
                credit_account_id=credit,
                amount=usd(amount),
                expires_at=LATER,
            )
    except InsufficientFunds as exc:
        return exc


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
async def test_available_agrees_with_a_model_of_postings_and_holds(
    ops: list[tuple[str, int, int, int]],
) -> None:
    users = [await make_user() for _ in range(3)]
    accounts = [await wallet_account(u.id) for u in users]
    async with transaction() as conn:
        accounts.append(
            await ledger.system_account_id(conn, Currency.USD, Purpose.GATEWAY_CLEARING_SANDBOX)
        )
        await ledger.set_hot(conn, accounts[1], True)  # a popular wallet: deferred credits
        start = await ledger.balance(conn, accounts[CLEARING])
    model = [Model(False), Model(False), Model(False), Model(True)]
    # The clearing account is shared by every example: start the model where it stands.
    model[CLEARING].posted = start.posted_debits - start.posted_credits
    model[CLEARING].reserved = start.pending_credits
    open_holds: list[tuple[int, int, int, int]] = []  # (hold, debit, credit, amount)

    for op, i, j, amount in ops:
        other = (i + 1 + j % 2) % 3
        if op == "topup":  # money in from the bank: debit clearing, credit a wallet
            assert (
                await _refused_with(
                    EntryDraft.transfer("top_up", accounts[CLEARING], accounts[i], usd(amount))
                )
                is None
            )
            model[CLEARING].debit(amount)
            model[i].credit(amount)
        elif op == "transfer":
            before = model[i].available
            refused = await _refused_with(
                EntryDraft.transfer("p2p", accounts[i], accounts[other], usd(amount))
            )
            if amount <= before:
                assert refused is None
                model[i].debit(amount)
                model[other].credit(amount)
            else:  # the refusal reports the same available amount
                assert refused == before
        elif op in ("reserve", "withdraw"):
            target = CLEARING if op == "withdraw" else other
            before = model[i].available
            hold = await _reserve(accounts[i], accounts[target], amount)
            if amount <= before:
                assert isinstance(hold, int)
                open_holds.append((hold, i, target, amount))
                model[i].reserved += amount
                if target == CLEARING:  # on an asset, pending credits are reserved
                    model[CLEARING].reserved += amount
            else:
                assert isinstance(hold, InsufficientFunds)
                assert hold.available == before
        elif op in ("post", "void") and open_holds:
            hold_id, debit, credit, held = open_holds.pop(j % len(open_holds))
            model[debit].reserved -= held
            if credit == CLEARING:
                model[CLEARING].reserved -= held
            async with transaction() as conn:
                if op == "post":
                    part = min(amount, held)
                    await holds.post(conn, hold_id, usd(part))
                    model[debit].debit(part)
                    model[credit].credit(part)
                else:
                    await holds.void(conn, hold_id)
        elif op == "roll_up":
            async with connection() as conn:
                await ledger.roll_up_hot_accounts(conn)

        # The view, read without a lock (a hot account's queued deltas included) ...
        async with connection() as conn:
            seen = await ledger.balances(conn, accounts)
        for k, account in enumerate(accounts):
            b = seen[account]
            assert (b.posted, b.reserved, b.available) == (
                model[k].posted,
                model[k].reserved,
                model[k].available,
            ), (op, k)
    # ... and a locked, rolled-up row say the same.
    async with transaction() as conn:
        locked = await ledger.lock_accounts(conn, sorted(accounts))
    for k, account in enumerate(accounts):
        assert locked[account].available == model[k].available, k
    async with connection() as conn:
        assert await check_all(conn) == []
    async with transaction() as conn:  # leave the shared clearing account without holds
        for hold_id, *_ in open_holds:
            await holds.void(conn, hold_id)


# A subtraction of a pending total: the shape of the "available" formula.
_FORMULA = re.compile(r"-\s*(\w+\.)?pending_(debits|credits)\b")


async def test_available_is_written_once_in_the_database() -> None:
    """No function, view or constraint but `ledger_available` spells the formula out;
    the no-overdraft CHECK, the write path and the balance view call it."""
    async with connection() as conn:
        functions = await conn.fetch(
            "SELECT p.proname AS name, p.prosrc AS text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        )
        views = await conn.fetch(
            "SELECT viewname AS name, definition AS text FROM pg_views WHERE schemaname = 'public'"
        )
        checks = await conn.fetch(
            "SELECT conname AS name, pg_get_constraintdef(oid) AS text FROM pg_constraint "
            "WHERE contype = 'c' AND connamespace = 'public'::regnamespace"
        )
    spelled = {r["name"] for r in [*functions, *views, *checks] if _FORMULA.search(r["text"])}
    assert spelled == {"ledger_available"}
    callers = {r["name"] for r in [*functions, *views, *checks] if "ledger_available(" in r["text"]}
    assert {"ledger_post_entry", "ledger_balance", "ledger_account_no_overdraft"} <= callers
