"""Operator reversal of a completed transfer: a new, opposite movement, never an edit.

The original stays as it was (its entry is immutable) and moves COMPLETED -> REVERSED;
a new `reversal` transaction posts the mirror image of its journal entry (every posting
on the other side), linked to it by `reverses_id`. A cross-currency send is undone at
its original rate, fee and spread included, so both parties end where they started. If
the recipient has already spent the money the reversal is refused (InsufficientFunds)
and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from asyncpg import Record

from wallet.db.engine import Connection, transaction
from wallet.errors import NotFound
from wallet.ledger import service as ledger
from wallet.ledger.models import EntryDraft, PostingDraft, Side
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit_many
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.transfers.errors import TransferError
from wallet.wallets.service import open_balance


class NotReversible(TransferError):
    field = "transactionId"
    code = "NOT_REVERSIBLE"

    def __init__(self, transaction_id: int, why: str) -> None:
        super().__init__(f"Transaction {transaction_id} cannot be reversed: {why}")


class NothingToReverse(TransferError, NotFound):
    def __init__(self, transaction_id: int) -> None:
        super().__init__(f"No transaction {transaction_id}")


@dataclass(frozen=True, slots=True)
class Reversal:
    original_id: int
    reversal_id: int


_ROW = (
    "SELECT id, type, status, initiator_user_id, counterparty_user_id, currency, amount,"
    " counter_currency, counter_amount, entry_id FROM money_transaction WHERE id = $1"
)


def _reversible(transaction_id: int, row: Record | None) -> Record:
    if row is None:
        raise NothingToReverse(transaction_id)
    if row["type"] != TransactionType.SEND.value or row["counterparty_user_id"] is None:
        raise NotReversible(transaction_id, "only transfers between wallets reverse here")
    if row["status"] != TransactionStatus.COMPLETED.value:
        raise NotReversible(transaction_id, f"it is {row['status']}")
    return row


async def check_reversible(conn: Connection, transaction_id: int) -> None:
    """Raise what `reverse_in` would refuse for now (the transaction's kind or state)."""
    _reversible(transaction_id, await conn.fetchrow(_ROW, transaction_id))


async def reverse_transfer(transaction_id: int, reason: str) -> Reversal:
    async with transaction() as conn:
        return await reverse_in(conn, transaction_id, reason)


async def reverse_in(conn: Connection, transaction_id: int, reason: str) -> Reversal:
    """Reverse in the caller's transaction (an approved four-eyes reversal)."""
    row = _reversible(transaction_id, await conn.fetchrow(_ROW + " FOR UPDATE", transaction_id))
    sender, recipient = int(row["initiator_user_id"]), int(row["counterparty_user_id"])
    sent = Money(int(row["amount"]), Currency(row["currency"]))
    received = sent
    if row["counter_currency"] is not None:
        received = Money(int(row["counter_amount"]), Currency(row["counter_currency"]))
    # The money goes back to the sender's balance even if they closed it since.
    await open_balance(conn, sender, sent.currency)
    postings = await ledger.entry_postings(conn, int(row["entry_id"]))
    reversal_id, _ = await transactions.create(
        conn,
        transactions.NewTransaction(
            type=TransactionType.REVERSAL,
            amount=received,
            initiator_user_id=recipient,
            counterparty_user_id=sender,
            note=reason,
            reverses_id=transaction_id,
            counter_amount=sent if received is not sent else None,
        ),
    )
    mirror = {Side.DEBIT: Side.CREDIT, Side.CREDIT: Side.DEBIT}
    entry_id = await ledger.post_entry(
        conn,
        EntryDraft(
            "reversal",
            tuple(PostingDraft(p.account_id, mirror[p.side], p.amount) for p in postings),
            f"reverses transaction {transaction_id}",
        ),
    )
    await transactions.transition(conn, reversal_id, TransactionStatus.COMPLETED, entry_id=entry_id)
    await transactions.transition(conn, transaction_id, TransactionStatus.REVERSED, reason=reason)
    await emit_many(
        conn,
        Topic.BALANCE_CHANGED,
        [
            {"user_id": sender, "currency": sent.currency.value},
            {"user_id": recipient, "currency": received.currency.value},
        ],
    )
    return Reversal(transaction_id, reversal_id)
