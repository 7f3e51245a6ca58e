"""arq worker: notification jobs, periodic money jobs, and the outbox relay beside them.

Run with `arq workers.settings.WorkerSettings` (the dev launcher does this).
Jobs take ids and call domain services; they are safe to run twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

from arq import cron
from arq.connections import RedisSettings
from prometheus_client import start_http_server
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wallet import checks, metrics, observability, tracing
from wallet.aml import monitor as aml_monitor
from wallet.config import get_settings
from wallet.db import engine, partitions
from wallet.db.engine import transaction
from wallet.db.roles import refuse_privileged_role
from wallet.exports import service as exports
from wallet.fx import service as fx
from wallet.gateway.sandbox import SandboxGateway
from wallet.goals import service as goals
from wallet.idempotency import service as idempotency
from wallet.insights import budgets, reminders
from wallet.kyc import service as kyc
from wallet.ledger import service as ledger
from wallet.log import configure_logging
from wallet.merchants import bills, protection, settlement, webhooks
from wallet.notifications import low_balance, providers, push_subscriptions, weekly_summary
from wallet.notifications import money as money_notifications
from wallet.outbox import service as outbox
from wallet.outbox.relay import OutboxRelay
from wallet.payments import callback_trail, chargebacks, funding
from wallet.rates import provider_from_config
from wallet.realtime.channels import Channels
from wallet.reconciliation import service as reconciliation
from wallet.requests import notices as request_notices
from wallet.requests.service import expire_due_requests
from wallet.rewards import referrals
from wallet.rewards import service as rewards
from wallet.security import audit
from wallet.security.egress import EgressPolicy, GuardedClient
from wallet.transfers.unclaimed import expire_unclaimed
from wallet.users import welcome

SETTINGS = get_settings()
log = logging.getLogger(__name__)
REFERRAL_RULE = referrals.ReferralRule.from_settings(SETTINGS)


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging()
    # arq logs every job start and end at INFO; with per-second cron jobs that drowns the
    # log. Failures still show (WARNING and above); the jobs log what they did themselves.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    # The worker holds the same secrets as the API: it refuses the same settings.
    SETTINGS.check()
    tracing.enable(SETTINGS.tracing, tracing.WORKER)
    database_url, redis_url = SETTINGS.require_urls()
    await engine.connect(database_url, pool_size=5, pgbouncer=SETTINGS.db_pgbouncer)
    if SETTINGS.is_production:
        await refuse_privileged_role()
    # A worker that starts after days down makes the partitions it missed before any
    # write needs them (the daily job keeps them ahead after that). Not fatal: the job
    # tries again, and the gauge's alert says when the margin runs short.
    try:
        await make_partitions(ctx)
    except Exception:
        log.exception("partitions.make_failed")
    ctx["app_redis"] = Redis.from_url(redis_url)
    ctx["email"] = providers.email_provider(SETTINGS, ctx["app_redis"])
    ctx["sms"] = providers.sms_provider(SETTINGS, ctx["app_redis"])
    # Push endpoints are user input too: their own guarded client (its own policy).
    ctx["push_http"] = GuardedClient(providers.push_egress_policy(SETTINGS), timeout=10)
    ctx["push"] = providers.push_provider(SETTINGS, ctx["app_redis"], ctx["push_http"])
    ctx["gateway"] = SandboxGateway(
        ctx["app_redis"],
        day_seconds=SETTINGS.sandbox.day_seconds,
        slow_seconds=SETTINGS.sandbox.slow_seconds,
    )
    # Merchant webhook URLs are user input: the guarded client refuses internal targets.
    ctx["webhook_http"] = GuardedClient(EgressPolicy.from_settings(SETTINGS), timeout=10)
    ctx["fx_rates"] = provider_from_config(SETTINGS.fx.provider, SETTINGS.fx.feed_url)
    ctx["metrics_server"] = serve_metrics(
        SETTINGS.metrics.worker_host, SETTINGS.metrics.worker_port
    )
    ctx["relay_stop"] = asyncio.Event()
    relay = OutboxRelay(
        publisher=ctx["app_redis"],
        jobs=ctx["redis"],
        channels=Channels(SETTINGS.channel_namespace),
    )
    ctx["relay_task"] = asyncio.create_task(relay.run(ctx["relay_stop"]))


def serve_metrics(host: str, port: int) -> Any:
    """The worker's own metrics over plain HTTP (docs/operations.md); None when off or
    when the port is taken (another worker on this host has it: logged, not fatal)."""
    if not port:
        return None
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as exc:
        log.error("worker metrics port %s unavailable: %s", port, exc)
        return None
    metrics.process_started()
    return server


Job = TypeVar("Job", bound=Callable[..., Awaitable[Any]])


def counted(job: Job) -> Job:
    """`job`, counted by outcome in `wallet_worker_jobs_total` (arq's hooks do not say
    how a job ended), its last run kept in Redis for the operators' system page, and,
    with tracing on, in a span of its own. Keeps the job's name, which arq files it
    under."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            with tracing.job_span(job.__name__):
                result = await job(ctx, *args, **kwargs)
        except Exception:
            metrics.WORKER_JOBS.labels(job.__name__, "failed").inc()
            await _record_run(ctx, job.__name__, started, ok=False)
            raise
        metrics.WORKER_JOBS.labels(job.__name__, "ok").inc()
        await _record_run(ctx, job.__name__, started, ok=True)
        return result

    return cast(Job, run)


