"""The checks that tie a system account to another domain's rows live in that domain
(docs/ledger.md, "The ledger's boundary") and `wallet.checks.check_all` runs them: each
one still finds a system account that holds what its domain's rows do not explain, and
an open gateway transaction without its hold."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.ledger_helpers import usd
from wallet.checks import check_all
from wallet.db.engine import connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.invariants import check_ledger
from wallet.ledger.models import EntryDraft, Purpose, Side
from wallet.money import Currency
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.mark.parametrize(
    ("purpose", "check"),
    [
        (Purpose.BUYER_PROTECTION_ESCROW, "escrow_matches_payments"),
        (Purpose.DISPUTE_HOLD, "dispute_hold_matches_disputes"),
        (Purpose.UNCLAIMED_TRANSFERS, "unclaimed_escrow_matches_transfers"),
        (Purpose.CHARGEBACK_RESERVE, "chargeback_reserve_matches_debts"),
    ],
)
async def test_a_system_account_its_domain_cannot_explain_is_a_breach(
    purpose: str, check: str
) -> None:
    async with transaction() as conn:
        promo = await ledger.system_account_id(conn, Currency.USD, Purpose.PROMOTIONAL_FUNDING)
        target = await ledger.system_account_id(conn, Currency.USD, purpose)
        # Raise the account's balance on its normal side (credit a liability, debit an asset).
        credit_normal = (await ledger.balance(conn, target)).normal_side is Side.CREDIT
        debit, credit = (promo, target) if credit_normal else (target, promo)
        await ledger.post_entry(conn, EntryDraft.transfer("test", debit, credit, usd(1234)))
    async with connection() as conn:
        breaches = await check_all(conn)
        ledger_only = await check_ledger(conn)
    assert [(b.check, b.detail, b.account_ids) for b in breaches] == [
        (check, f"system:USD:{purpose}: off by 1234", (target,))
    ]
    assert ledger_only == []  # the ledger itself is sound: the entry balances


async def test_an_open_transaction_without_its_hold_is_a_breach() -> None:
    user = await make_user()
    async with transaction() as conn:
        txn, _ = await transactions.create(
            conn, transactions.NewTransaction(TransactionType.WITHDRAWAL, usd(500), user.id)
        )
        await transactions.transition(conn, txn, TransactionStatus.PENDING)
    async with connection() as conn:
        breaches = await check_all(conn)
    assert [(b.check, b.detail) for b in breaches] == [
        ("open_transaction_has_hold", f"transaction {txn}: off by 500")
    ]
