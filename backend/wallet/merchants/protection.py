"""Buyer protection: marketplace escrow and disputes.

Escrow: a marketplace sale is PENDING with its money in the buyer-protection escrow
account. The buyer confirming delivery, or the end of the window (worker), releases
it to the merchant's payable and completes the sale.

Disputes: within the window (a sale still in escrow, or a completed sale younger than
the window) the buyer opens a dispute with a reason; the money moves to the dispute
hold (from escrow, or from the merchant's payable). The merchant answers with text
and files; a mediator decides how much goes back to the buyer (0 to all), the rest goes
to the merchant. Every step is written to `dispute_event`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wallet.db.engine import Connection, connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.invariants import Breach, system_account_breaches
from wallet.ledger.models import EntryDraft, OwnerType, PostingDraft, Purpose, Side
from wallet.merchants.errors import (
    DisputeClosed,
    DisputeNotFound,
    NotAllowed,
    NotDisputable,
)
from wallet.merchants.service import PAYABLE, Principal, Scope
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit_many
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType

MAX_EVIDENCE_BYTES = 2_000_000
MEDIATORS = frozenset({"mediator", "admin"})


@dataclass(frozen=True, slots=True)
class Dispute:
    id: int
    payment_id: int
    merchant_id: int
    buyer_id: int
    amount: Money
    reason: str
    status: str
    merchant_response: str | None
    refund_amount: Money | None
    evidence: list[str]
    created_at: datetime
    trail: list[tuple[str, str, datetime]]  # (action, detail, when), oldest first


async def _log(
    conn: Connection, dispute_id: int, actor: int | None, action: str, detail: str
) -> None:
    await conn.execute(
        "INSERT INTO dispute_event (dispute_id, actor_id, action, detail) VALUES ($1, $2, $3, $4)",
        dispute_id,
        actor,
        action,
        detail,
    )


async def _escrow_to_payable(conn: Connection, sale: Any) -> None:
    amount = Money(int(sale["amount"]), Currency(sale["currency"]))
    escrow = await ledger.system_account_id(conn, amount.currency, Purpose.BUYER_PROTECTION_ESCROW)
    payable = await ledger.find_account(
        conn, OwnerType.MERCHANT, int(sale["merchant_id"]), amount.currency, PAYABLE
    )
    assert payable is not None
    entry_id = await ledger.post_entry(
        conn, EntryDraft.transfer("escrow_release", escrow, payable, amount)
    )
    await conn.execute(
        "UPDATE money_transaction SET escrow_release_at = NULL WHERE id = $1", sale["id"]
    )
    await transactions.transition(
        conn, int(sale["id"]), TransactionStatus.COMPLETED, entry_id=entry_id
    )


_LOCK_SALE = (
    "SELECT id, type, status, initiator_user_id, merchant_id, currency, amount, "
    "escrow_release_at, created_at, refunded_amount FROM money_transaction "
    "WHERE id = $1 FOR UPDATE"
)


async def confirm_delivery(buyer_id: int, payment_id: int) -> None:
    """The buyer got what they paid for: release the escrowed money to the merchant now."""
    async with transaction() as conn:
        sale = await conn.fetchrow(_LOCK_SALE, payment_id)
        if sale is None or sale["initiator_user_id"] != buyer_id or sale["type"] != "payment":
            raise NotDisputable("no such payment of yours")
        if sale["status"] != "pending" or sale["escrow_release_at"] is None:
            raise NotDisputable("it is not waiting in escrow")
        await _escrow_to_payable(conn, sale)


async def release_due(now: datetime) -> list[int]:
    """Worker job: sales whose protection window ended go to their merchants."""
    async with transaction() as conn:
        rows = await conn.fetch(
            "SELECT id FROM money_transaction WHERE status = 'pending' AND type = 'payment' "
            "AND escrow_release_at <= $1 ORDER BY id FOR UPDATE SKIP LOCKED",
            now,
        )
        for row in rows:
            await _escrow_to_payable(conn, await conn.fetchrow(_LOCK_SALE, row["id"]))
    return [int(r["id"]) for r in rows]


async def open_dispute(buyer_id: int, payment_id: int, reason: str, window: timedelta) -> int:
    if not 5 <= len(reason.strip()) <= 1000:
        raise NotDisputable("say what went wrong (5 to 1000 characters)")
    async with transaction() as conn:
        sale = await conn.fetchrow(_LOCK_SALE, payment_id)
        if sale is None or sale["initiator_user_id"] != buyer_id or sale["type"] != "payment":
            raise NotDisputable("no such payment of yours")
        if await conn.fetchval("SELECT 1 FROM dispute WHERE payment_id = $1", payment_id):
            raise NotDisputable("it is already disputed")
        amount = Money(
            int(sale["amount"]) - int(sale["refunded_amount"]), Currency(sale["currency"])
        )
        hold = await ledger.system_account_id(conn, amount.currency, Purpose.DISPUTE_HOLD)
        if sale["status"] == "pending" and sale["escrow_release_at"] is not None:
            source = await ledger.system_account_id(
                conn, amount.currency, Purpose.BUYER_PROTECTION_ESCROW
            )
            await conn.execute(
                "UPDATE money_transaction SET escrow_release_at = NULL WHERE id = $1", payment_id
            )
        elif sale["status"] == "completed" and sale["created_at"] + window > datetime.now(UTC):
            found = await ledger.find_account(
                conn, OwnerType.MERCHANT, int(sale["merchant_id"]), amount.currency, PAYABLE
            )
            assert found is not None
            source = found
        else:
            raise NotDisputable("the protection window has ended")
        if not amount.is_positive:
            raise NotDisputable("it was refunded already")
        await ledger.post_entry(conn, EntryDraft.transfer("dispute_hold", source, hold, amount))
        dispute_id = await conn.fetchval(
            "INSERT INTO dispute (payment_id, merchant_id, buyer_id, currency, amount, reason) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            payment_id,
            sale["merchant_id"],
            buyer_id,
            amount.currency.value,
            amount.amount_minor,
            reason.strip(),
        )
        await _log(conn, int(dispute_id), buyer_id, "opened", reason.strip())
    return int(dispute_id)


async def respond(
    principal: Principal, dispute_id: int, response: str, files: list[tuple[str, bytes]]
) -> None:
    """The merchant's side: a statement and evidence files. Owners answer, and API keys
    that may refund (a dispute is a claim on a refund); cashiers and read-only keys not."""
    if not principal.may(Scope.REFUNDS_WRITE):
        raise NotAllowed("answer disputes")
    if any(len(content) > MAX_EVIDENCE_BYTES for _, content in files):
        raise NotDisputable("an evidence file is over 2 MB")
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT status FROM dispute WHERE id = $1 AND merchant_id = $2 FOR UPDATE",
            dispute_id,
            principal.merchant_id,
        )
        if row is None:
            raise DisputeNotFound()
        if row["status"] not in ("open", "responded"):
            raise DisputeClosed(row["status"])
        await conn.execute(
            "UPDATE dispute SET status = 'responded', merchant_response = $2 WHERE id = $1",
            dispute_id,
            response,
        )
        for name, content in files:
            await conn.execute(
                "INSERT INTO dispute_evidence (dispute_id, filename, content, sha256) "
                "VALUES ($1, $2, $3, $4)",
                dispute_id,
                name[:200],
                content,
                hashlib.sha256(content).hexdigest(),
            )
        names = ", ".join(n for n, _ in files) or "no files"
        await _log(conn, dispute_id, principal.user_id, "responded", f"{response} [{names}]")


async def dispute_to_decide(operator_role: str | None, dispute_id: int) -> Dispute:
    """The dispute a mediator is about to decide. Anyone else is refused before the
    lookup, so they cannot tell which dispute ids exist."""
    if operator_role not in MEDIATORS:
        raise NotAllowed("decide disputes")
    found = await get_dispute(dispute_id)
    if found is None:
        raise DisputeNotFound()
    return found


async def decide(
    operator_id: int, operator_role: str | None, dispute_id: int, refund: Money
) -> None:
    """A mediator's decision: `refund` back to the buyer, the rest to the merchant."""
    if operator_role not in MEDIATORS:
        raise NotAllowed("decide disputes")
    async with transaction() as conn:
        d = await conn.fetchrow("SELECT * FROM dispute WHERE id = $1 FOR UPDATE", dispute_id)
        if d is None:
            raise DisputeNotFound()
        if d["status"] not in ("open", "responded"):
            raise DisputeClosed(d["status"])
        currency = Currency(d["currency"])
        total = int(d["amount"])
        if refund.currency is not currency or not 0 <= refund.amount_minor <= total:
            raise NotDisputable(f"The refund must be 0 to {Money(total, currency).display()}")
        hold = await ledger.system_account_id(conn, currency, Purpose.DISPUTE_HOLD)
        buyer_wallet = await ledger.find_account(
            conn, OwnerType.USER, int(d["buyer_id"]), currency, "wallet"
        )
        payable = await ledger.find_account(
            conn, OwnerType.MERCHANT, int(d["merchant_id"]), currency, PAYABLE
        )
        assert buyer_wallet is not None and payable is not None
        to_merchant = total - refund.amount_minor
        postings = [PostingDraft(hold, Side.DEBIT, Money(total, currency))]
        if refund.amount_minor:
            postings.append(PostingDraft(buyer_wallet, Side.CREDIT, refund))
        if to_merchant:
            postings.append(PostingDraft(payable, Side.CREDIT, Money(to_merchant, currency)))
        entry_id = await ledger.post_entry(
            conn, EntryDraft("dispute_decision", tuple(postings), f"dispute {dispute_id}")
        )
        sale = await conn.fetchrow(_LOCK_SALE, d["payment_id"])
        if sale["status"] == "pending":  # decided while still in escrow
            await transactions.transition(conn, int(sale["id"]), TransactionStatus.COMPLETED)
        if refund.amount_minor:
            await transactions.record_completed(
                conn,
                transactions.NewTransaction(
                    type=TransactionType.REFUND,
                    amount=refund,
                    initiator_user_id=None,
                    counterparty_user_id=int(d["buyer_id"]),
                    merchant_id=int(d["merchant_id"]),
                    refund_of_id=int(d["payment_id"]),
                    note=f"dispute {dispute_id}",
                ),
                entry_id,
            )
            refunded = await conn.fetchval(
                "UPDATE money_transaction SET refunded_amount = refunded_amount + $2 "
                "WHERE id = $1 RETURNING refunded_amount",
                d["payment_id"],
                refund.amount_minor,
            )
            if refunded == sale["amount"]:
                await transactions.transition(
                    conn, int(sale["id"]), TransactionStatus.REVERSED, reason="dispute refund"
                )
        status = "refunded" if refund.amount_minor else "released"
        await conn.execute(
            "UPDATE dispute SET status = $2, refund_amount = $3, decided_by = $4, "
            "decided_at = now() WHERE id = $1",
            dispute_id,
            status,
            refund.amount_minor,
            operator_id,
        )
        await _log(conn, dispute_id, operator_id, status, refund.format())
        await emit_many(
            conn,
            Topic.BALANCE_CHANGED,
            [{"user_id": int(d["buyer_id"]), "currency": currency.value}],
        )


