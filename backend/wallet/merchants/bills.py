"""Bill payments: save a biller with your account reference, pay now, or schedule.

A scheduled payment runs on its day (worker), with a reminder the day before; monthly
means calendar months with the end-of-month rule (`wallet.recurrence`). Its
payer may change the amount and the day, or cancel it, until it has run. If the wallet
is short, the run fails clearly: the user is told, a one-off schedule ends `failed`, a
recurring one tries again at its next date. A run pays and moves the schedule on in one
transaction, under the schedule's row lock, with the idempotency key
`bill-<schedule>-<run date>`: a worker that runs twice, or an edit at the same moment,
never pays a date twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wallet.db.engine import connection, transaction
from wallet.errors import NonPositiveAmount
from wallet.fraud.service import Screening, recording_blocks
from wallet.idempotency import service as idempotency
from wallet.idempotency.service import IdempotencyError
from wallet.ledger.errors import InsufficientFunds
from wallet.limits.service import LimitExceeded
from wallet.merchants import account_formats
from wallet.merchants.checkout import charge
from wallet.merchants.errors import (
    InvalidMerchantDetails,
    MerchantError,
    MerchantNotFound,
    ScheduleNotActive,
    ScheduleNotFound,
)
from wallet.money import Currency, Money
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.recurrence import Cadence, Recurrence, UnknownTimeZone
from wallet.security.stepup import LargeAmountCheck
from wallet.wallets.errors import WalletUnavailable

RECURRENCES = frozenset(r.value for r in Recurrence)


@dataclass(frozen=True, slots=True)
class Biller:
    merchant_id: int
    name: str
    reference_pattern: str

    @property
    def reference_format(self) -> str | None:
        """Its account numbers in words ("8 digits"), when the pattern can be said."""
        return account_formats.describe(self.reference_pattern)


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
    cadence: Cadence


async def billers() -> list[Biller]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, name, biller_reference_pattern FROM merchant "
            "WHERE biller_reference_pattern IS NOT NULL AND status = 'active' "
            "AND approval_status <> 'rejected' ORDER BY name"
        )
    return [Biller(int(r["id"]), r["name"], r["biller_reference_pattern"]) for r in rows]


def _account_number(biller: Biller, typed: str) -> str:
    """The account number as the biller writes it, or `InvalidMerchantDetails` saying
    the format. Spaces people copy from a bill are dropped when the format has none."""
    for candidate in (typed.strip(), re.sub(r"\s+", "", typed)):
        if re.fullmatch(biller.reference_pattern, candidate):
            return candidate
    described = biller.reference_format
    raise InvalidMerchantDetails(
        "accountReference",
        f"Your {biller.name} account number is {described}"
        if described
        else f"That is not an account number {biller.name} uses: copy it from your bill",
    )


async def save_biller(user_id: int, merchant_id: int, reference: str, nickname: str) -> SavedBiller:
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT id, name, biller_reference_pattern FROM merchant WHERE id = $1 "
            "AND status = 'active' AND approval_status <> 'rejected' "
            "AND biller_reference_pattern IS NOT NULL",
            merchant_id,
        )
        if row is None:
            raise MerchantNotFound()
        reference = _account_number(
            Biller(int(row["id"]), row["name"], row["biller_reference_pattern"]), reference
        )
        row = await conn.fetchrow(
            "INSERT INTO saved_biller (user_id, merchant_id, account_reference, nickname) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, merchant_id, account_reference) "
            "DO UPDATE SET nickname = EXCLUDED.nickname RETURNING id",
            user_id,
            merchant_id,
            reference,
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
    time_zone: str = "UTC",
) -> Schedule:
    """Pay a saved biller later (the worker pays it then, with no one signed in: a large
    amount needs the second factor now, when it is authorised). A monthly schedule runs
    on `first_run`'s day of the month, at its time of day, both read in `time_zone`."""
    if recurrence not in RECURRENCES:
        raise InvalidMerchantDetails("recurrence", "Once, weekly or monthly")
    if not amount.is_positive:
        raise NonPositiveAmount()
    if first_run < datetime.now(UTC) - timedelta(minutes=1):
        raise InvalidMerchantDetails("firstRun", "Schedule a date that is not in the past")
    try:
        cadence = Cadence.starting(Recurrence(recurrence), first_run, time_zone)
    except UnknownTimeZone as exc:
        raise InvalidMerchantDetails("timeZone", str(exc)) from exc
    if await _saved(user_id, saved_id) is None:
        raise MerchantNotFound()
    if large_amount is not None:
        await large_amount.require(user_id, amount, "schedule this payment")
    async with transaction() as conn:
        schedule_id = await conn.fetchval(
            "INSERT INTO bill_schedule (saved_biller_id, user_id, currency, amount, "
            "recurrence, next_run_at, day_of_month, local_time, time_zone) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            saved_id,
            user_id,
            amount.currency.value,
            amount.amount_minor,
            recurrence,
            first_run,
            cadence.day_of_month,
            cadence.local_time,
            cadence.time_zone,
        )
    return (await schedules_of(user_id, int(schedule_id)))[0]


