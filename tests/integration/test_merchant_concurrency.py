"""Merchant money paths under concurrency: two workers settling, two workers running one
scheduled bill, a buyer opening the same dispute twice at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_bank, call, token_for
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import (
    BUSINESS,
    CREATE,
    approve,
    customer,
    merchant_cents,
    pay,
    shop,
    verify_basic,
)
from wallet.db.engine import connection
from wallet.gateway.sandbox import SandboxGateway
from wallet.merchants import bills, protection, settlement
from wallet.money import Currency, Money
from wallet.notifications.email import SandboxEmailProvider
from wallet.recurrence import add_months

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

ONBOARD = """mutation($input: OnboardMerchantInput!) { onboardMerchant(input: $input) {
  ... on MerchantPayload { merchant { id } } } }"""


async def test_two_settlement_runs_at_once_make_one_batch(
    live_server: LiveServer, redis: Redis
) -> None:
    owner = await make_user()
    await verify_basic(owner.id)
    token = await token_for(live_server, owner)
    bank = await add_bank(live_server, token)
    merchant_id = (
        await call(
            live_server,
            token,
            ONBOARD,
            {
                "input": {
                    "name": "Twin Shop",
                    "mcc": "5999",
                    "country": "US",
                    "settlementMethodId": bank,
                    **BUSINESS,
                }
            },
        )
    )["merchant"]["id"]
    await approve(live_server, merchant_id)
    _, buyer_token = await customer(live_server)
    request = (
        await call(
            live_server, token, CREATE, {"input": {"merchantId": merchant_id, "amount": "10.00"}}
        )
    )["request"]
    await pay(live_server, buyer_token, request["id"])
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    results = await asyncio.gather(
        *(settlement.settle_merchant(gateway, int(merchant_id), Currency.USD) for _ in range(4))
    )
    assert len([b for b in results if b is not None]) == 1
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM settlement_batch") == 1
    assert await merchant_cents(merchant_id) == 941  # less one fee (0.29 + 0.30), once


async def test_one_scheduled_bill_run_by_two_workers_pays_once(
    live_server: LiveServer, redis: Redis
) -> None:
    _, _, merchant_id = await shop(live_server)
    async with connection() as conn:
        await conn.execute(
            "UPDATE merchant SET biller_reference_pattern = '[0-9]{4}' WHERE id = $1",
            int(merchant_id),
        )
    user = await make_user(balance="50.00")
    saved = await bills.save_biller(user.id, int(merchant_id), "1234", "")
    first_run = datetime.now(UTC) + timedelta(hours=1)
    await bills.schedule(user.id, saved.id, Money(1500, Currency.USD), first_run, "monthly")
    email = SandboxEmailProvider(redis)
    outcomes = await asyncio.gather(
        *(bills.run_due(first_run + timedelta(minutes=1), email) for _ in range(3))
    )
    # Runs that overlap may each attempt it; the run's idempotency key lets one pay.
    assert [o for run in outcomes for _, o in run].count("paid") >= 1
    assert await wallet_cents(user.id) == 3500  # paid exactly once
    (schedule,) = await bills.schedules_of(user.id)
    # Moved on by exactly one calendar month, not once per overlapping run.
    assert schedule.next_run_at == schedule.cadence.at(
        add_months(first_run.date(), 1, first_run.day)
    )


async def test_the_same_dispute_opened_twice_at_once_holds_the_money_once(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    buyer, buyer_token = await customer(live_server)
    request = (
        await call(
            live_server,
            owner_token,
            CREATE,
            {"input": {"merchantId": merchant_id, "amount": "8.00"}},
        )
    )["request"]
    sale = int((await pay(live_server, buyer_token, request["id"]))["payment"]["transactionId"])

    async def open_once() -> str:
        try:
            await protection.open_dispute(buyer.id, sale, "Not as described", timedelta(days=14))
        except protection.NotDisputable:
            return "refused"
        return "opened"

    results = await asyncio.gather(*(open_once() for _ in range(5)))
    assert sorted(results) == ["opened"] + ["refused"] * 4
    assert await merchant_cents(merchant_id) == 0
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dispute") == 1
