"""The ledger invariants on a schedule (issue 16): incremental runs from the last clean
checkpoint, a full run nightly, every run recorded for operators, and a breach alerting
(the gauge and the operators) without freezing anything."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from wallet import checks
from wallet.db.engine import connection
from wallet.notifications.email import SandboxEmailProvider
from workers import settings as worker

NOW = timedelta(0)  # tests check postings at once; the schedule waits a minute
RUNS = """{ ledgerCheckRuns(first: 5) { id mode ok breachCount postingsAfter postingsThrough
  breaches { check detail accountIds } } }"""


def gauge(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def _tamper(user_id: int, by: int) -> int:
    """Move a running total behind the ledger's back; the account's id."""
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "UPDATE ledger_account SET posted_credits = posted_credits + $2 "
                "WHERE owner_type = 'user' AND owner_id = $1 RETURNING id",
                user_id,
                by,
            )
        )


async def _max_posting() -> int:
    async with connection() as conn:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM posting"))


async def test_incremental_runs_go_on_from_the_last_clean_checkpoint(
    database_url: str, redis: Redis
) -> None:
    email = SandboxEmailProvider(redis)
    await make_user(balance="5.00")
    first = await checks.run_scheduled("incremental", email=email, settle=NOW)
    assert first.breaches == ()
    assert (first.window.after_posting, first.window.through_posting) == (0, await _max_posting())
    await make_user(balance="7.00")
    second = await checks.run_scheduled("incremental", email=email, settle=NOW)
    assert second.breaches == ()
    assert second.window.after_posting == first.window.through_posting
    assert second.window.through_posting == await _max_posting() > first.window.through_posting
    assert second.window.after_entry == first.window.through_entry
    # The schedule itself leaves the newest minute for the next run.
    waiting = await checks.run_scheduled("incremental", email=email)
    assert waiting.window.through_posting == waiting.window.after_posting
    assert gauge("wallet_ledger_check_breaches") == 0
    assert gauge("wallet_ledger_check_last_run_timestamp_seconds") > 0


async def test_a_breach_is_recorded_alerts_operators_and_holds_the_checkpoint(
    database_url: str, redis: Redis
) -> None:
    email = SandboxEmailProvider(redis)
    admin, support = await make_user(), await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", admin.id)
        await conn.execute(
            "UPDATE app_user SET operator_role = 'support' WHERE id = $1", support.id
        )
    clean = await checks.run_scheduled("incremental", email=email, settle=NOW)
    victim = await make_user(balance="3.00")  # new postings: its account is in the window
    account_id = await _tamper(victim.id, 1)
    try:
        found = await checks.run_scheduled("incremental", email=email, settle=NOW)
        # The account no longer matches its postings, nor the currency its trial balance.
        assert sorted((b.check, b.account_ids) for b in found.breaches) == [
            ("account_matches_postings", (account_id,)),
            ("trial_balance", ()),
        ]
        assert gauge("wallet_ledger_check_breaches") == 2
        # The operators who can act hear of it, in the app and by email; support does not.
        async with connection() as conn:
            told = await conn.fetch(
                "SELECT user_id, title, body FROM notification WHERE kind = 'ledger_check_breach'"
            )
        assert [r["user_id"] for r in told] == [admin.id]
        assert "found 2 breach(es), the first: trial_balance" in told[0]["body"]
        assert await email.sent_to(admin.email)
        assert await email.sent_to(support.email) == []
        # Nothing is frozen: the victim still sends.
        async with connection() as conn:
            assert (
                await conn.fetchval("SELECT status FROM wallet WHERE user_id = $1", victim.id)
                == "active"
            )
        # The next run starts from the last clean one again, so the breach stays reported.
        again = await checks.run_scheduled("incremental", email=email, settle=NOW)
        assert again.window.after_posting == clean.window.through_posting
        assert len(again.breaches) == 2
    finally:
        await _tamper(victim.id, -1)
    mended = await checks.run_scheduled("incremental", email=email, settle=NOW)
    assert mended.breaches == ()
    assert gauge("wallet_ledger_check_breaches") == 0


async def test_an_incremental_run_reads_only_the_window_and_the_full_run_reads_all(
    database_url: str, redis: Redis
) -> None:
    email = SandboxEmailProvider(redis)
    quiet, still = await make_user(balance="2.00"), await make_user(balance="2.00")
    await checks.run_scheduled("incremental", email=email, settle=NOW)
    # Two accounts no new posting touches, moved so that the trial balance still holds.
    moved = {await _tamper(quiet.id, 5), await _tamper(still.id, -5)}
    try:
        await make_user(balance="1.00")  # the window has postings, elsewhere
        recent = await checks.run_scheduled("incremental", email=email, settle=NOW)
        assert recent.window.through_posting > recent.window.after_posting
        assert recent.breaches == ()
        full = await checks.run_scheduled("full", email=email, settle=NOW)
        assert full.window.after_posting == 0
        assert {
            b.account_ids[0] for b in full.breaches if b.check == "account_matches_postings"
        } == moved
    finally:
        await _tamper(quiet.id, -5)
        await _tamper(still.id, 5)


async def test_run_records_cannot_be_changed_or_removed(database_url: str, redis: Redis) -> None:
    run = await checks.run_scheduled("full", email=SandboxEmailProvider(redis), settle=NOW)
    async with connection() as conn:
        for sql in (
            "UPDATE ledger_check_run SET breaches = 0 WHERE id = $1",
            "DELETE FROM ledger_check_run WHERE id = $1",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql, run.id)


async def test_the_worker_schedules_both_runs() -> None:
    jobs = {job.name.removeprefix("cron:"): job for job in worker.WorkerSettings.cron_jobs}
    recent = jobs["check_ledger_recent"]
    assert recent.minute == set(range(0, 60, 5))
    assert jobs["check_ledger_full"].hour == {2}


async def test_operators_read_the_run_history(live_server: LiveServer) -> None:
    operator, customer = await make_user(), await make_user(balance="4.00")
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET operator_role = 'support' WHERE id = $1", operator.id
        )
    redis = live_server_redis(live_server)
    await checks.run_scheduled("incremental", email=SandboxEmailProvider(redis), settle=NOW)
    await redis.aclose()
    runs = await call(live_server, await token_for(live_server, operator), RUNS)
    assert runs[0]["mode"] == "incremental" and runs[0]["ok"] is True
    assert runs[0]["breachCount"] == 0 and runs[0]["breaches"] == []
    assert int(runs[0]["postingsThrough"]) > 0
    assert await call(live_server, await token_for(live_server, customer), RUNS) is None
    sent = await send(live_server, await token_for(live_server, customer), "@nobody_here", "1")
    assert sent["__typename"] != "SendMoneyPayload"


def live_server_redis(live: LiveServer) -> Redis:
    assert live.settings.redis_url
    return Redis.from_url(live.settings.redis_url)