_SCHEDULES = (
    "SELECT b.id, b.saved_biller_id, m.name, b.currency, b.amount, b.recurrence, "
    "b.next_run_at, b.status, b.last_error, b.day_of_month, b.local_time, b.time_zone "
    "FROM bill_schedule b JOIN saved_biller s ON s.id = b.saved_biller_id "
    "JOIN merchant m ON m.id = s.merchant_id "
)


def _cadence(row: Any) -> Cadence:
    return Cadence(
        Recurrence(row["recurrence"]),
        int(row["day_of_month"]),
        row["local_time"],
        row["time_zone"],
    )


def _schedule(row: Any) -> Schedule:
    return Schedule(
        id=int(row["id"]),
        saved_biller_id=int(row["saved_biller_id"]),
        biller_name=row["name"],
        amount=Money(int(row["amount"]), Currency(row["currency"])),
        recurrence=row["recurrence"],
        next_run_at=row["next_run_at"],
        status=row["status"],
        last_error=row["last_error"],
        cadence=_cadence(row),
    )


async def schedules_of(user_id: int, only: int | None = None) -> list[Schedule]:
    async with connection() as conn:
        rows = await conn.fetch(
            _SCHEDULES + "WHERE b.user_id = $1 AND ($2::bigint IS NULL OR b.id = $2) ORDER BY b.id",
            user_id,
            only,
        )
    return [_schedule(r) for r in rows]


async def _own_active(conn: Any, user_id: int, schedule_id: int) -> Any:
    """The payer's schedule, locked (a run in progress finishes first); someone else's
    is `ScheduleNotFound`, as one that does not exist, and one that has ended
    `ScheduleNotActive`."""
    row = await conn.fetchrow(
        "SELECT id, status, currency, next_run_at, recurrence, day_of_month, local_time, "
        "time_zone FROM bill_schedule WHERE id = $1 AND user_id = $2 FOR UPDATE",
        schedule_id,
        user_id,
    )
    if row is None:
        raise ScheduleNotFound()
    if row["status"] != "active":
        raise ScheduleNotActive(row["status"])
    return row


async def update_schedule(
    user_id: int,
    schedule_id: int,
    *,
    amount: Money | None = None,
    next_run_on: date | None = None,
    large_amount: LargeAmountCheck | None = None,
) -> Schedule:
    """Change the amount of a schedule, or the day it next runs (a monthly one then runs
    on that day of the month; the time of day stays). Only its payer, only while it is
    active; a larger amount is authorised now, as when it was made."""
    if amount is not None and not amount.is_positive:
        raise NonPositiveAmount()
    if amount is not None and large_amount is not None:
        await large_amount.require(user_id, amount, "schedule this payment")
    async with transaction() as conn:
        row = await _own_active(conn, user_id, schedule_id)
        cadence = _cadence(row)
        next_run_at = row["next_run_at"]
        if amount is not None and amount.currency.value != row["currency"]:
            raise InvalidMerchantDetails("amount", f"This payment is in {row['currency']}")
        if next_run_on is not None:
            cadence = cadence.moved_to(next_run_on)
            next_run_at = cadence.at(next_run_on)
            if next_run_at <= datetime.now(UTC):
                raise InvalidMerchantDetails(
                    "nextRunOn", "Pick a day that has not passed (its payment time included)"
                )
        await conn.execute(
            "UPDATE bill_schedule SET amount = coalesce($2, amount), next_run_at = $3, "
            "day_of_month = $4 WHERE id = $1",
            schedule_id,
            None if amount is None else amount.amount_minor,
            next_run_at,
            cadence.day_of_month,
        )
    return (await schedules_of(user_id, schedule_id))[0]


