"""Bill payments: save a biller with your account reference, pay now, or schedule.

A scheduled payment runs on its day (worker), with a reminder the day before. If the
wallet is short, the run fails clearly: the user is told, a one-off schedule ends
`failed`, a recurring one tries again at its next date. Each run uses the idempotency
key `bill-<schedule>-<run date>`, so a worker that runs twice pays once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wallet.db.engine import connection, transaction
from wallet.fraud.service import Screening, recording_blocks
from wallet.idempotency import service as idempotency
from wallet.ledger.errors import InsufficientFunds
from wallet.limits.service import LimitExceeded
from wallet.merchants.checkout import charge
from wallet.merchants.errors import InvalidMerchantDetails, MerchantNotFound
from wallet.money import Currency, Money
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.security.stepup import LargeAmountCheck
from wallet.transfers.errors import NonPositiveAmount, WalletUnavailable

RECURRENCES = {"once": None, "weekly": timedelta(days=7), "monthly": timedelta(days=30)}


@dataclass(frozen=True, slots=True)
class Biller:
    merchant_id: int
    name: str
    reference_pattern: str


@dataclass(frozen=True, slots=True)
class SavedBiller:
    id: int
    merchant_id: int
    biller_name: str
    account_reference: str
    nickname: str


@dataclass(frozen=True, slots=True)
class Schedule:
    id: int
    saved_biller_id: int
    biller_name: str
    amount: Money
    recurrence: str
    next_run_at: datetime
    status: str
    last_error: str | None


async def billers() -> list[Biller]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, name, biller_reference_pattern FROM merchant "
            "WHERE biller_reference_pattern IS NOT NULL AND status = 'active' "
            "AND approval_status <> 'rejected' ORDER BY name"
        )
    return [Biller(int(r["id"]), r["name"], r["biller_reference_pattern"]) for r in rows]


async def save_biller(user_id: int, merchant_id: int, reference: str, nickname: str) -> SavedBiller:
    async with transaction() as conn:
        pattern = await conn.fetchval(
            "SELECT biller_reference_pattern FROM merchant WHERE id = $1 AND status = 'active' "
            "AND approval_status <> 'rejected'",
            merchant_id,
        )
        if pattern is None:
            raise MerchantNotFound()
        if not re.fullmatch(pattern, reference.strip()):
            raise InvalidMerchantDetails(
                "accountReference", "That is not an account number this biller uses"
            )
        row = await conn.fetchrow(
            "INSERT INTO saved_biller (user_id, merchant_id, account_reference, nickname) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, merchant_id, account_reference) "
            "DO UPDATE SET nickname = EXCLUDED.nickname RETURNING id",
            user_id,
            merchant_id,
            reference.strip(),
            nickname.strip()[:60],
        )
    found = await _saved(user_id, int(row["id"]))
    assert found is not None
    return found


_SAVED = (
    "SELECT s.id, s.merchant_id, m.name, s.account_reference, s.nickname "
    "FROM saved_biller s JOIN merchant m ON m.id = s.merchant_id "
    "WHERE s.user_id = $1 AND ($2::bigint IS NULL OR s.id = $2) ORDER BY s.id"
)


def _saved_biller(row: Any) -> SavedBiller:
    return SavedBiller(
        int(row["id"]),
        int(row["merchant_id"]),
        row["name"],
        row["account_reference"],
        row["nickname"],
    )


async def _saved(user_id: int, saved_id: int) -> SavedBiller | None:
    async with connection() as conn:
        row = await conn.fetchrow(_SAVED, user_id, saved_id)
    return _saved_biller(row) if row else None


async def saved_billers(user_id: int) -> list[SavedBiller]:
    async with connection() as conn:
        rows = await conn.fetch(_SAVED, user_id, None)
    return [_saved_biller(r) for r in rows]


async def pay_bill(
    user_id: int,
    saved_id: int,
    amount: Money,
    key: str,
    large_amount: LargeAmountCheck | None = None,
    screening: Screening | None = None,
) -> int:
    """Pay a saved biller now; the sale's transaction id (exactly once per key). Above
    the step-up threshold it needs a second factor proven lately; with `screening` the
    fraud rules score it first."""
    if not amount.is_positive:
        raise NonPositiveAmount()
    idempotency.validate_key(key)
    biller = await _saved(user_id, saved_id)
    if biller is None:
        raise MerchantNotFound()
    principal = f"user:{user_id}"
    fingerprint = idempotency.fingerprint(
        {
            "op": "payBill",
            "biller": saved_id,
            "amount": amount.amount_minor,
            "currency": amount.currency.value,
        }
    )
    async with recording_blocks(), transaction() as conn:
        replay = await idempotency.claim(conn, principal, key, fingerprint)
        if replay is not None:
            return int(replay["transaction_id"])
        transaction_id = await charge(
            conn,
            payer_id=user_id,
            merchant_id=biller.merchant_id,
            amount=amount,
            note=f"Bill {biller.account_reference}",
            webhook_data={"account_reference": biller.account_reference},
            screening=screening,
        )
        if large_amount is not None:
            await large_amount.require(user_id, amount, "pay this bill")
        await idempotency.remember(
            conn, principal, key, fingerprint, {"transaction_id": transaction_id}
        )
    return transaction_id


async def schedule(
    user_id: int,
    saved_id: int,
    amount: Money,
    first_run: datetime,
    recurrence: str,
    large_amount: LargeAmountCheck | None = None,
) -> Schedule:
    """Pay a saved biller later (the worker pays it then, with no one signed in: a large
    amount needs the second factor now, when it is authorised)."""
    if recurrence not in RECURRENCES:
        raise InvalidMerchantDetails("recurrence", "Once, weekly or monthly")
    if not amount.is_positive:
        raise NonPositiveAmount()
    if first_run < datetime.now(UTC) - timedelta(minutes=1):
        raise InvalidMerchantDetails("firstRun", "Schedule a date that is not in the past")
    if await _saved(user_id, saved_id) is None:
        raise MerchantNotFound()
    if large_amount is not None:
        await large_amount.require(user_id, amount, "schedule this payment")
    async with transaction() as conn:
        schedule_id = await conn.fetchval(
            "INSERT INTO bill_schedule (saved_biller_id, user_id, currency, amount, "
            "recurrence, next_run_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            saved_id,
            user_id,
            amount.currency.value,
            amount.amount_minor,
            recurrence,
            first_run,
        )
    return (await schedules_of(user_id, int(schedule_id)))[0]


async def schedules_of(user_id: int, only: int | None = None) -> list[Schedule]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT b.id, b.saved_biller_id, m.name, b.currency, b.amount, b.recurrence, "
            "b.next_run_at, b.status, b.last_error FROM bill_schedule b "
            "JOIN saved_biller s ON s.id = b.saved_biller_id "
            "JOIN merchant m ON m.id = s.merchant_id "
            "WHERE b.user_id = $1 AND ($2::bigint IS NULL OR b.id = $2) ORDER BY b.id",
            user_id,
            only,
        )
    return [
        Schedule(
            id=int(r["id"]),
            saved_biller_id=int(r["saved_biller_id"]),
            biller_name=r["name"],
            amount=Money(int(r["amount"]), Currency(r["currency"])),
            recurrence=r["recurrence"],
            next_run_at=r["next_run_at"],
            status=r["status"],
            last_error=r["last_error"],
        )
        for r in rows
    ]


async def cancel(user_id: int, schedule_id: int) -> None:
    async with transaction() as conn:
        done = await conn.fetchval(
            "UPDATE bill_schedule SET status = 'cancelled' WHERE id = $1 AND user_id = $2 "
            "AND status = 'active' RETURNING id",
            schedule_id,
            user_id,
        )
    if done is None:
        raise MerchantNotFound()


async def remind_upcoming(now: datetime, email: EmailProvider) -> int:
    """Worker job: a reminder for each scheduled payment due within a day."""
    async with transaction() as conn:
        rows = await conn.fetch(
            "UPDATE bill_schedule b SET reminded_for = b.next_run_at FROM saved_biller s, "
            "merchant m WHERE s.id = b.saved_biller_id AND m.id = s.merchant_id "
            "AND b.status = 'active' AND b.next_run_at <= $1::timestamptz + interval '1 day' "
            "AND b.next_run_at > $1 AND b.reminded_for IS DISTINCT FROM b.next_run_at "
            "RETURNING b.id, b.user_id, b.amount, b.currency, b.next_run_at, m.name",
            now,
        )
    await deliver_notices(
        [
            Notice(
                int(r["user_id"]),
                "bill_upcoming",
                f"{r['name']}: {Money(int(r['amount']), Currency(r['currency'])).format()} "
                f"{r['currency']} tomorrow",
                "Keep enough in your wallet for the scheduled payment",
                f"bill:{r['id']}:remind:{r['next_run_at'].isoformat()}",
            )
            for r in rows
        ],
        email,
    )
    return len(rows)


async def run_due(now: datetime, email: EmailProvider) -> list[tuple[int, str]]:
    """Worker job: pay every schedule that is due; (schedule id, outcome) for each."""
    async with connection() as conn:
        due = await conn.fetch(
            "SELECT id, user_id, saved_biller_id, currency, amount, recurrence, next_run_at "
            "FROM bill_schedule WHERE status = 'active' AND next_run_at <= $1 ORDER BY id",
            now,
        )
    outcomes = []
    for row in due:
        amount = Money(int(row["amount"]), Currency(row["currency"]))
        key = f"bill-{row['id']}-{row['next_run_at'].isoformat()}"
        period = RECURRENCES[row["recurrence"]]
        try:
            transaction_id = await pay_bill(
                int(row["user_id"]), int(row["saved_biller_id"]), amount, key
            )
        except (InsufficientFunds, LimitExceeded, WalletUnavailable) as exc:
            error = (
                "Not enough money in your wallet"
                if isinstance(exc, InsufficientFunds)
                else str(exc)
            )
            async with transaction() as conn:
                # Only the run that still sees this date moves the schedule on.
                await conn.execute(
                    "UPDATE bill_schedule SET last_error = $2, status = $3, "
                    "next_run_at = next_run_at + $4 WHERE id = $1 AND status = 'active' "
                    "AND next_run_at = $5",
                    row["id"],
                    error,
                    "failed" if period is None else "active",
                    period or timedelta(0),
                    row["next_run_at"],
                )
            await deliver_notices(
                [
                    Notice(
                        int(row["user_id"]),
                        "bill_failed",
                        f"A scheduled bill payment of {amount.format()} {amount.currency.value} "
                        "failed",
                        error,
                        f"bill:{row['id']}:failed:{row['next_run_at'].isoformat()}",
                    )
                ],
                email,
            )
            outcomes.append((int(row["id"]), "failed"))
            continue
        async with transaction() as conn:
            await conn.execute(
                "UPDATE bill_schedule SET last_error = NULL, last_transaction_id = $2, "
                "status = $3, next_run_at = next_run_at + $4 "
                "WHERE id = $1 AND status = 'active' AND next_run_at = $5",
                row["id"],
                transaction_id,
                "completed" if period is None else "active",
                period or timedelta(0),
                row["next_run_at"],
            )
        outcomes.append((int(row["id"]), "paid"))
    return outcomes
