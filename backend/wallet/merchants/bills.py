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

from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection, transaction
from wallet.errors import NonPositiveAmount
from wallet.fraud.service import PaymentBlocked, recording_blocks
from wallet.idempotency.service import IdempotencyError
from wallet.insights import budgets
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.limits.service import LimitExceeded
from wallet.merchants import account_formats, queries
from wallet.merchants.checkout import charge
from wallet.merchants.errors import (
    InvalidMerchantDetails,
    MerchantError,
    MerchantNotFound,
    ScheduleNotActive,
    ScheduleNotFound,
)
from wallet.merchants.tables import BillSchedule, Merchant
from wallet.merchants.tables import SavedBiller as SavedBillerRow
from wallet.money import Currency, Money, format_money
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.recurrence import Cadence, Recurrence, UnknownTimeZone
from wallet.security.stepup import LargeAmountCheck, StepUpRequired
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
    mcc: str | None = None  # the biller's, which puts its payments in a budget's category


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


def _open_biller() -> Any:
    """A merchant that takes bill payments now."""
    return (
        Merchant.biller_reference_pattern.is_not_null()
        & (Merchant.status == "active")
        & (Merchant.approval_status != "rejected")
    )


async def billers() -> list[Biller]:
    rows = await (
        Merchant.select(Merchant.id, Merchant.name, Merchant.biller_reference_pattern)
        .where(_open_biller())
        .order_by(Merchant.name)
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
    async with transaction():
        row = (
            await Merchant.select(Merchant.id, Merchant.name, Merchant.biller_reference_pattern)
            .where((Merchant.id == merchant_id) & _open_biller())
            .first()
        )
        if row is None:
            raise MerchantNotFound()
        reference = _account_number(
            Biller(int(row["id"]), row["name"], row["biller_reference_pattern"]), reference
        )
        [row] = (
            await SavedBillerRow.insert(
                SavedBillerRow(
                    user_id=user_id,
                    merchant_id=merchant_id,
                    account_reference=reference,
                    nickname=nickname.strip()[:60],
                )
            )
            .on_conflict(
                target=(
                    SavedBillerRow.user_id,
                    SavedBillerRow.merchant_id,
                    SavedBillerRow.account_reference,
                ),
                action="DO UPDATE",
                values=[SavedBillerRow.nickname],
            )
            .returning(SavedBillerRow.id)
        )
    found = await _saved(user_id, int(row["id"]))
    assert found is not None
    return found


async def _saved_rows(user_id: int, saved_id: int | None) -> list[dict[str, Any]]:
    """The user's saved billers (or the one of them), with the biller's name."""
    where: Any = SavedBillerRow.user_id == user_id
    if saved_id is not None:
        where &= SavedBillerRow.id == saved_id
    return await (
        SavedBillerRow.select(
            SavedBillerRow.id,
            SavedBillerRow.merchant_id,
            SavedBillerRow.merchant_id.name.as_alias("name"),
            SavedBillerRow.merchant_id.mcc.as_alias("mcc"),
            SavedBillerRow.account_reference,
            SavedBillerRow.nickname,
        )
        .where(where)
        .order_by(SavedBillerRow.id)
    )


def _saved_biller(row: Any) -> SavedBiller:
    return SavedBiller(
        int(row["id"]),
        int(row["merchant_id"]),
        row["name"],
        row["account_reference"],
        row["nickname"],
        row["mcc"],
    )


async def _saved(user_id: int, saved_id: int) -> SavedBiller | None:
    rows = await _saved_rows(user_id, saved_id)
    return _saved_biller(rows[0]) if rows else None


async def saved_billers(user_id: int) -> list[SavedBiller]:
    return [_saved_biller(r) for r in await _saved_rows(user_id, None)]


@dataclass(frozen=True, slots=True)
class PayBill:
    saved_id: int
    amount: Money
    # The payer confirmed it a second time, knowing it takes a strict budget over.
    override_budget: bool = False


def _validate_bill(actor: Actor, command: PayBill) -> None:
    if not command.amount.is_positive:
        raise NonPositiveAmount()


async def _biller(actor: Actor, command: PayBill) -> SavedBiller:
    biller = await _saved(actor.require_user(), command.saved_id)
    if biller is None:
        raise MerchantNotFound()
    return biller


async def _may_pay_bill(conn: Connection, actor: Actor, command: PayBill) -> None:
    """The biller is saved by the payer; above the step-up threshold (or from a new
    device) a factor proven lately."""
    biller = await _biller(actor, command)
    await actor.require_step_up(command.amount, "pay this bill")
    await budgets.check_payment(
        conn,
        actor.require_user(),
        payee=biller.biller_name,
        mcc=biller.mcc,
        amount=command.amount,
        override=command.override_budget,
    )


async def budget_impact(user_id: int, saved_id: int, amount: Money) -> budgets.BudgetImpact | None:
    """What paying the saved biller `amount` would do to the user's budget (the review
    screen); None when no budget covers it."""
    biller = await _saved(user_id, saved_id)
    if biller is None or not amount.is_positive:
        return None
    async with connection() as conn:
        return await budgets.impact_of(
            conn, user_id, payee=biller.biller_name, mcc=biller.mcc, amount=amount
        )


async def _pay_bill(conn: Connection, actor: Actor, command: PayBill) -> int:
    biller = await _biller(actor, command)
    return await charge(
        conn,
        payer_id=actor.require_user(),
        merchant_id=biller.merchant_id,
        amount=command.amount,
        note=f"Bill {biller.account_reference}",
        webhook_data={"account_reference": biller.account_reference},
        screening=actor.screening(),
    )


async def _replay_bill(
    conn: Connection, actor: Actor, command: PayBill, stored: dict[str, Any]
) -> int:
    return int(stored["transaction_id"])


PAY_BILL = Command[PayBill, int](
    name="payBill",
    validate=_validate_bill,
    fingerprint=lambda command: {
        "biller": command.saved_id,
        "amount": command.amount.amount_minor,
        "currency": command.amount.currency.value,
    },
    policy=(_may_pay_bill,),
    change=_pay_bill,
    response=lambda transaction_id: {"transaction_id": transaction_id},
    replay=_replay_bill,
    around=recording_blocks,
    refusals=(
        NonPositiveAmount,
        MerchantNotFound,
        StepUpRequired,
        InsufficientFunds,
        AccountNotActive,
        LimitExceeded,
        PaymentBlocked,
        WalletUnavailable,
        MerchantError,
        budgets.BudgetWouldBeExceeded,
    ),
)


async def pay_bill(
    actor: Actor, saved_id: int, amount: Money, key: str, *, override_budget: bool = False
) -> int:
    """Pay a saved biller now; the sale's transaction id (exactly once per key). Above
    the step-up threshold it needs a second factor proven lately (a standing order was
    stepped up for when it was made); the fraud rules score it first. One that would
    take a strict budget over waits for `override_budget` (a standing order was
    confirmed when it was made, so its runs pass)."""
    return await run(PAY_BILL, actor, PayBill(saved_id, amount, override_budget), key)


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
    async with transaction():
        [row] = await BillSchedule.insert(
            BillSchedule(
                saved_biller_id=saved_id,
                user_id=user_id,
                currency=amount.currency.value,
                amount=amount.amount_minor,
                recurrence=recurrence,
                next_run_at=first_run,
                day_of_month=cadence.day_of_month,
                local_time=cadence.local_time,
                time_zone=cadence.time_zone,
            )
        ).returning(BillSchedule.id)
    return (await schedules_of(user_id, int(row["id"])))[0]


def _merchant_of(saved_biller: Any) -> Any:
    """The merchant behind a saved biller, for a join (`.name`)."""
    return saved_biller.merchant_id


_CADENCE = (
    BillSchedule.recurrence,
    BillSchedule.day_of_month,
    BillSchedule.local_time,
    BillSchedule.time_zone,
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
    where: Any = BillSchedule.user_id == user_id
    if only is not None:
        where &= BillSchedule.id == only
    rows = await (
        BillSchedule.select(
            BillSchedule.id,
            BillSchedule.saved_biller_id,
            _merchant_of(BillSchedule.saved_biller_id).name.as_alias("name"),
            BillSchedule.currency,
            BillSchedule.amount,
            BillSchedule.next_run_at,
            BillSchedule.status,
            BillSchedule.last_error,
            *_CADENCE,
        )
        .where(where)
        .order_by(BillSchedule.id)
    )
    return [_schedule(r) for r in rows]


async def _own_active(user_id: int, schedule_id: int) -> Any:
    """The payer's schedule, locked (a run in progress finishes first); someone else's
    is `ScheduleNotFound`, as one that does not exist, and one that has ended
    `ScheduleNotActive`."""
    row = (
        await BillSchedule.select(
            BillSchedule.id,
            BillSchedule.status,
            BillSchedule.currency,
            BillSchedule.next_run_at,
            *_CADENCE,
        )
        .where((BillSchedule.id == schedule_id) & (BillSchedule.user_id == user_id))
        .lock_rows("UPDATE")
        .first()
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
    async with transaction():
        row = await _own_active(user_id, schedule_id)
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
        changes: dict[Any, Any] = {
            BillSchedule.next_run_at: next_run_at,
            BillSchedule.day_of_month: cadence.day_of_month,
        }
        if amount is not None:
            changes[BillSchedule.amount] = amount.amount_minor
        await BillSchedule.update(changes).where(BillSchedule.id == schedule_id)
    return (await schedules_of(user_id, schedule_id))[0]


async def cancel(user_id: int, schedule_id: int) -> Schedule:
    """Stop a schedule: nothing more is paid. Only its payer, only while it is active."""
    async with transaction():
        await _own_active(user_id, schedule_id)
        await BillSchedule.update({BillSchedule.status: "cancelled"}).where(
            BillSchedule.id == schedule_id
        )
    return (await schedules_of(user_id, schedule_id))[0]


async def remind_upcoming(now: datetime, email: EmailProvider) -> int:
    """Worker job: a reminder for each scheduled payment due within a day."""
    async with transaction() as conn:
        rows = await conn.fetch(queries.CLAIM_BILL_REMINDERS, now)
    await deliver_notices(
        [
            Notice(
                int(r["user_id"]),
                "bill_upcoming",
                f"{r['name']}: {format_money(int(r['amount']), r['currency'])} tomorrow",
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
    due = await (
        BillSchedule.select(BillSchedule.id)
        .where((BillSchedule.status == "active") & (BillSchedule.next_run_at <= now))
        .order_by(BillSchedule.id)
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
        row = (
            await BillSchedule.select(
                BillSchedule.id,
                BillSchedule.user_id,
                BillSchedule.saved_biller_id,
                BillSchedule.currency,
                BillSchedule.amount,
                BillSchedule.next_run_at,
                *_CADENCE,
            )
            .where(
                (BillSchedule.id == schedule_id)
                & (BillSchedule.status == "active")
                & (BillSchedule.next_run_at <= now)
            )
            .lock_rows("UPDATE")
            .first()
        )
        if row is None:  # another run paid it, or its payer changed or cancelled it
            return None
        amount = Money(int(row["amount"]), Currency(row["currency"]))
        following = _cadence(row).after(row["next_run_at"])
        key = f"bill-{row['id']}-{row['next_run_at'].isoformat()}"
        try:
            async with conn.transaction():  # a savepoint: a refusal leaves the run to record
                transaction_id = await pay_bill(
                    Actor.standing_order(int(row["user_id"])),
                    int(row["saved_biller_id"]),
                    amount,
                    key,
                    override_budget=True,
                )
        except _RUN_REFUSALS as exc:
            error = _run_error(exc)
            await _record_run(
                row, following, last_error=error, status="failed" if following is None else None
            )
            failed = Notice(
                int(row["user_id"]),
                "bill_failed",
                f"A scheduled bill payment of {amount.display()} failed",
                error,
                f"bill:{row['id']}:failed:{row['next_run_at'].isoformat()}",
            )
        else:
            await _record_run(
                row,
                following,
                last_error=None,
                status="completed" if following is None else None,
                last_transaction_id=transaction_id,
            )
    if failed is not None:
        await deliver_notices([failed], email)
        return "failed"
    return "paid"


async def _record_run(
    row: Any,
    following: datetime | None,
    *,
    last_error: str | None,
    status: str | None,
    last_transaction_id: int | None = None,
) -> None:
    """A run's outcome on its schedule: moved on to `following`, or ended with `status`
    when there is no next date (the schedule stays active otherwise)."""
    changes: dict[Any, Any] = {
        BillSchedule.last_error: last_error,
        BillSchedule.status: status or "active",
    }
    if last_transaction_id is not None:
        changes[BillSchedule.last_transaction_id] = last_transaction_id
    if following is not None:
        changes[BillSchedule.next_run_at] = following
    await BillSchedule.update(changes).where(BillSchedule.id == row["id"])
