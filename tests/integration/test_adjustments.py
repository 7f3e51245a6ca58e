"""Four-eyes adjustments: what a proposal may be, who may decide it, and that two
approvers racing on one proposal post it once."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import make_user
from wallet.adjustments import service as adjustments
from wallet.db.engine import connection, transaction
from wallet.errors import RefusalKind
from wallet.ledger.errors import InsufficientFunds
from wallet.money import Currency, Money

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def account(code: str) -> int:
    async with connection() as conn:
        return int(await conn.fetchval("SELECT id FROM ledger_account WHERE code = $1", code))


async def operators(n: int = 3) -> list[int]:
    return [(await make_user()).id for _ in range(n)]


async def entries() -> int:
    async with connection() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM journal_entry"))


async def test_a_proposal_is_refused_when_it_could_not_be_posted(database_url: str) -> None:
    [first] = await operators(1)
    suspense = await account("system:USD:reconciliation_suspense")
    clearing = await account("system:USD:gateway_clearing:sandbox")
    euro = await account("system:EUR:fee_revenue")
    usd = Money.parse("1.00", Currency.USD)
    zero = Money(0, Currency.USD)
    for debit, credit, amount in (
        (clearing, clearing, usd),  # one account on both sides
        (clearing, euro, usd),  # another currency
        (clearing, 999_999, usd),  # no such account
        (clearing, suspense, zero),
    ):
        with pytest.raises(adjustments.AdjustmentRefused) as refused:
            await adjustments.propose(
                first, debit_account_id=debit, credit_account_id=credit, amount=amount, reason="r"
            )
        assert refused.value.code == "INVALID_ACCOUNTS"
    with pytest.raises(adjustments.ReasonRequired):
        await adjustments.propose(
            first, debit_account_id=clearing, credit_account_id=suspense, amount=usd, reason="  "
        )
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ledger_adjustment") == 0


async def test_a_rejection_needs_a_second_operator_and_a_reason_and_posts_nothing(
    database_url: str,
) -> None:
    first, second, _ = await operators()
    proposal = await adjustments.propose(
        first,
        debit_account_id=await account("system:USD:gateway_clearing:sandbox"),
        credit_account_id=await account("system:USD:reconciliation_suspense"),
        amount=Money.parse("2.50", Currency.USD),
        reason="Traced later",
    )
    before = await entries()
    async with transaction() as conn:
        with pytest.raises(adjustments.OwnProposal) as own:
            await adjustments.reject_in(conn, first, proposal.id, "changed my mind")
    assert own.value.kind is RefusalKind.FORBIDDEN
    async with transaction() as conn:
        with pytest.raises(adjustments.ReasonRequired):
            await adjustments.reject_in(conn, second, proposal.id, "")
    async with transaction() as conn:
        rejected = await adjustments.reject_in(conn, second, proposal.id, "Not ours to post")
    assert rejected.status is adjustments.AdjustmentStatus.REJECTED
    assert (rejected.decided_by, rejected.entry_id) == (second, None)
    with pytest.raises(adjustments.AlreadyDecided):
        await adjustments.approve(second, proposal.id)
    assert await entries() == before
    assert [a.id for a in await adjustments.listed(open_only=True)] == []


async def test_an_entry_that_would_overdraw_a_wallet_is_refused_at_approval(
    database_url: str,
) -> None:
    first, second, _ = await operators()
    customer = await make_user(balance="3.00")
    proposal = await adjustments.propose(
        first,
        debit_account_id=await account(f"user:{customer.id}:USD:wallet"),
        credit_account_id=await account("system:USD:reconciliation_suspense"),
        amount=Money.parse("5.00", Currency.USD),
        reason="Clawback of a duplicate credit",
    )
    before = await entries()
    with pytest.raises(InsufficientFunds):
        await adjustments.approve(second, proposal.id)
    assert await entries() == before
    [still] = await adjustments.listed(open_only=True)
    assert (still.id, still.status) == (proposal.id, adjustments.AdjustmentStatus.PROPOSED)


async def test_two_approvers_at_once_post_the_entry_once(database_url: str) -> None:
    first, second, third = await operators()
    proposal = await adjustments.propose(
        first,
        debit_account_id=await account("system:USD:gateway_clearing:sandbox"),
        credit_account_id=await account("system:USD:reconciliation_suspense"),
        amount=Money.parse("7.00", Currency.USD),
        reason="Unknown bank credit",
    )
    before = await entries()
    outcomes = await asyncio.gather(
        adjustments.approve(second, proposal.id),
        adjustments.approve(third, proposal.id),
        return_exceptions=True,
    )
    approved = [o for o in outcomes if isinstance(o, adjustments.Adjustment)]
    refused = [o for o in outcomes if isinstance(o, adjustments.AlreadyDecided)]
    assert (len(approved), len(refused)) == (1, 1), outcomes
    assert await entries() == before + 1
    async with connection() as conn:
        balance = await conn.fetchval(
            "SELECT posted_credits - posted_debits FROM ledger_account "
            "WHERE code = 'system:USD:reconciliation_suspense'"
        )
    assert balance == 700
