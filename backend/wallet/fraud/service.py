"""Held and blocked payments, and the fraud review queue (docs/security.md, "Fraud rules").

A held send reserves the money from the sender's wallet towards the recipient's (a
ledger hold) and stays PENDING. Approving posts the hold (COMPLETED); rejecting voids it
(FAILED, the money is available to the sender again). A hold no one reviews expires
after `WALLET_FRAUD_HOLD_DAYS` and the money comes back the same way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wallet.config import get_settings
from wallet.db.engine import Connection, connection, transaction
from wallet.errors import Blocked
from wallet.fraud.engine import Assessment, Attempt, Decision, RiskContext, assess, forget_rules
from wallet.ledger import holds
from wallet.limits import service as limits
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit, emit_many
from wallet.rates import RateSnapshot
from wallet.security.stepup import StepUpRequired, step_up_methods
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType


class PaymentBlocked(Blocked):
    """Raised inside the payment's transaction; `record_block` once it rolled back."""

    def __init__(self, attempt: Attempt, assessment: Assessment) -> None:
        super().__init__(
            "This payment cannot be made. If you think that is wrong, contact support."
        )
        self.attempt = attempt
        self.assessment = assessment


@dataclass(frozen=True, slots=True)
class Screening:
    """What scoring a payment needs from its request: where it came from, rates to
    value it with, and whether a second factor was proven for it (the PIN in the
    request, or the session stepped up lately)."""

    context: RiskContext | None = None
    rates: RateSnapshot | None = None
    proven: bool = False


async def screen(conn: Connection, attempt: Attempt, screening: Screening) -> Assessment:
    """Score a payment that cannot wait for a review (a cross-currency send on a quote,
    paying a money request, a settle-up, paying a merchant): at the block score it is
    refused; at the hold score it needs a second factor proven for it (risk-based
    authentication) instead of being held. Raised inside the payment's transaction."""
    assessment = await assess(conn, attempt, screening.rates or await limits.rates())
    if assessment.decision is Decision.BLOCK:
        raise PaymentBlocked(attempt, assessment)
    if assessment.decision is Decision.HOLD and not screening.proven:
        raise StepUpRequired(await step_up_methods(attempt.user_id), "confirm this payment")
    return assessment


@asynccontextmanager
async def recording_blocks() -> AsyncIterator[None]:
    """Around a payment's transaction: a refused attempt is remembered for operators
    once the transaction has rolled back."""
    try:
        yield
    except PaymentBlocked as blocked:
        await record_block(blocked)
        raise


class FraudReviewNotFound(Exception):
    def __init__(self) -> None:
        super().__init__("No such payment waiting for review")


def hold_days() -> int:
    return get_settings().fraud.hold_days


async def hold_send(
    conn: Connection,
    attempt: Attempt,
    assessment: Assessment,
    *,
    source: int,
    target: int,
    note: str,
) -> tuple[int, datetime]:
    """Record the send as PENDING with the money reserved, and open a review."""
    transaction_id, created_at = await transactions.create(
        conn,
        transactions.NewTransaction(
            type=TransactionType.SEND,
            amount=attempt.amount,
            initiator_user_id=attempt.user_id,
            counterparty_user_id=attempt.recipient_id,
            note=note,
        ),
    )
    hold_id = await holds.reserve(
        conn,
        debit_account_id=source,
        credit_account_id=target,
        amount=attempt.amount,
        expires_at=attempt.now + timedelta(days=hold_days()),
    )
    await transactions.transition(
        conn, transaction_id, TransactionStatus.PENDING, hold_id=hold_id, reason="held for review"
    )
    await conn.execute(
        "INSERT INTO fraud_review (user_id, transaction_id, decision, score, hits, amount, "
        "currency, status) VALUES ($1, $2, 'hold', $3, $4::jsonb, $5, $6, 'open')",
        attempt.user_id,
        transaction_id,
        assessment.score,
        assessment.hits_json(),
        attempt.amount.amount_minor,
        attempt.amount.currency.value,
    )
    await emit(
        conn,
        Topic.BALANCE_CHANGED,
        {"user_id": attempt.user_id, "currency": attempt.amount.currency.value},
    )
    await emit(
        conn,
        Topic.NOTICE,
        {
            "user_id": attempt.user_id,
            "kind": "payment_held",
            "title": "We are checking a payment",
            "body": f"Your payment of {attempt.amount.display()} "
            "is on hold while we make sure it is really you. The money is set aside; "
            "it goes through or comes back to you.",
            "dedupe_key": f"held:{transaction_id}",
            "transaction_id": transaction_id,
        },
    )
    return transaction_id, created_at


