"""The gauges that need SQL or Redis, computed by a worker job on a schedule (never per
scrape): the outbox's lag and backlog, the worker's queue, and the business figures
operators watch (docs/operations.md lists them with their alerts).

A read model for reporting: it counts rows of several domains' tables, read-only and
never inside a money transaction; the ledger's own figures it asks of `wallet.ledger`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import cast

from redis.asyncio import Redis

from wallet import metrics
from wallet.db import partitions
from wallet.db.engine import Connection, connection
from wallet.ledger import service as ledger
from wallet.money import Currency

ARQ_QUEUE = "arq:queue"  # arq's default queue (a sorted set of job ids)
# Each worker job's last run: a hash, task name -> JSON {finished_at, outcome, seconds}.
LAST_RUNS = "wallet:worker:last_runs"


@dataclass(slots=True)
class Figures:
    """Everything one pass computes, before it is set on the gauges (tests read it)."""

    queue_depth: int = 0
    outbox_backlog: int = 0
    outbox_lag_seconds: float = 0.0
    active_wallets: dict[str, int] = field(default_factory=dict)
    # (type, currency) -> (count, value in major units)
    transactions: dict[tuple[str, str], tuple[int, Decimal]] = field(default_factory=dict)
    add_money: dict[str, int] = field(default_factory=dict)
    customer_balances: dict[str, Decimal] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    churned_30d: int = 0
    fraud_decisions: dict[str, int] = field(default_factory=dict)
    fraud_false_positives: int = 0
    kyc_reviews_open: int = 0
    aml_cases_open: int = 0
    open_breaks: dict[str, int] = field(default_factory=dict)
    oldest_open_break_seconds: float = 0.0
    safeguarding_difference: dict[str, Decimal] = field(default_factory=dict)
    partitions_ahead_days: int = 0

    @property
    def add_money_success_ratio(self) -> float:
        decided = self.add_money.get("completed", 0) + self.add_money.get("failed", 0)
        return 1.0 if decided == 0 else self.add_money.get("completed", 0) / decided


def _major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-Currency(currency).exponent)


async def compute(redis: Redis) -> Figures:
    figures = Figures(queue_depth=int(await redis.zcard(ARQ_QUEUE)))
    async with connection() as conn:
        await _outbox(conn, figures)
        await _activity(conn, figures)
        await _people(conn, figures)
        await _reconciliation(conn, figures)
        figures.partitions_ahead_days = await partitions.days_ahead(conn)
        figures.customer_balances = {
            currency.value: _major(held, currency.value)
            for currency, held in (await ledger.customer_money(conn)).items()
        }
    return figures


async def backlog(redis: Redis) -> Figures:
    """The worker queue and the outbox only, read now (the operators' system page): a
    sorted-set count and one query past the relay's cursor."""
    figures = Figures(queue_depth=int(await redis.zcard(ARQ_QUEUE)))
    async with connection() as conn:
        await _outbox(conn, figures)
    return figures


@dataclass(frozen=True, slots=True)
class JobRun:
    """How a worker job's last run ended."""

    task: str
    finished_at: datetime
    ok: bool
    seconds: float


async def record_job_run(redis: Redis, run: JobRun) -> None:
    """Keep `run` as its task's last run: one HSET (the worker's `counted` calls it after
    every job)."""
    value = {
        "finished_at": run.finished_at.isoformat(),
        "outcome": "ok" if run.ok else "failed",
        "seconds": round(run.seconds, 6),
    }
    await cast(Awaitable[int], redis.hset(LAST_RUNS, run.task, json.dumps(value)))


async def last_job_runs(redis: Redis) -> list[JobRun]:
    """Each task's last run, by task name."""
    raw = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(LAST_RUNS))
    runs = []
    for task, value in raw.items():
        found = json.loads(value)
        runs.append(
            JobRun(
                task=task.decode(),
                finished_at=datetime.fromisoformat(found["finished_at"]),
                ok=found["outcome"] == "ok",
                seconds=float(found["seconds"]),
            )
        )
    return sorted(runs, key=lambda r: r.task)


async def _outbox(conn: Connection, figures: Figures) -> None:
    # Past the relay's cursor only (every event up to it is published or will never
    # exist, wallet.outbox.relay): a primary-key range, not the whole table.
    row = await conn.fetchrow(
        "SELECT count(*) AS backlog, "
        "coalesce(extract(epoch FROM now() - min(created_at)), 0) AS lag "
        "FROM outbox_event WHERE id > (SELECT last_id FROM outbox_relay_cursor) "
        "AND published_at IS NULL"
    )
    assert row is not None
    figures.outbox_backlog = int(row["backlog"])
    figures.outbox_lag_seconds = float(row["lag"])


async def _activity(conn: Connection, figures: Figures) -> None:
    row = await conn.fetchrow(
        "SELECT count(DISTINCT initiator_user_id) FILTER "
        "(WHERE created_at > now() - interval '1 day') AS day, "
        "count(DISTINCT initiator_user_id) AS month FROM money_transaction "
        "WHERE created_at > now() - interval '30 days' AND status = 'completed' "
        "AND initiator_user_id IS NOT NULL"
    )
    assert row is not None
    figures.active_wallets = {"day": int(row["day"]), "month": int(row["month"])}
    for r in await conn.fetch(
        "SELECT type, currency, count(*) AS n, sum(amount)::bigint AS value "
        "FROM money_transaction WHERE status = 'completed' "
        "AND created_at > now() - interval '1 day' GROUP BY type, currency"
    ):
        figures.transactions[(r["type"], r["currency"])] = (
            int(r["n"]),
            _major(int(r["value"]), r["currency"]),
        )
    for r in await conn.fetch(
        "SELECT status, count(*) AS n FROM money_transaction WHERE type = 'add' "
        "AND created_at > now() - interval '1 day' GROUP BY status"
    ):
        outcome = {"completed": "completed", "failed": "failed", "expired": "failed"}
        key = outcome.get(r["status"], "pending")
        figures.add_money[key] = figures.add_money.get(key, 0) + int(r["n"])


