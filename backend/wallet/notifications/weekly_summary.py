"""The weekly summary: each Monday, money in and out of the past week (Monday 00:00 UTC
to Monday 00:00 UTC) per currency, for every user whose wallet moved that week. Its
dedupe key is the user and the week, so a rerun, or a second worker, sends it once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from wallet.db.engine import connection
from wallet.ledger import service as ledger
from wallet.ledger.models import OwnerType, Purpose
from wallet.notifications.email import EmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.outbox.relay import JobQueue


def last_week(now: datetime) -> tuple[date, datetime, datetime]:
    """The last whole week before `now`: its Monday, and its [start, end) in UTC."""
    this_monday = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    monday = this_monday - timedelta(days=7)
    start = datetime.combine(monday, time(), UTC)
    return monday, start, start + timedelta(days=7)


def summary_notice(user_id: int, monday: date, flows: list[ledger.Flow]) -> Notice:
    lines = [
        f"{f.money_in.currency.value}: in {f.money_in.display()}, out {f.money_out.display()}"
        for f in flows
    ]
    return Notice(
        user_id,
        "weekly_summary",
        f"Your week from {monday:%b} {monday.day}",
        "; ".join(lines),
        f"weekly_summary:{user_id}:{monday.isoformat()}",
        link="/insights",
    )


async def users_to_summarise(now: datetime) -> tuple[date, list[int]]:
    """The last whole week's Monday, and every user whose wallet moved in it. The worker
    queues one job per user (`send_weekly_summary`), so no one job has to email the
    whole user base within its timeout."""
    monday, start, end = last_week(now)
    async with connection() as conn:
        users = await ledger.owners_with_postings(conn, OwnerType.USER, Purpose.WALLET, start, end)
    return monday, users


async def queue_weekly_summaries(jobs: JobQueue, now: datetime) -> int:
    """The worker's Monday cron: one `send_weekly_summary` job per user, each with the
    user and the week as its job id (a second run queues nothing new)."""
    monday, users = await users_to_summarise(now)
    for user_id in users:
        await jobs.enqueue_job(
            "send_weekly_summary",
            user_id,
            monday.isoformat(),
            _job_id=f"weekly_summary:{user_id}:{monday.isoformat()}",
        )
    return len(users)


async def send_weekly_summary(user_id: int, monday: date, *, email: EmailProvider) -> int:
    """One user's summary of the week from `monday`: 1 if it was new, else 0."""
    start = datetime.combine(monday, time(), UTC)
    async with connection() as conn:
        flows = await ledger.owner_flows(
            conn, OwnerType.USER, user_id, Purpose.WALLET, start, start + timedelta(days=7)
        )
    if not flows:
        return 0
    return await deliver_notices([summary_notice(user_id, monday, flows)], email)


async def send_weekly_summaries(now: datetime, *, email: EmailProvider) -> int:
    """Every summary of the last whole week before `now`, in this process (the CLI and
    tests; the worker fans out instead); how many were new."""
    monday, users = await users_to_summarise(now)
    return sum([await send_weekly_summary(u, monday, email=email) for u in users])
