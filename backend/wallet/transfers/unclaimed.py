"""Money sent to a phone or email that has no wallet yet.

The money leaves the sender at once into the unclaimed-transfers escrow account (a
liability of the platform) and the transaction waits in PENDING while an invite goes
to the contact. When someone verifies that phone or email on their account, every
pending transfer to it is claimed: escrow -> their wallet, COMPLETED. Unclaimed after
the configured number of days, it EXPIRES and the escrow pays the sender back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wallet.db.engine import Connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.invariants import Breach, system_account_breaches
from wallet.ledger.models import EntryDraft, Purpose
from wallet.limits.service import LimitScope
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit, emit_many
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.wallets.service import open_balance, spendable_account


async def send_to_unregistered(
    conn: Connection,
    *,
    sender_id: int,
    contact_kind: str,
    contact: str,
    amount: Money,
    note: str,
    claim_days: int,
) -> tuple[int, datetime]:
    """Escrow `amount` for `contact` in the caller's transaction; (transaction id, created)."""
    source, _ = await spendable_account(conn, sender_id, amount, scope=LimitScope.SEND)
    escrow = await ledger.system_account_id(conn, amount.currency, Purpose.UNCLAIMED_TRANSFERS)
    transaction_id, created_at = await transactions.create(
        conn,
        transactions.NewTransaction(
            type=TransactionType.SEND,
            amount=amount,
            initiator_user_id=sender_id,
            note=note,
            recipient_contact=contact,
            expires_at=datetime.now(UTC) + timedelta(days=claim_days),
        ),
    )
    entry_id = await ledger.post_entry(
        conn,
        EntryDraft.transfer(
            "unclaimed_escrow", source, escrow, amount, f"transaction {transaction_id}"
        ),
    )
    await transactions.transition(
        conn, transaction_id, TransactionStatus.PENDING, entry_id=entry_id
    )
    sender_name = await conn.fetchval("SELECT username FROM app_user WHERE id = $1", sender_id)
    await emit(
        conn,
        Topic.BALANCE_CHANGED,
        {"user_id": sender_id, "currency": amount.currency.value, "entry_id": entry_id},
    )
    await emit(
        conn,
        Topic.CONTACT_INVITED,
        {
            "transaction_id": transaction_id,
            "kind": contact_kind,
            "contact": contact,
            "sender": sender_name,
            "amount": amount.format(),
            "currency": amount.currency.value,
            "days": claim_days,
        },
    )
    return transaction_id, created_at


_PENDING_TO = (
    "SELECT id, initiator_user_id, currency, amount FROM money_transaction "
    "WHERE type = 'send' AND status = 'pending' AND recipient_contact IS NOT NULL AND {where} "
    "ORDER BY id FOR UPDATE"
)


async def claim_for(conn: Connection, user_id: int, contact: str) -> list[int]:
    """Credit every pending transfer sent to `contact` to `user_id`'s wallet (verified)."""
    rows = await conn.fetch(_PENDING_TO.format(where="recipient_contact = $1"), contact)
    claimed = []
    for row in rows:
        amount = Money(int(row["amount"]), Currency(row["currency"]))
        escrow = await ledger.system_account_id(conn, amount.currency, Purpose.UNCLAIMED_TRANSFERS)
        wallet = await open_balance(conn, user_id, amount.currency)
        entry_id = await ledger.post_entry(
            conn,
            EntryDraft.transfer(
                "unclaimed_claim", escrow, wallet, amount, f"transaction {row['id']}"
            ),
        )
        await conn.execute(
            "UPDATE money_transaction SET counterparty_user_id = $2 WHERE id = $1",
            row["id"],
            user_id,
        )
        await transactions.transition(
            conn, int(row["id"]), TransactionStatus.COMPLETED, entry_id=entry_id
        )
        await emit(conn, Topic.BALANCE_CHANGED, {"user_id": user_id, "currency": row["currency"]})
        claimed.append(int(row["id"]))
    return claimed


async def expire_unclaimed(now: datetime) -> list[int]:
    """Worker job: return unclaimed transfers past their expiry to their senders."""
    async with transaction() as conn:
        rows = await conn.fetch(
            _PENDING_TO.format(where="expires_at <= $1").replace(
                "FOR UPDATE", "FOR UPDATE SKIP LOCKED"
            ),
            now,
        )
        for row in rows:
            amount = Money(int(row["amount"]), Currency(row["currency"]))
            escrow = await ledger.system_account_id(
                conn, amount.currency, Purpose.UNCLAIMED_TRANSFERS
            )
            sender_wallet = await open_balance(conn, int(row["initiator_user_id"]), amount.currency)
            entry_id = await ledger.post_entry(
                conn,
                EntryDraft.transfer(
                    "unclaimed_return", escrow, sender_wallet, amount, f"transaction {row['id']}"
                ),
            )
            await transactions.transition(
                conn,
                int(row["id"]),
                TransactionStatus.EXPIRED,
                entry_id=entry_id,
                reason="not claimed in time",
            )
        await emit_many(
            conn,
            Topic.BALANCE_CHANGED,
            [{"user_id": int(r["initiator_user_id"]), "currency": r["currency"]} for r in rows],
        )
    return [int(r["id"]) for r in rows]


async def escrow_breaches(conn: Connection) -> list[Breach]:
    """The unclaimed-transfers escrow holds exactly the transfers still waiting."""
    waiting = {
        Currency(r["currency"]): int(r["amount"])
        for r in await conn.fetch(
            "SELECT currency, sum(amount) AS amount FROM money_transaction "
            "WHERE status = 'pending' AND recipient_contact IS NOT NULL GROUP BY currency"
        )
    }
    return await system_account_breaches(
        conn, "unclaimed_escrow_matches_transfers", Purpose.UNCLAIMED_TRANSFERS, waiting
    )
