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


async def send_weekly_summaries(now: datetime, *, email: EmailProvider) -> int:
    """Summaries of the last whole week before `now`; how many were new."""
    monday, start, end = last_week(now)
    async with connection() as conn:
        users = await ledger.owners_with_postings(conn, OwnerType.USER, Purpose.WALLET, start, end)
    sent = 0
    for user_id in users:
        async with connection() as conn:
            flows = await ledger.owner_flows(
                conn, OwnerType.USER, user_id, Purpose.WALLET, start, end
            )
        if flows:
            sent += await deliver_notices([summary_notice(user_id, monday, flows)], email)
    return sent
