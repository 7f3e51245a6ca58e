"""Bill reminders: monthly payees, set by hand or detected from history.

Detection: a merchant the user paid, or a person they sent money to, in at least three
of the last four calendar months, with every amount within 20 % of the median; the due
day is the median day of the month. A due day a month does not have (the 29th to the
31st) falls on its last day (`wallet.recurrence`). The worker reminds the user
`remind_days_before` days ahead, once per due date, unless they already paid that payee
since the previous due date; once a due date has passed it moves to the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

from wallet.db.engine import connection, transaction
from wallet.insights import queries
from wallet.insights.budgets import month_start
from wallet.insights.errors import ReminderError
from wallet.insights.tables import BillReminder
from wallet.money import Currency, Money
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.recurrence import next_on_day

MAX_REMINDERS = 50


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int | None
    name: str
    amount: Money
    day_of_month: int
    next_due: date
    remind_days_before: int
    source: str
    merchant_id: int | None = None
    counterparty_user_id: int | None = None


def next_due_date(day_of_month: int, today: date) -> date:
    """The next date with that day of the month (or a shorter month's last day), today
    included."""
    return next_on_day(day_of_month, today)


def _reminder(row: Any) -> Reminder:
    return Reminder(
        id=int(row["id"]),
        name=row["name"],
        amount=Money(int(row["amount"]), Currency(row["currency"])),
        day_of_month=int(row["day_of_month"]),
        next_due=row["next_due"],
        remind_days_before=int(row["remind_days_before"]),
        source=row["source"],
        merchant_id=row["merchant_id"],
        counterparty_user_id=row["counterparty_user_id"],
    )


async def reminders_of(user_id: int) -> list[Reminder]:
    rows = await (
        BillReminder.select()
        .where(BillReminder.user_id == user_id)
        .order_by(BillReminder.next_due, BillReminder.id)
    )
    return [_reminder(r) for r in rows]


async def detect(user_id: int, today: date | None = None) -> list[Reminder]:
    """Recurring payees in the user's history that have no reminder yet."""
    day = today or datetime.now(UTC).date()
    since = month_start(day)
    for _ in range(4):
        since = month_start(since - timedelta(days=1))
    async with connection() as conn:
        rows = await conn.fetch(
            queries.RECURRING_PAYEES,
            user_id,
            datetime(since.year, since.month, 1, tzinfo=UTC),
        )
    found = []
    for r in rows:
        months = {month_start(t) for t in r["times"]}
        amounts = [int(a) for a in r["amounts"]]
        typical = int(median(amounts))
        if len(months) < 3 or any(abs(a - typical) * 5 > typical for a in amounts):
            continue
        due_day = int(median(t.day for t in r["times"]))
        found.append(
            Reminder(
                id=None,
                name=r["name"],
                amount=Money(typical, Currency(r["currency"])),
                day_of_month=due_day,
                next_due=next_due_date(due_day, day),
                remind_days_before=3,
                source="detected",
                merchant_id=r["merchant_id"],
                counterparty_user_id=r["counterparty_user_id"],
            )
        )
    return found


async def create_reminder(
    user_id: int,
    name: str,
    amount: Money,
    day_of_month: int,
    *,
    remind_days_before: int = 3,
    merchant_id: int | None = None,
    counterparty_user_id: int | None = None,
    source: str = "manual",
) -> Reminder:
    text = " ".join(name.split())
    if not 1 <= len(text) <= 60:
        raise ReminderError("name", "Name the bill in 1 to 60 characters")
    if not amount.is_positive:
        raise ReminderError("amount", "The amount must be more than zero")
    if not 1 <= day_of_month <= 31:
        raise ReminderError("dayOfMonth", "Pick a day from 1 to 31")
    if not 0 <= remind_days_before <= 14:
        raise ReminderError("remindDaysBefore", "Remind 0 to 14 days before")
    due = next_due_date(day_of_month, datetime.now(UTC).date())
    async with transaction():
        count = await BillReminder.count().where(BillReminder.user_id == user_id)
        if count >= MAX_REMINDERS:
            raise ReminderError("name", f"At most {MAX_REMINDERS} reminders")
        rows = (
            await BillReminder.insert(
                BillReminder(
                    user_id=user_id,
                    name=text,
                    merchant_id=merchant_id,
                    counterparty_user_id=counterparty_user_id,
                    currency=amount.currency.value,
                    amount=amount.amount_minor,
                    day_of_month=day_of_month,
                    remind_days_before=remind_days_before,
                    next_due=due,
                    source=source,
                )
            )
            .on_conflict(action="DO NOTHING")  # one reminder per payee (a unique index)
            .returning(*BillReminder.all_columns())
        )
        if not rows:
            raise ReminderError("name", "There is already a reminder for this payee")
        return _reminder(rows[0])


async def accept_detected(user_id: int, index: int) -> Reminder:
    """Turn the `index`-th detected suggestion into a reminder."""
    suggestions = await detect(user_id)
    if not 0 <= index < len(suggestions):
        raise ReminderError("suggestion", "That suggestion is no longer there")
    s = suggestions[index]
    return await create_reminder(
        user_id,
        s.name,
        s.amount,
        s.day_of_month,
        merchant_id=s.merchant_id,
        counterparty_user_id=s.counterparty_user_id,
        source="detected",
    )


async def delete_reminder(user_id: int, reminder_id: int) -> bool:
    gone = (
        await BillReminder.delete()
        .where((BillReminder.id == reminder_id) & (BillReminder.user_id == user_id))
        .returning(BillReminder.id)
    )
    return bool(gone)


async def run_due_reminders(email: EmailProvider, today: date | None = None) -> int:
    """Worker (daily): remind of bills coming due; move past due dates a month on."""
    day = today or datetime.now(UTC).date()
    days = list(range(1, 32))
    async with transaction() as conn:
        # Past due dates move to the next one, by the one rule for every day of the month.
        await conn.execute(
            queries.ROLL_PAST_DUE_DATES,
            day,
            days,
            [next_due_date(d, day) for d in days],
        )
        due = await conn.fetch(queries.DUE_UNPAID, day)
    notices = []
    for row in due:
        r = _reminder(row)
        when = "today" if r.next_due == day else f"on {r.next_due:%b} {r.next_due.day}"
        notices.append(
            Notice(
                int(row["user_id"]),
                "bill_reminder",
                f"{r.name} is due {when}",
                f"About {r.amount.display()}",
                f"reminder:{r.id}:{r.next_due.isoformat()}",
            )
        )
    return await deliver_notices(notices, email)