async def _record_run(ctx: dict[str, Any], task: str, started: float, *, ok: bool) -> None:
    """The job's last run, for the operators' system page (`wallet.observability`). A
    Redis failure here is logged: it must not turn the job's own outcome into another."""
    redis = ctx.get("app_redis")
    if redis is None:  # a job run by hand, outside the worker
        return
    run = observability.JobRun(task, datetime.now(UTC), ok, time.monotonic() - started)
    try:
        await observability.record_job_run(redis, run)
    except RedisError as exc:
        log.warning("could not record the last run of %s: %s", task, exc)


async def check_ledger_recent(ctx: dict[str, Any]) -> int:
    """The ledger's invariants over what was posted since the last clean run."""
    return len((await checks.run_scheduled("incremental", email=ctx["email"])).breaches)


async def check_ledger_full(ctx: dict[str, Any]) -> int:
    """Nightly: the ledger's invariants over all of it."""
    return len((await checks.run_scheduled("full", email=ctx["email"])).breaches)


async def reconcile_yesterday(ctx: dict[str, Any]) -> int:
    """Daily: fetch yesterday's settlement files (processor CSV, bank camt.053), match
    them to the ledger and check safeguarding; the breaks it opened."""
    day = datetime.now(UTC).date() - timedelta(days=1)
    results = await reconciliation.reconcile_day(ctx["gateway"], day)
    return sum(r.breaks_opened for r in results)


async def rematch_reconciliation(ctx: dict[str, Any]) -> int:
    """Hourly: close unknown breaks whose ledger item or file has arrived since."""
    return await reconciliation.rematch()


async def publish_gauges(ctx: dict[str, Any]) -> int:
    """Compute the gauges that need SQL or Redis (wallet.observability) for scrapes."""
    figures = await observability.compute(ctx["app_redis"])
    observability.publish(figures)
    return figures.outbox_backlog


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("metrics_server") is not None:
        ctx["metrics_server"].shutdown()
    ctx["relay_stop"].set()
    await ctx["relay_task"]
    await ctx["app_redis"].aclose()
    await ctx["webhook_http"].aclose()
    await ctx["push_http"].aclose()
    await engine.disconnect()


# --- jobs from outbox events -----------------------------------------------------------


async def send_welcome_email(ctx: dict[str, Any], event_id: int) -> str:
    return await welcome.send_welcome_email(event_id, email=ctx["email"], redis=ctx["app_redis"])


async def notify_transaction(ctx: dict[str, Any], event_id: int) -> int:
    # Money first: a notice that fails must not cost the event its round-up or reward.
    await goals.round_up_on_event(event_id)
    await rewards.award_on_event(event_id, await ctx["fx_rates"].snapshot(), REFERRAL_RULE)
    sent = await money_notifications.notify_transaction(event_id, email=ctx["email"])
    try:
        sent += await low_balance.check_on_event(event_id, email=ctx["email"], sms=ctx["sms"])
    except Exception:  # one alert is not worth the budget alerts after it
        log.exception("low-balance alert failed for event %s", event_id)
    return sent + await budgets.alert_on_event(event_id, email=ctx["email"])


async def notify_new_device(ctx: dict[str, Any], event_id: int) -> int:
    return await money_notifications.notify_new_device(event_id, email=ctx["email"])


async def deliver_notice(ctx: dict[str, Any], event_id: int) -> int:
    delivered = await money_notifications.deliver_notice(
        event_id, email=ctx["email"], sms=ctx["sms"]
    )
    # A verification decision may be what a pending referral waited for.
    await referrals.settle_on_notice(event_id, REFERRAL_RULE, await ctx["fx_rates"].snapshot())
    return delivered


