"""Create business transactions and move them through the state machine.

Every change of status goes through `transition`, which checks the table in
`models.TRANSITIONS` in the statement itself (the row is locked and updated only if it
is in a state that may reach the target, so a concurrent change loses cleanly) and
appends the transition to the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from wallet.db.engine import Connection
from wallet.ledger import holds
from wallet.ledger.invariants import Breach
from wallet.money import Money
from wallet.transactions.errors import IllegalTransition, TransactionNotFound
from wallet.transactions.models import TRANSITIONS, TransactionStatus, TransactionType


@dataclass(frozen=True, slots=True)
class NewTransaction:
    type: TransactionType
    amount: Money
    initiator_user_id: int | None
    counterparty_user_id: int | None = None
    note: str = ""
    payment_method_id: int | None = None
    recipient_contact: str | None = None
    reverses_id: int | None = None
    expires_at: datetime | None = None
    # Whether the gateway gets a reference for it (random, echoed in callbacks).
    via_gateway: bool = False
    merchant_id: int | None = None
    payment_request_id: int | None = None
    refund_of_id: int | None = None
    # The other currency of a cross-currency movement: what was bought or arrived.
    counter_amount: Money | None = None
    savings_goal_id: int | None = None
    # A reference the gateway already gave this movement (a take-back names the charge
    # it takes back); reconciliation matches the gateway's files by it.
    gateway_ref: str | None = None


def new_gateway_reference() -> str:
    """128 random bits: a callback names its transaction by this reference, so it must
    not be derivable from the transaction id (finding 4 of issue 14: `wallet-txn-<id>`
    let a forged callback name any transaction)."""
    return "wtx_" + secrets.token_urlsafe(16)


async def gateway_reference(conn: Connection, transaction_id: int) -> str:
    """The reference the gateway was (or will be) given for a transaction."""
    reference = await conn.fetchval(
        "SELECT gateway_ref FROM money_transaction WHERE id = $1", transaction_id
    )
    if reference is None:
        raise TransactionNotFound(transaction_id)
    return str(reference)


async def create(conn: Connection, new: NewTransaction) -> tuple[int, datetime]:
    """Record a new transaction in INITIATED, with its first transition; (id, created_at)."""
    row = await conn.fetchrow(
        """
        WITH next AS (SELECT history_next_id('money_transaction_id_seq') AS id), created AS (
            INSERT INTO money_transaction (id, type, status, initiator_user_id,
                                           counterparty_user_id, currency, amount, note,
                                           payment_method_id, recipient_contact, reverses_id,
                                           expires_at, gateway_ref, merchant_id,
                                           payment_request_id, refund_of_id,
                                           counter_currency, counter_amount)
            SELECT id, $1, 'initiated', $2, $3, $4, $5, $6, $7, $8, $9, $10,
                   $11, $12, $13, $14, $15, $16
            FROM next RETURNING id, created_at
        ), logged AS (
            INSERT INTO transaction_transition (transaction_id, from_status, to_status)
            SELECT id, NULL, 'initiated' FROM created
        )
        SELECT id, created_at FROM created
        """,
        new.type.value,
        new.initiator_user_id,
        new.counterparty_user_id,
        new.amount.currency.value,
        new.amount.amount_minor,
        new.note,
        new.payment_method_id,
        new.recipient_contact,
        new.reverses_id,
        new.expires_at,
        new.gateway_ref or (new_gateway_reference() if new.via_gateway else None),
        new.merchant_id,
        new.payment_request_id,
        new.refund_of_id,
        new.counter_amount.currency.value if new.counter_amount else None,
        new.counter_amount.amount_minor if new.counter_amount else None,
    )
    return int(row["id"]), row["created_at"]


async def record_completed(
    conn: Connection, new: NewTransaction, entry_id: int
) -> tuple[int, datetime]:
    """Record an instant movement whose entry is already posted: INITIATED -> COMPLETED,
    both transitions logged and announced, in one statement; (id, created_at)."""
    if TransactionStatus.COMPLETED not in TRANSITIONS[TransactionStatus.INITIATED]:
        raise IllegalTransition(0, TransactionStatus.INITIATED, TransactionStatus.COMPLETED)
    row = await conn.fetchrow(
        """
        WITH created AS (
            INSERT INTO money_transaction (type, status, initiator_user_id,
                                           counterparty_user_id, currency, amount, note,
                                           entry_id, merchant_id, payment_request_id,
                                           refund_of_id, counter_currency, counter_amount,
                                           savings_goal_id)
            VALUES ($1, 'completed', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            RETURNING id, created_at
        ), logged AS (
            INSERT INTO transaction_transition (transaction_id, from_status, to_status)
            SELECT id, s.from_status, s.to_status FROM created,
                   (VALUES (NULL, 'initiated', 1), ('initiated', 'completed', 2))
                       AS s (from_status, to_status, n)
            ORDER BY s.n
        ), announced AS (
            INSERT INTO outbox_event (topic, payload)
            SELECT 'transaction.updated', jsonb_build_object(
                'transaction_id', id, 'status', 'completed',
                'user_ids', to_jsonb(array_remove(ARRAY[$2::bigint, $3::bigint], NULL)),
                'merchant_id', $8::bigint)
            FROM created
        )
        SELECT id, created_at FROM created
        """,
        new.type.value,
        new.initiator_user_id,
        new.counterparty_user_id,
        new.amount.currency.value,
        new.amount.amount_minor,
        new.note,
        entry_id,
        new.merchant_id,
        new.payment_request_id,
        new.refund_of_id,
        new.counter_amount.currency.value if new.counter_amount else None,
        new.counter_amount.amount_minor if new.counter_amount else None,
        new.savings_goal_id,
    )
    return int(row["id"]), row["created_at"]


async def record_completed_many(
    conn: Connection, news: Sequence[NewTransaction], entry_ids: Sequence[int]
) -> list[tuple[int, datetime]]:
    """`record_completed` for many movements at once, each with its own posted entry
    (a batch of sends): one statement; (id, created_at) of each, in the given order."""
    if TransactionStatus.COMPLETED not in TRANSITIONS[TransactionStatus.INITIATED]:
        raise IllegalTransition(0, TransactionStatus.INITIATED, TransactionStatus.COMPLETED)
    rows = await conn.fetch(
        """
        WITH created AS (
            INSERT INTO money_transaction (type, status, initiator_user_id,
                                           counterparty_user_id, currency, amount, note,
                                           entry_id, merchant_id, payment_request_id,
                                           refund_of_id, counter_currency, counter_amount,
                                           savings_goal_id)
            SELECT t.type, 'completed', t.initiator, t.counterparty, t.currency, t.amount,
                   t.note, t.entry_id, t.merchant_id, t.payment_request_id, t.refund_of_id,
                   t.counter_currency, t.counter_amount, t.savings_goal_id
            FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::char(3)[], $5::bigint[],
                        $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
                        $11::char(3)[], $12::bigint[], $13::bigint[]) WITH ORDINALITY
                 AS t (type, initiator, counterparty, currency, amount, note, entry_id,
                       merchant_id, payment_request_id, refund_of_id, counter_currency,
                       counter_amount, savings_goal_id, n)
            ORDER BY t.n
            RETURNING id, entry_id, created_at, initiator_user_id, counterparty_user_id,
                      merchant_id
        ), logged AS (
            INSERT INTO transaction_transition (transaction_id, from_status, to_status)
            SELECT id, s.from_status, s.to_status FROM created,
                   (VALUES (NULL, 'initiated', 1), ('initiated', 'completed', 2))
                       AS s (from_status, to_status, n)
            ORDER BY created.id, s.n
        ), announced AS (
            INSERT INTO outbox_event (topic, payload)
            SELECT 'transaction.updated', jsonb_build_object(
                'transaction_id', id, 'status', 'completed',
                'user_ids', to_jsonb(array_remove(
                    ARRAY[initiator_user_id, counterparty_user_id], NULL)),
                'merchant_id', merchant_id)
            FROM created ORDER BY id
        )
        SELECT id, entry_id, created_at FROM created
        """,
        [n.type.value for n in news],
        [n.initiator_user_id for n in news],
        [n.counterparty_user_id for n in news],
        [n.amount.currency.value for n in news],
        [n.amount.amount_minor for n in news],
        [n.note for n in news],
        list(entry_ids),
        [n.merchant_id for n in news],
        [n.payment_request_id for n in news],
        [n.refund_of_id for n in news],
        [n.counter_amount.currency.value if n.counter_amount else None for n in news],
        [n.counter_amount.amount_minor if n.counter_amount else None for n in news],
        [n.savings_goal_id for n in news],
    )
    by_entry = {int(r["entry_id"]): (int(r["id"]), r["created_at"]) for r in rows}
    return [by_entry[e] for e in entry_ids]


def _sources(target: TransactionStatus) -> list[str]:
    """The states from which `target` may be reached."""
    return [s.value for s, targets in TRANSITIONS.items() if target in targets]


async def transition(
    conn: Connection,
    transaction_id: int,
    target: TransactionStatus,
    *,
    reason: str | None = None,
    entry_id: int | None = None,
    hold_id: int | None = None,
) -> None:
    """Move a transaction to `target`; raise `IllegalTransition` if the table forbids it.

    One statement locks the row only if it is in a state that may move to `target`,
    updates it, appends the transition and announces it to both parties through the
    outbox (`transaction.updated`); the error path reads the row to say why.
    """
    moved = await conn.fetchval(
        """
        WITH old AS (
            SELECT id, status FROM money_transaction
            WHERE id = $1 AND status = ANY($5::text[]) FOR UPDATE
        ), moved AS (
            UPDATE money_transaction t
            SET status = $2, updated_at = now(), entry_id = coalesce($3, t.entry_id),
                hold_id = coalesce($6, t.hold_id),
                failure_reason = CASE WHEN $2 = 'failed' THEN $4 ELSE t.failure_reason END
            FROM old WHERE t.id = old.id
            RETURNING old.status AS from_status, t.initiator_user_id, t.counterparty_user_id,
                      t.merchant_id
        ), logged AS (
            INSERT INTO transaction_transition (transaction_id, from_status, to_status, reason)
            SELECT $1, from_status, $2, $4 FROM moved
        ), announced AS (
            INSERT INTO outbox_event (topic, payload)
            SELECT 'transaction.updated', jsonb_build_object(
                'transaction_id', $1::bigint, 'status', $2::text,
                'user_ids', to_jsonb(array_remove(
                    ARRAY[initiator_user_id, counterparty_user_id], NULL)),
                'merchant_id', merchant_id)
            FROM moved
        )
        SELECT from_status FROM moved
        """,
        transaction_id,
        target.value,
        entry_id,
        reason,
        _sources(target),
        hold_id,
    )
    if moved is not None:
        return
    current = await conn.fetchval(
        "SELECT status FROM money_transaction WHERE id = $1", transaction_id
    )
    if current is None:
        raise TransactionNotFound(transaction_id)
    raise IllegalTransition(transaction_id, TransactionStatus(current), target)


async def hold_breaches(conn: Connection) -> list[Breach]:
    """Every transaction waiting on the gateway (or a review) has its full hold still
    pending; marketplace sales wait in escrow instead, unclaimed transfers in theirs."""
    waiting = await conn.fetch(
        "SELECT id, amount, hold_id FROM money_transaction "
        "WHERE status IN ('pending', 'processing') AND recipient_contact IS NULL "
        "AND type <> 'payment' ORDER BY id"
    )
    pending = await holds.pending_amounts(
        conn, [int(t["hold_id"]) for t in waiting if t["hold_id"] is not None]
    )
    return [
        Breach("open_transaction_has_hold", f"transaction {t['id']}: off by {t['amount']}")
        for t in waiting
        if t["hold_id"] is None or pending.get(int(t["hold_id"])) != int(t["amount"])
    ]
