"""Operators' merchant fees and settlement schedules, and the system page: outbox, worker
queue, each worker job's last run (recorded by `counted`) and the last ledger check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_bank, call, token_for
from tests.merchant_helpers import (
    BUSINESS,
    CREATE,
    approve,
    customer,
    operator_token,
    pay,
    verify_basic,
)
from wallet import observability
from wallet.checks import run_scheduled
from wallet.db.engine import transaction
from wallet.gateway.sandbox import SandboxGateway
from wallet.merchants import settlement
from wallet.notifications.email import SandboxEmailProvider
from wallet.outbox.service import Topic, emit
from workers import settings as worker

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

FEES = """query($first: Int!) { merchantFees(first: $first) {
  id name status approvalStatus feePercentBp fixedFees { currency amount }
  settlementSchedule scheduleInWords nextSettlementDue
  lastBatches { id currency payments gross fee net payoutStatus createdAt } } }"""
SYSTEM = """{ systemStatus { outboxBacklog outboxLagSeconds queueDepth
  jobs { task finishedAt outcome seconds }
  lastLedgerCheck { id mode ok breachCount finishedAt } } }"""
ONBOARD = """mutation($input: OnboardMerchantInput!) { onboardMerchant(input: $input) {
  ... on MerchantPayload { merchant { id } } } }"""


async def shop(live: LiveServer, name: str, *, bank: bool, approved: bool) -> tuple[str, str]:
    """(owner token, merchant id) of a new shop, settling to a bank account if `bank`."""
    owner = await make_user()
    await verify_basic(owner.id)
    token = await token_for(live, owner)
    extra = {"settlementMethodId": await add_bank(live, token, "000123456789")} if bank else {}
    created = await call(
        live,
        token,
        ONBOARD,
        {"input": {"name": name, "mcc": "5814", "country": "US", **extra, **BUSINESS}},
    )
    if approved:
        await approve(live, created["merchant"]["id"])
    return token, created["merchant"]["id"]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_merchant_fees_show_the_rate_the_schedule_and_the_last_batches(
    live_server: LiveServer, redis: Redis
) -> None:
    owner_token, settled = await shop(live_server, "Corner Coffee", bank=True, approved=True)
    _, pending = await shop(live_server, "Night Market", bank=False, approved=False)
    _, buyer_token = await customer(live_server)
    request = await call(
        live_server, owner_token, CREATE, {"input": {"merchantId": settled, "amount": "10.00"}}
    )
    await pay(live_server, buyer_token, request["request"]["id"])
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    (batch_id,) = await settlement.settle_due(gateway, datetime.now(UTC))

    token = await operator_token(live_server, "support")
    found = {m["id"]: m for m in await call(live_server, token, FEES, {"first": 100})}
    coffee, market = found[settled], found[pending]
    assert (coffee["name"], coffee["status"], coffee["approvalStatus"]) == (
        "Corner Coffee",
        "ACTIVE",
        "APPROVED",
    )
    assert (coffee["feePercentBp"], coffee["fixedFees"]) == (
        290,
        [{"currency": "USD", "amount": "0.30"}],
    )
    assert coffee["settlementSchedule"] == "DAILY"
    assert coffee["scheduleInWords"].startswith("Daily: ")
    assert "Not settled now" not in coffee["scheduleInWords"]
    (batch,) = coffee["lastBatches"]
    # 2.9% of 10.00 = 0.29, plus 0.30 fixed.
    assert batch["id"] == str(batch_id)
    assert (batch["payments"], batch["gross"], batch["fee"], batch["net"]) == (
        1,
        "10.00",
        "0.59",
        "9.41",
    )
    assert batch["payoutStatus"] == "PENDING"
    due = parse_time(coffee["nextSettlementDue"])
    assert due == parse_time(batch["createdAt"]) + timedelta(days=1)

    assert (market["approvalStatus"], market["lastBatches"]) == ("PENDING", [])
    assert market["nextSettlementDue"] is None
    assert market["scheduleInWords"].endswith(
        "Not settled now: the merchant's application is pending."
    )
    assert len(await call(live_server, token, FEES, {"first": 1})) == 1


async def test_merchant_fees_are_for_operators_only(live_server: LiveServer) -> None:
    owner_token, _ = await shop(live_server, "Corner Coffee", bank=False, approved=False)
    assert await call(live_server, owner_token, FEES, {"first": 5}) is None
    assert await call(live_server, None, FEES, {"first": 5}) is None


async def test_the_system_page_shows_the_backlog_the_last_job_runs_and_the_ledger_check(
    live_server: LiveServer, redis: Redis
) -> None:
    async def tidy_up(ctx: dict[str, Any]) -> int:
        return 1

    async def fall_over(ctx: dict[str, Any]) -> int:
        raise RuntimeError("boom")

    ctx = {"app_redis": redis}
    before = datetime.now(UTC)
    assert await worker.counted(tidy_up)(ctx) == 1
    assert await worker.counted(tidy_up)(ctx) == 1  # the same field again, not a new one
    with pytest.raises(RuntimeError):
        await worker.counted(fall_over)(ctx)
    assert await worker.counted(tidy_up)({}) == 1  # no Redis in the context: nothing kept
    assert await redis.hlen(observability.LAST_RUNS) == 2
    await redis.zadd(observability.ARQ_QUEUE, {"job-a": 1, "job-b": 2, "job-c": 3})
    async with transaction() as conn:
        await emit(conn, Topic.BALANCE_CHANGED, {"user_id": 1})
    await run_scheduled("full", email=SandboxEmailProvider(redis))

    status = await call(live_server, await operator_token(live_server, "admin"), SYSTEM)
    assert status["queueDepth"] == 3
    assert status["outboxBacklog"] >= 1 and status["outboxLagSeconds"] >= 0
    jobs = {j["task"]: j for j in status["jobs"]}
    assert set(jobs) == {"tidy_up", "fall_over"}
    assert (jobs["tidy_up"]["outcome"], jobs["fall_over"]["outcome"]) == ("OK", "FAILED")
    for job in jobs.values():
        assert before <= parse_time(job["finishedAt"]) <= datetime.now(UTC)
        assert 0 <= job["seconds"] < 5
    check = status["lastLedgerCheck"]
    assert (check["mode"], check["ok"], check["breachCount"]) == ("full", True, 0)


async def test_the_system_page_is_for_operators_only(live_server: LiveServer) -> None:
    customer_token = await token_for(live_server, await make_user())
    assert await call(live_server, customer_token, SYSTEM) is None
    assert await call(live_server, None, SYSTEM) is None


async def test_a_job_run_is_recorded_as_one_field_per_task(redis: Redis) -> None:
    """`record_job_run` overwrites its task's field: the hash holds last runs only."""
    first = observability.JobRun("settle_merchants", datetime(2026, 1, 1, tzinfo=UTC), True, 0.5)
    second = observability.JobRun("settle_merchants", datetime(2026, 1, 2, tzinfo=UTC), False, 2)
    await observability.record_job_run(redis, first)
    await observability.record_job_run(redis, second)
    assert await observability.last_job_runs(redis) == [second]