async def push_notification(ctx: dict[str, Any], event_id: int) -> int:
    """Web Push of a new notification to the user's browsers (their preferences allowing)."""
    outcome = await push_subscriptions.push_notification(event_id, provider=ctx["push"])
    return outcome.sent


async def notify_money_request(ctx: dict[str, Any], event_id: int) -> int:
    return await request_notices.notify_money_request(event_id, email=ctx["email"])


async def send_invite(ctx: dict[str, Any], event_id: int) -> str:
    return await money_notifications.send_invite(event_id, email=ctx["email"], sms=ctx["sms"])


# --- periodic jobs ---------------------------------------------------------------------


async def monitor_aml(ctx: dict[str, Any]) -> int:
    """Run the AML detectors over what changed since the last pass; open cases."""
    return len(await aml_monitor.run(thresholds=SETTINGS.aml.thresholds))


async def deliver_gateway_events(ctx: dict[str, Any]) -> int:
    """Play the sandbox gateway's due callbacks (ACH settlements, payouts, late charges)."""
    outcomes = await funding.deliver_sandbox_events(ctx["gateway"], SETTINGS.gateway.webhook_secret)
    return len(outcomes)


async def summarise_refused_callbacks(ctx: dict[str, Any]) -> int:
    """One audit row per source for the refused callbacks counted instead of recorded."""
    return await callback_trail.summarise_suppressed(ctx["app_redis"])


async def deliver_webhooks(ctx: dict[str, Any]) -> int:
    """POST due merchant webhooks (signed), retrying failures with backoff."""
    return await webhooks.deliver_due(
        ctx["webhook_http"],
        datetime.now(UTC),
        retry_base=timedelta(seconds=SETTINGS.merchants.webhook_retry_base_seconds),
    )


async def settle_merchants(ctx: dict[str, Any]) -> int:
    """Pay out every merchant whose settlement is due (daily or weekly), less fees."""
    return len(await settlement.settle_due(ctx["gateway"], datetime.now(UTC)))


async def repay_chargeback_debts(ctx: dict[str, Any]) -> int:
    """Repay chargeback debts from money that arrived; lift restrictions once repaid."""
    return await chargebacks.repay_all_debts()


async def release_escrow(ctx: dict[str, Any]) -> int:
    """Marketplace sales whose buyer-protection window ended go to their merchants."""
    return len(await protection.release_due(datetime.now(UTC)))


async def run_bill_payments(ctx: dict[str, Any]) -> int:
    """Remind of tomorrow's scheduled bills; pay the ones that are due."""
    now = datetime.now(UTC)
    await bills.remind_upcoming(now, ctx["email"])
    return len(await bills.run_due(now, ctx["email"]))


async def roll_up_hot_accounts(ctx: dict[str, Any]) -> int:
    """Fold hot accounts' queued postings into their totals and snapshots."""
    async with transaction() as conn:
        return await ledger.roll_up_hot_accounts(conn)


async def expire_holds(ctx: dict[str, Any]) -> int:
    return len(await funding.expire_stale_holds(datetime.now(UTC)))


async def expire_requests(ctx: dict[str, Any]) -> int:
    return len(await expire_due_requests(datetime.now(UTC)))


async def expire_unclaimed_transfers(ctx: dict[str, Any]) -> int:
    return len(await expire_unclaimed(datetime.now(UTC)))


async def generate_statement(ctx: dict[str, Any], event_id: int) -> int:
    return await exports.generate_requested(event_id)


async def generate_monthly_statements(ctx: dict[str, Any]) -> int:
    """On the 1st: last month's statement for everyone who had activity in it."""
    last_month = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    made = 0
    for user_id in await exports.users_active_in(last_month):
        await exports.generate_statement(user_id, last_month)
        made += 1
    return made


async def send_bill_reminders(ctx: dict[str, Any]) -> int:
    return await reminders.run_due_reminders(ctx["email"])


async def seal_audit_log(ctx: dict[str, Any]) -> int:
    # A few batches per run, so a backlog (the whole table after the scrub) clears quickly.
    sealed = 0
    for _ in range(20):
        batch = await audit.seal(SETTINGS.audit.key_bytes)
        sealed += batch
        if batch == 0:
            break
    return sealed


async def anchor_audit_log(ctx: dict[str, Any]) -> int:
    """Write the sealed head of the audit chain to a signed file outside the database."""
    made = await audit.anchor(SETTINGS.audit.key_bytes, SETTINGS.audit_anchor_dir)
    return made.seq if made else 0