async def cancel(user_id: int, schedule_id: int) -> Schedule:
    """Stop a schedule: nothing more is paid. Only its payer, only while it is active."""
    async with transaction() as conn:
        await _own_active(conn, user_id, schedule_id)
        await conn.execute(
            "UPDATE bill_schedule SET status = 'cancelled' WHERE id = $1", schedule_id
        )
    return (await schedules_of(user_id, schedule_id))[0]


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


# A run that cannot pay fails clearly and the schedule moves on (or ends, if one-off).
_RUN_REFUSALS = (
    InsufficientFunds,
    LimitExceeded,
    WalletUnavailable,
    MerchantError,
    IdempotencyError,
)


def _run_error(exc: Exception) -> str:
    if isinstance(exc, InsufficientFunds):
        return "Not enough money in your wallet"
    if isinstance(exc, IdempotencyError):
        return "This date was already paid"
    return str(exc)


async def run_due(now: datetime, email: EmailProvider) -> list[tuple[int, str]]:
    """Worker job: pay every schedule that is due; (schedule id, outcome) for each."""
    async with connection() as conn:
        due = await conn.fetch(
            "SELECT id FROM bill_schedule WHERE status = 'active' AND next_run_at <= $1 "
            "ORDER BY id",
            now,
        )
    outcomes = []
    for schedule_id in (int(r["id"]) for r in due):
        outcome = await _run_one(schedule_id, now, email)
        if outcome is not None:
            outcomes.append((schedule_id, outcome))
    return outcomes


async def _run_one(schedule_id: int, now: datetime, email: EmailProvider) -> str | None:
    """One schedule's due run: the payment and the move to its next date commit
    together, under the schedule's lock, so an overlapping run or an edit by its payer
    waits and then sees the schedule already moved on. None when nothing was due."""
    failed: Notice | None = None
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT id, user_id, saved_biller_id, currency, amount, recurrence, next_run_at, "
            "day_of_month, local_time, time_zone FROM bill_schedule "
            "WHERE id = $1 AND status = 'active' AND next_run_at <= $2 FOR UPDATE",
            schedule_id,
            now,
        )
        if row is None:  # another run paid it, or its payer changed or cancelled it
            return None
        amount = Money(int(row["amount"]), Currency(row["currency"]))
        following = _cadence(row).after(row["next_run_at"])
        key = f"bill-{row['id']}-{row['next_run_at'].isoformat()}"
        try:
            async with conn.transaction():  # a savepoint: a refusal leaves the run to record
                transaction_id = await pay_bill(
                    int(row["user_id"]), int(row["saved_biller_id"]), amount, key
                )
        except _RUN_REFUSALS as exc:
            error = _run_error(exc)
            await conn.execute(
                "UPDATE bill_schedule SET last_error = $2, status = $3, "
                "next_run_at = coalesce($4, next_run_at) WHERE id = $1",
                row["id"],
                error,
                "failed" if following is None else "active",
                following,
            )
            failed = Notice(
                int(row["user_id"]),
                "bill_failed",
                f"A scheduled bill payment of {amount.format()} {amount.currency.value} failed",
                error,
                f"bill:{row['id']}:failed:{row['next_run_at'].isoformat()}",
            )
        else:
            await conn.execute(
                "UPDATE bill_schedule SET last_error = NULL, last_transaction_id = $2, "
                "status = $3, next_run_at = coalesce($4, next_run_at) WHERE id = $1",
                row["id"],
                transaction_id,
                "completed" if following is None else "active",
                following,
            )
    if failed is not None:
        await deliver_notices([failed], email)
        return "failed"
    return "paid"