async def record_block(blocked: PaymentBlocked) -> None:
    """Remember a refused attempt for operators. Call it outside the payment's
    transaction, which rolled back (inside, this would roll back with it)."""
    attempt, assessment = blocked.attempt, blocked.assessment
    async with transaction() as conn:
        await conn.execute(
            "INSERT INTO fraud_review (user_id, decision, score, hits, amount, currency, "
            "status, decided_at) VALUES ($1, 'block', $2, $3::jsonb, $4, $5, 'blocked', now())",
            attempt.user_id,
            assessment.score,
            assessment.hits_json(),
            attempt.amount.amount_minor,
            attempt.amount.currency.value,
        )


@dataclass(frozen=True, slots=True)
class FraudCase:
    id: int
    user_id: int
    username: str
    recipient_username: str | None
    transaction_id: int | None
    decision: str
    status: str
    score: int
    hits: list[dict[str, Any]]
    amount: Money
    note: str | None
    created_at: datetime


_CASE = (
    "SELECT f.*, u.username, r.username AS recipient_username FROM fraud_review f "
    "JOIN app_user u ON u.id = f.user_id "
    "LEFT JOIN money_transaction t ON t.id = f.transaction_id "
    "LEFT JOIN app_user r ON r.id = t.counterparty_user_id "
)


def _case(row: Any) -> FraudCase:
    return FraudCase(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        username=row["username"],
        recipient_username=row["recipient_username"],
        transaction_id=row["transaction_id"],
        decision=row["decision"],
        status=row["status"],
        score=int(row["score"]),
        hits=json.loads(row["hits"]),
        amount=Money(int(row["amount"]), Currency(row["currency"])),
        note=row["note"],
        created_at=row["created_at"],
    )


async def review_queue(first: int = 50) -> list[FraudCase]:
    """Held payments waiting for a decision, oldest first."""
    async with connection() as conn:
        rows = await conn.fetch(
            _CASE + "WHERE f.status = 'open' ORDER BY f.created_at, f.id LIMIT $1", first
        )
    return [_case(r) for r in rows]


async def open_reviews_of(user_ids: list[int]) -> dict[int, list[FraudCase]]:
    """Each person's payments held and waiting for a review, oldest first (for a KYC
    decision, which should see them)."""
    async with connection() as conn:
        rows = await conn.fetch(
            _CASE + "WHERE f.user_id = ANY($1::bigint[]) AND f.status = 'open' "
            "ORDER BY f.created_at, f.id",
            user_ids,
        )
    found: dict[int, list[FraudCase]] = {}
    for row in rows:
        found.setdefault(int(row["user_id"]), []).append(_case(row))
    return found


async def cases_of(user_id: int, first: int = 20) -> list[FraudCase]:
    """A user's recent fraud decisions (holds and blocks), newest first."""
    async with connection() as conn:
        rows = await conn.fetch(
            _CASE + "WHERE f.user_id = $1 ORDER BY f.id DESC LIMIT $2", user_id, first
        )
    return [_case(r) for r in rows]


