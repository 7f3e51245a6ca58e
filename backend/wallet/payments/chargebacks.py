"""Top-ups taken back after they were credited (card chargebacks, returned ACH debits),
and repaying what they leave owed.

The gateway claws the money back from the platform (credit gateway clearing). The
wallet pays what it has (debit wallet); any shortfall becomes a debt (debit the
chargeback reserve, an asset: the user owes it) and the wallet is `restricted`: it can
receive but not send or withdraw. Money that arrives later repays the debt first
(wallet -> reserve); once it is repaid the restriction lifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wallet.db.engine import Connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.invariants import Breach, system_account_breaches
from wallet.ledger.models import EntryDraft, OwnerType, PostingDraft, Purpose, Side
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType

RESTRICTED = "chargeback"


@dataclass(frozen=True, slots=True)
class TakeBack:
    """How one kind of take-back is written down: its journal entry kind and the words
    of its transaction note."""

    entry_kind: str
    label: str


# A card holder's bank disputes a completed charge.
CHARGEBACK = TakeBack("chargeback", "card chargeback")
# The payer's bank returns an ACH debit after it settled (R01 insufficient funds, R10
# unauthorised...): the same claw-back, so the same debt and restriction. The business
# transaction type stays CHARGEBACK (money the payer's bank took back), so history
# filters, notifications and the reserve invariant cover both.
ACH_RETURN = TakeBack("ach_return", "ACH return")


async def apply_chargeback(
    conn: Connection, top_up: Any, reason: str | None, kind: TakeBack = CHARGEBACK
) -> int:
    """Reverse a completed top-up (its row locked by the caller) whose money the gateway
    took back; return the new transaction's id."""
    user_id = int(top_up["initiator_user_id"])
    amount = Money(int(top_up["amount"]), Currency(top_up["currency"]))
    wallet = await ledger.find_account(conn, OwnerType.USER, user_id, amount.currency, "wallet")
    assert wallet is not None
    available = (await ledger.lock_accounts(conn, [wallet]))[wallet].available
    covered = min(max(available, 0), amount.amount_minor)
    shortfall = amount.amount_minor - covered
    clearing = await ledger.system_account_id(
        conn, amount.currency, Purpose.GATEWAY_CLEARING_SANDBOX
    )
    postings = [PostingDraft(clearing, Side.CREDIT, amount)]
    if covered:
        postings.append(PostingDraft(wallet, Side.DEBIT, Money(covered, amount.currency)))
    if shortfall:
        reserve = await ledger.system_account_id(conn, amount.currency, Purpose.CHARGEBACK_RESERVE)
        postings.append(PostingDraft(reserve, Side.DEBIT, Money(shortfall, amount.currency)))
    entry_id = await ledger.post_entry(
        conn, EntryDraft(kind.entry_kind, tuple(postings), f"{kind.label} of {top_up['id']}")
    )
    chargeback_id, _ = await transactions.record_completed(
        conn,
        transactions.NewTransaction(
            type=TransactionType.CHARGEBACK,
            amount=amount,
            initiator_user_id=user_id,
            note=f"{kind.label}: {reason}" if reason else kind.label,
            gateway_ref=(
                f"{top_up['gateway_ref']}:{kind.entry_kind}" if top_up["gateway_ref"] else None
            ),
        ),
        entry_id,
    )
    await transactions.transition(
        conn, int(top_up["id"]), TransactionStatus.REVERSED, reason=f"{kind.label}: {reason}"
    )
    if shortfall:
        await conn.execute(
            "INSERT INTO chargeback_debt (user_id, currency, amount, transaction_id) "
            "VALUES ($1, $2, $3, $4)",
            user_id,
            amount.currency.value,
            shortfall,
            chargeback_id,
        )
        await conn.execute(
            "UPDATE wallet SET status = 'restricted', restricted_reason = $2 "
            "WHERE user_id = $1 AND status = 'active'",
            user_id,
            RESTRICTED,
        )
    await emit(conn, Topic.BALANCE_CHANGED, {"user_id": user_id, "currency": amount.currency.value})
    return chargeback_id


async def repay_debts(user_id: int) -> int:
    """Repay open chargeback debts from the wallet; lift the restriction when all are paid.

    Returns the minor units repaid. Run after money arrives (and by the worker)."""
    repaid_total = 0
    async with transaction() as conn:
        debts = await conn.fetch(
            "SELECT id, currency, amount - repaid AS owed FROM chargeback_debt "
            "WHERE user_id = $1 AND repaid < amount ORDER BY id FOR UPDATE",
            user_id,
        )
        for debt in debts:
            currency = Currency(debt["currency"])
            wallet = await ledger.find_account(conn, OwnerType.USER, user_id, currency, "wallet")
            if wallet is None:
                continue
            available = (await ledger.lock_accounts(conn, [wallet]))[wallet].available
            pay = min(max(available, 0), int(debt["owed"]))
            if not pay:
                continue
            reserve = await ledger.system_account_id(conn, currency, Purpose.CHARGEBACK_RESERVE)
            await ledger.post_entry(
                conn,
                EntryDraft.transfer(
                    "chargeback_repayment",
                    wallet,
                    reserve,
                    Money(pay, currency),
                    f"chargeback debt {debt['id']}",
                ),
            )
            await conn.execute(
                "UPDATE chargeback_debt SET repaid = repaid + $2 WHERE id = $1", debt["id"], pay
            )
            repaid_total += pay
        still_owed = await conn.fetchval(
            "SELECT count(*) FROM chargeback_debt WHERE user_id = $1 AND repaid < amount",
            user_id,
        )
        if not still_owed:
            # A wallet frozen meanwhile (by compliance, or by a possible sanctions match)
            # stays frozen: only the debt's restriction goes.
            await conn.execute(
                "UPDATE wallet SET restricted_reason = NULL, status = CASE status "
                "WHEN 'restricted' THEN 'active' ELSE status END "
                "WHERE user_id = $1 AND restricted_reason = $2",
                user_id,
                RESTRICTED,
            )
    return repaid_total


async def repay_all_debts() -> int:
    """Worker job: try every user with an open debt."""
    async with transaction() as conn:
        users = await conn.fetch(
            "SELECT DISTINCT user_id FROM chargeback_debt WHERE repaid < amount"
        )
    return sum([await repay_debts(int(u["user_id"])) for u in users])


async def reserve_breaches(conn: Connection) -> list[Breach]:
    """The chargeback reserve is exactly what users still owe from chargebacks."""
    owed = {
        Currency(r["currency"]): int(r["owed"])
        for r in await conn.fetch(
            "SELECT currency, sum(amount - repaid) AS owed FROM chargeback_debt GROUP BY currency"
        )
    }
    return await system_account_breaches(
        conn, "chargeback_reserve_matches_debts", Purpose.CHARGEBACK_RESERVE, owed
    )
