"""Partitions of the history tables, made ahead of time (migrations/sql/0049).

`posting`, `journal_entry`, `money_transaction`, `transaction_transition`,
`outbox_event` and `audit_log` have a partition per month (their ids carry the month:
`history_next_id`), `idempotency_key` one per day. A worker job makes the next months
and days every day; there is no default partition, so the margin is a gauge with an
alert (PartitionsRunningOut). Retention is by dropping partitions, never by DELETE:
`idempotency.purge_expired` and `outbox.service.drop_published` own theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from wallet.db.engine import Connection

MONTHS_AHEAD = 3
DAYS_AHEAD = 7
ID_MONTH_SHIFT = 40  # an id is (month since January 2000) << 40 | its sequence value


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    lower: str  # the bound as PostgreSQL prints it ("MINVALUE" for the legacy rows)
    upper: str | None  # the first key past it; None for MAXVALUE


async def make_ahead(
    conn: Connection, months_ahead: int = MONTHS_AHEAD, days_ahead: int = DAYS_AHEAD
) -> int:
    """Make the partitions from now to `months_ahead` months (and `days_ahead` days of
    idempotency keys) that do not exist yet; how many were made."""
    made = await conn.fetchval("SELECT history_make_partitions($1, $2)", months_ahead, days_ahead)
    return int(made)


async def days_ahead(conn: Connection) -> int:
    """Days from now until the first month or day with no partition yet, over every
    partitioned table (the gauge's value)."""
    return int(await conn.fetchval("SELECT history_partitions_ahead_days()"))


async def partitions(conn: Connection, table: str) -> list[Partition]:
    rows = await conn.fetch("SELECT * FROM history_partitions($1::regclass)", table)
    return [Partition(r["name"], r["lower_bound"], r["upper_bound"]) for r in rows]


def id_month(history_id: int) -> int:
    """The month (since January 2000) a history row's id was drawn in."""
    return history_id >> ID_MONTH_SHIFT


def month_index(at: datetime) -> int:
    """The month of `at` (UTC) as months since January 2000, as history_month does."""
    utc = at.astimezone(UTC)
    return (utc.year - 2000) * 12 + utc.month - 1


def month_start(index: int) -> datetime:
    """The first instant of a month given as months since January 2000."""
    return datetime(2000 + index // 12, index % 12 + 1, 1, tzinfo=UTC)


def first_id(index: int) -> int:
    """The smallest id of a month's partition."""
    return index << ID_MONTH_SHIFT