async def decide(review_id: int, operator_id: int, *, approve: bool, note: str) -> FraudCase:
    """Release a held payment to its recipient, or void it back to the sender."""
    async with transaction() as conn:
        review = await conn.fetchrow(
            "SELECT * FROM fraud_review WHERE id = $1 AND status = 'open' FOR UPDATE", review_id
        )
        if review is None:
            raise FraudReviewNotFound()
        held = await conn.fetchrow(
            "SELECT id, status, hold_id, initiator_user_id, counterparty_user_id, currency "
            "FROM money_transaction WHERE id = $1 FOR UPDATE",
            review["transaction_id"],
        )
        if held["status"] != TransactionStatus.PENDING.value:
            # The hold expired first: the money is already back with the sender.
            await conn.execute(
                "UPDATE fraud_review SET status = 'expired', decided_at = now() WHERE id = $1",
                review_id,
            )
            raise FraudReviewNotFound()
        if approve:
            entry_id = await holds.post(
                conn, int(held["hold_id"]), kind="p2p", description=f"transaction {held['id']}"
            )
            await transactions.transition(
                conn,
                int(held["id"]),
                TransactionStatus.COMPLETED,
                entry_id=entry_id,
                reason="approved after review",
            )
        else:
            await holds.void(conn, int(held["hold_id"]))
            await transactions.transition(
                conn,
                int(held["id"]),
                TransactionStatus.FAILED,
                reason="refused after review",
            )
        await conn.execute(
            "UPDATE fraud_review SET status = $2, decided_by = $3, note = $4, decided_at = now() "
            "WHERE id = $1",
            review_id,
            "approved" if approve else "rejected",
            operator_id,
            note.strip() or None,
        )
        await emit_many(
            conn,
            Topic.BALANCE_CHANGED,
            [
                {"user_id": int(held[column]), "currency": held["currency"]}
                for column in ("initiator_user_id", "counterparty_user_id")
            ],
        )
        row = await conn.fetchrow(_CASE + "WHERE f.id = $1", review_id)
    return _case(row)


@dataclass(frozen=True, slots=True)
class RuleView:
    code: str
    kind: str
    params: dict[str, Any]
    score: int
    enabled: bool
    description: str


class InvalidRuleChange(Exception):
    pass


async def rules() -> list[RuleView]:
    async with connection() as conn:
        rows = await conn.fetch("SELECT * FROM fraud_rule ORDER BY code")
    return [
        RuleView(
            r["code"], r["kind"], json.loads(r["params"]), int(r["score"]), r["enabled"],
            r["description"],
        )
        for r in rows
    ]  # fmt: skip


async def update_rule(
    code: str,
    *,
    enabled: bool | None = None,
    score: int | None = None,
    params: dict[str, Any] | None = None,
) -> RuleView:
    """Turn a rule on or off, or change its score or parameters (numbers only)."""
    if score is not None and not 0 <= score <= 1000:
        raise InvalidRuleChange("A score is between 0 and 1000")
    if params is not None and not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in params.values()
    ):
        raise InvalidRuleChange("Rule parameters are numbers, zero or more")
    async with transaction() as conn:
        row = await conn.fetchrow(
            "UPDATE fraud_rule SET enabled = coalesce($2, enabled), score = coalesce($3, score), "
            "params = params || coalesce($4::jsonb, '{}'::jsonb) WHERE code = $1 RETURNING code",
            code,
            enabled,
            score,
            None if params is None else json.dumps(params),
        )
    if row is None:
        raise InvalidRuleChange(f"No rule {code!r}")
    forget_rules()
    return next(r for r in await rules() if r.code == code)


BLOCKLIST_KINDS = ("user", "email", "phone", "device", "ip")


async def add_to_blocklist(kind: str, value: str, reason: str) -> None:
    if kind not in BLOCKLIST_KINDS:
        raise InvalidRuleChange(f"Blocklist entries are one of: {', '.join(BLOCKLIST_KINDS)}")
    if not value.strip() or not reason.strip():
        raise InvalidRuleChange("Give the value and the reason")
    normalised = value.strip().lower() if kind == "email" else value.strip()
    async with transaction() as conn:
        await conn.execute(
            "INSERT INTO fraud_blocklist (kind, value, reason) VALUES ($1, $2, $3) "
            "ON CONFLICT (kind, value) DO UPDATE SET reason = EXCLUDED.reason",
            kind,
            normalised,
            reason.strip(),
        )