async def _people(conn: Connection, figures: Figures) -> None:
    for r in await conn.fetch("SELECT status, count(*) AS n FROM app_user GROUP BY status"):
        figures.users[r["status"]] = int(r["n"])
    figures.churned_30d = int(
        await conn.fetchval(
            "SELECT count(*) FROM app_user WHERE status = 'closed' "
            "AND closed_at > now() - interval '30 days'"
        )
    )
    for r in await conn.fetch(
        "SELECT decision, count(*) AS n FROM fraud_review "
        "WHERE created_at > now() - interval '1 day' GROUP BY decision"
    ):
        figures.fraud_decisions[r["decision"]] = int(r["n"])
    figures.fraud_false_positives = int(
        await conn.fetchval(
            "SELECT count(*) FROM fraud_review WHERE decision = 'hold' AND status = 'approved' "
            "AND decided_at > now() - interval '1 day'"
        )
    )
    figures.kyc_reviews_open = int(
        await conn.fetchval(
            "SELECT count(*) FROM kyc_review WHERE status IN ('pending', 'more_info')"
        )
    )
    figures.aml_cases_open = int(
        await conn.fetchval("SELECT count(*) FROM aml_case WHERE status <> 'closed'")
    )


async def _reconciliation(conn: Connection, figures: Figures) -> None:
    for r in await conn.fetch(
        "SELECT kind, count(*) AS n, extract(epoch FROM now() - min(opened_at)) AS age "
        "FROM recon_break WHERE status = 'open' GROUP BY kind"
    ):
        figures.open_breaks[r["kind"]] = int(r["n"])
        figures.oldest_open_break_seconds = max(figures.oldest_open_break_seconds, float(r["age"]))
    for r in await conn.fetch(
        "SELECT DISTINCT ON (currency) currency, difference FROM safeguarding_check "
        "ORDER BY currency, business_date DESC, id DESC"
    ):
        figures.safeguarding_difference[r["currency"]] = _major(int(r["difference"]), r["currency"])


def publish(figures: Figures) -> None:
    """Set the gauges. Label sets seen before but absent now go back to zero (clear)."""
    metrics.QUEUE_DEPTH.set(figures.queue_depth)
    metrics.OUTBOX_BACKLOG.set(figures.outbox_backlog)
    metrics.OUTBOX_LAG.set(figures.outbox_lag_seconds)
    metrics.ACTIVE_WALLETS.clear()
    for window, count in figures.active_wallets.items():
        metrics.ACTIVE_WALLETS.labels(window).set(count)
    for gauge in (
        metrics.TRANSACTIONS_24H,
        metrics.TRANSACTION_VALUE_24H,
        metrics.TRANSACTION_AVERAGE_24H,
        metrics.ADD_MONEY_24H,
        metrics.CUSTOMER_BALANCES,
        metrics.USERS,
        metrics.FRAUD_DECISIONS_24H,
    ):
        gauge.clear()
    for (kind, currency), (count, value) in figures.transactions.items():
        metrics.TRANSACTIONS_24H.labels(kind, currency).set(count)
        metrics.TRANSACTION_VALUE_24H.labels(kind, currency).set(float(value))
        metrics.TRANSACTION_AVERAGE_24H.labels(kind, currency).set(float(value / count))
    for outcome in ("completed", "failed", "pending"):
        metrics.ADD_MONEY_24H.labels(outcome).set(figures.add_money.get(outcome, 0))
    metrics.ADD_MONEY_SUCCESS.set(figures.add_money_success_ratio)
    for currency, held in figures.customer_balances.items():
        metrics.CUSTOMER_BALANCES.labels(currency).set(float(held))
    for status, count in figures.users.items():
        metrics.USERS.labels(status).set(count)
    metrics.CHURNED_30D.set(figures.churned_30d)
    for decision in ("hold", "block"):
        metrics.FRAUD_DECISIONS_24H.labels(decision).set(figures.fraud_decisions.get(decision, 0))
    metrics.FRAUD_FALSE_POSITIVES_24H.set(figures.fraud_false_positives)
    metrics.KYC_REVIEWS_OPEN.set(figures.kyc_reviews_open)
    metrics.AML_CASES_OPEN.set(figures.aml_cases_open)
    for kind in ("missing", "duplicate", "amount_mismatch", "unknown"):
        metrics.RECONCILIATION_OPEN_BREAKS.labels(kind).set(figures.open_breaks.get(kind, 0))
    metrics.RECONCILIATION_OLDEST_BREAK.set(figures.oldest_open_break_seconds)
    metrics.PARTITIONS_AHEAD.set(figures.partitions_ahead_days)
    metrics.SAFEGUARDING_DIFFERENCE.clear()
    for currency, difference in figures.safeguarding_difference.items():
        metrics.SAFEGUARDING_DIFFERENCE.labels(currency).set(float(difference))
    metrics.COMPUTED_AT.set(time.time())