async def send_weekly_summaries(ctx: dict[str, Any]) -> int:
    """Mondays: a job per user whose wallet moved last week (each job sends one summary,
    once: its job id and the notice's key are the user and the week)."""
    return await weekly_summary.queue_weekly_summaries(ctx["redis"], datetime.now(UTC))


async def send_weekly_summary(ctx: dict[str, Any], user_id: int, monday: str) -> int:
    return await weekly_summary.send_weekly_summary(
        user_id, date.fromisoformat(monday), email=ctx["email"]
    )


async def run_weekly_savings(ctx: dict[str, Any]) -> int:
    return await goals.run_weekly_transfers()


async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    # Two transactions: dropping a day's partition locks the keys' table until COMMIT.
    async with transaction() as conn:
        days = await idempotency.purge_expired(conn)
    async with transaction() as conn:
        return days + await fx.purge_unused_quotes(conn)


async def make_partitions(ctx: dict[str, Any]) -> int:
    """Make the history tables' partitions for the months and days ahead."""
    async with transaction() as conn:
        return await partitions.make_ahead(conn)


async def drop_published_outbox(ctx: dict[str, Any]) -> int:
    async with transaction() as conn:
        return await outbox.drop_published(conn)


async def purge_kyc_records(ctx: dict[str, Any]) -> int:
    """Delete verification records of accounts closed longer ago than the AML retention."""
    return await kyc.purge_closed_accounts(
        datetime.now(UTC), timedelta(days=SETTINGS.privacy.kyc_retention_days)
    )


def _redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(SETTINGS.redis_url or "redis://127.0.0.1:6379/0")


EVERY_TWO_SECONDS = set(range(0, 60, 2))


class WorkerSettings:
    # arq reads these class attributes.
    functions = [  # noqa: RUF012
        counted(send_weekly_summary),
        counted(send_welcome_email),
        counted(notify_transaction),
        counted(notify_money_request),
        counted(send_invite),
        counted(generate_statement),
        counted(notify_new_device),
        counted(deliver_notice),
        counted(push_notification),
    ]
    cron_jobs = [  # noqa: RUF012
        cron(counted(deliver_gateway_events), second=EVERY_TWO_SECONDS, unique=True),
        cron(counted(monitor_aml), second={0, 30}, unique=True),
        cron(counted(roll_up_hot_accounts), second=set(range(60)), unique=True),
        cron(counted(deliver_webhooks), second=EVERY_TWO_SECONDS, unique=True),
        cron(counted(summarise_refused_callbacks), second={55}, unique=True),
        cron(counted(expire_holds), second={5}, unique=True),
        cron(counted(expire_requests), second={15}, unique=True),
        cron(counted(expire_unclaimed_transfers), second={25}, unique=True),
        cron(counted(repay_chargeback_debts), second={10, 40}, unique=True),
        cron(counted(release_escrow), second={20}, unique=True),
        cron(counted(run_bill_payments), second={30}, unique=True),
        cron(counted(settle_merchants), minute={0}, second={45}, unique=True),
        cron(counted(purge_idempotency_keys), minute={7}, second={35}, unique=True),
        cron(counted(make_partitions), hour={1}, minute={11}, second={0}, unique=True),
        cron(counted(drop_published_outbox), hour={1}, minute={41}, second={0}, unique=True),
        cron(counted(purge_kyc_records), hour={3}, minute={17}, second={5}, unique=True),
        cron(counted(run_weekly_savings), minute={3, 33}, second={45}, unique=True),
        cron(counted(seal_audit_log), second=set(range(0, 60, 5)), unique=True),
        cron(counted(anchor_audit_log), second={2, 17, 32, 47}, unique=True),
        cron(counted(send_bill_reminders), hour={8}, minute={0}, second={50}, unique=True),
        cron(
            counted(send_weekly_summaries),
            weekday={0},
            hour={8},
            minute={5},
            second={0},
            unique=True,
        ),
        cron(counted(generate_monthly_statements), day={1}, hour={2}, minute={10}, unique=True),
        cron(counted(publish_gauges), second=set(range(0, 60, 15)), unique=True),
        cron(counted(check_ledger_recent), minute=set(range(0, 60, 5)), second={40}, unique=True),
        cron(counted(check_ledger_full), hour={2}, minute={30}, second={0}, unique=True),
        cron(counted(reconcile_yesterday), hour={4}, minute={0}, second={0}, unique=True),
        cron(counted(rematch_reconciliation), minute={50}, second={20}, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = _redis_settings()
    max_tries = 5
    keep_result = 3600