async def get_disputes(dispute_ids: list[int]) -> list[Dispute]:
    """The disputes with their evidence and trail, in three queries (not three per dispute)."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT * FROM dispute WHERE id = ANY($1::bigint[]) ORDER BY id DESC", dispute_ids
        )
        files = await conn.fetch(
            "SELECT dispute_id, filename FROM dispute_evidence "
            "WHERE dispute_id = ANY($1::bigint[]) ORDER BY id",
            dispute_ids,
        )
        events = await conn.fetch(
            "SELECT dispute_id, action, detail, created_at FROM dispute_event "
            "WHERE dispute_id = ANY($1::bigint[]) ORDER BY id",
            dispute_ids,
        )
    evidence: dict[int, list[str]] = defaultdict(list)
    for f in files:
        evidence[int(f["dispute_id"])].append(f["filename"])
    steps: dict[int, list[tuple[str, str, datetime]]] = defaultdict(list)
    for e in events:
        steps[int(e["dispute_id"])].append((e["action"], e["detail"], e["created_at"]))
    found = []
    for d in rows:
        currency = Currency(d["currency"])
        found.append(
            Dispute(
                id=int(d["id"]),
                payment_id=int(d["payment_id"]),
                merchant_id=int(d["merchant_id"]),
                buyer_id=int(d["buyer_id"]),
                amount=Money(int(d["amount"]), currency),
                reason=d["reason"],
                status=d["status"],
                merchant_response=d["merchant_response"],
                refund_amount=None
                if d["refund_amount"] is None
                else Money(d["refund_amount"], currency),
                evidence=evidence[int(d["id"])],
                created_at=d["created_at"],
                trail=steps[int(d["id"])],
            )
        )
    return found


async def get_dispute(dispute_id: int) -> Dispute | None:
    found = await get_disputes([dispute_id])
    return found[0] if found else None


async def disputes(*, merchant_id: int | None = None, undecided: bool = False) -> list[Dispute]:
    """A merchant's disputes, or every undecided one (the mediators' queue)."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id FROM dispute WHERE ($1::bigint IS NULL OR merchant_id = $1) "
            "AND (NOT $2 OR status IN ('open', 'responded')) ORDER BY id DESC LIMIT 100",
            merchant_id,
            undecided,
        )
    return await get_disputes([int(r["id"]) for r in rows])


async def escrow_breaches(conn: Connection) -> list[Breach]:
    """Buyer-protection escrow holds exactly the marketplace sales still waiting in it."""
    waiting = {
        Currency(r["currency"]): int(r["amount"])
        for r in await conn.fetch(
            "SELECT currency, sum(amount) AS amount FROM money_transaction "
            "WHERE type = 'payment' AND status = 'pending' AND escrow_release_at IS NOT NULL "
            "GROUP BY currency"
        )
    }
    return await system_account_breaches(
        conn, "escrow_matches_payments", Purpose.BUYER_PROTECTION_ESCROW, waiting
    )


async def dispute_hold_breaches(conn: Connection) -> list[Breach]:
    """The dispute hold holds exactly the disputes not decided yet."""
    undecided = {
        Currency(r["currency"]): int(r["amount"])
        for r in await conn.fetch(
            "SELECT currency, sum(amount) AS amount FROM dispute "
            "WHERE status IN ('open', 'responded') GROUP BY currency"
        )
    }
    return await system_account_breaches(
        conn, "dispute_hold_matches_disputes", Purpose.DISPUTE_HOLD, undecided
    )
