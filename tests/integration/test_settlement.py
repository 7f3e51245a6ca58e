"""Merchant settlement: fee to revenue, payout through the gateway, failed payouts
return the money to the payable for the next batch, CSV report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_bank, call, token_for
from tests.merchant_helpers import (
    BUSINESS,
    CREATE,
    REFUND,
    approve,
    customer,
    merchant_cents,
    pay,
    verify_basic,
)
from wallet.db.engine import connection
from wallet.gateway.sandbox import SandboxGateway
from wallet.merchants import protection, settlement
from wallet.money import Currency
from wallet.payments import funding

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

ONBOARD = """mutation($input: OnboardMerchantInput!) { onboardMerchant(input: $input) {
  ... on MerchantPayload { merchant { id } } } }"""
BATCHES = """query($m: ID!) { settlementBatches(merchantId: $m) {
  id payments gross fee net payoutStatus } }"""
REPORT = "query($m: ID!, $b: ID!) { settlementReport(merchantId: $m, batchId: $b) }"
NEXT = """query($m: ID!) { nextPayouts(merchantId: $m) { currency at payments gross fee net } }"""


async def revenue_cents() -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT posted_credits - posted_debits FROM ledger_balance "
                "WHERE code = 'system:USD:fee_revenue'"
            )
        )


async def settled_shop(
    live: LiveServer, bank_account: str, *, approved: bool = True
) -> tuple[str, str]:
    """(owner token, merchant id) of a shop that settles to `bank_account`, approved by
    compliance unless `approved` is False."""
    owner = await make_user()
    await verify_basic(owner.id)
    token = await token_for(live, owner)
    bank = await add_bank(live, token, bank_account)
    created = await call(
        live,
        token,
        ONBOARD,
        {
            "input": {
                "name": "Corner Coffee",
                "mcc": "5814",
                "country": "US",
                "settlementMethodId": bank,
                **BUSINESS,
            }
        },
    )
    if approved:
        await approve(live, created["merchant"]["id"])
    return token, created["merchant"]["id"]


async def sell(
    live: LiveServer, owner_token: str, merchant_id: str, buyer_token: str, amount: str
) -> str:
    request = (
        await call(
            live, owner_token, CREATE, {"input": {"merchantId": merchant_id, "amount": amount}}
        )
    )["request"]
    return str((await pay(live, buyer_token, request["id"]))["payment"]["transactionId"])


async def two_sales_and_a_refund(live: LiveServer) -> tuple[str, str]:
    """A settling shop's 10.00 and 5.00 sales, 2.00 of the first refunded: (owner token,
    merchant id)."""
    owner_token, merchant_id = await settled_shop(live, "000123456789")
    _, buyer_token = await customer(live)
    first = await sell(live, owner_token, merchant_id, buyer_token, "10.00")
    await sell(live, owner_token, merchant_id, buyer_token, "5.00")
    refund = {"merchantId": merchant_id, "transactionId": first, "amount": "2.00"}
    await call(live, owner_token, REFUND, {"input": {**refund, "idempotencyKey": "r1"}})
    return owner_token, merchant_id


async def test_a_batch_pays_out_net_of_fees_and_reports_its_lines(
    live_server: LiveServer, redis: Redis
) -> None:
    owner_token, merchant_id = await two_sales_and_a_refund(live_server)
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    assert await settlement.settle_due(gateway, datetime.now(UTC)) != []
    # 2.9% of 15.00 = 0.435 -> 0.44 (half up), plus 2 x 0.30 fixed.
    (batch,) = await call(live_server, owner_token, BATCHES, {"m": merchant_id})
    assert (batch["payments"], batch["gross"], batch["fee"], batch["net"]) == (
        2,
        "13.00",
        "1.04",
        "11.96",
    )
    assert batch["payoutStatus"] == "PENDING"
    assert await revenue_cents() == 104
    assert await merchant_cents(merchant_id) == 1196  # held, not yet paid out
    assert await settlement.settle_due(gateway, datetime.now(UTC)) == []  # not due again
    await gateway.advance(1.1)
    await funding.deliver_sandbox_events(gateway, live_server.settings.gateway.webhook_secret)
    (batch,) = await call(live_server, owner_token, BATCHES, {"m": merchant_id})
    assert batch["payoutStatus"] == "COMPLETED"
    assert await merchant_cents(merchant_id) == 0
    report = await call(live_server, owner_token, REPORT, {"m": merchant_id, "b": batch["id"]})
    rows = list(csv.reader(io.StringIO(report)))
    assert [r[1] for r in rows[1:]] == ["payment", "payment", "refund", "gross", "fee", "net"]
    assert [r[4] for r in rows[1:]] == ["10.00", "5.00", "-2.00", "13.00", "1.04", "11.96"]


async def test_a_failed_payout_returns_the_money_for_the_next_batch(
    live_server: LiveServer, redis: Redis
) -> None:
    owner_token, merchant_id = await settled_shop(live_server, "000111111113")
    _, buyer_token = await customer(live_server)
    await sell(live_server, owner_token, merchant_id, buyer_token, "20.00")
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    (_,) = await settlement.settle_due(gateway, datetime.now(UTC))
    await gateway.advance(1.1)
    await funding.deliver_sandbox_events(gateway, live_server.settings.gateway.webhook_secret)
    (batch,) = await call(live_server, owner_token, BATCHES, {"m": merchant_id})
    assert batch["payoutStatus"] == "FAILED"
    assert await merchant_cents(merchant_id) == 2000 - 88  # fee kept, payout returned
    await sell(live_server, owner_token, merchant_id, buyer_token, "1.00")
    again = await settlement.settle_merchant(gateway, int(merchant_id), Currency.USD)
    # The returned 19.12 plus the new 1.00, less its fee (0.03 + 0.30).
    assert again is not None and (again.net.format(), again.fee.format()) == ("19.79", "0.33")


async def test_an_admin_sets_the_fee_rate_that_settlement_charges(
    live_server: LiveServer, redis: Redis
) -> None:
    owner_token, merchant_id = await settled_shop(live_server, "000123456789")
    fees = """mutation($m: ID!, $bp: Int!, $f: [FixedFeeInput!]!) {
      setMerchantFees(merchantId: $m, percentBp: $bp, fixed: $f) { __typename
      ... on UserError { code } } }"""
    variables = {"m": merchant_id, "bp": 100, "f": [{"currency": "USD", "amount": "0.05"}]}
    assert (await call(live_server, owner_token, fees, variables))["code"] == "FORBIDDEN"
    admin = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", admin.id)
    admin_token = await token_for(live_server, admin)
    bad = await call(live_server, admin_token, fees, {**variables, "bp": 10_001})
    assert bad["__typename"] == "ValidationError"
    assert (await call(live_server, admin_token, fees, variables))["__typename"] == "FeesPayload"
    _, buyer_token = await customer(live_server)
    await sell(live_server, owner_token, merchant_id, buyer_token, "20.00")
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    batch = await settlement.settle_merchant(gateway, int(merchant_id), Currency.USD)
    assert batch is not None and (batch.fee.format(), batch.net.format()) == ("0.25", "19.75")


async def test_a_sale_released_from_escrow_late_is_charged_in_the_next_batch(
    live_server: LiveServer, redis: Redis
) -> None:
    owner = await make_user()
    await verify_basic(owner.id)
    owner_token = await token_for(live_server, owner)
    bank = await add_bank(live_server, owner_token)
    merchant_id = (
        await call(
            live_server,
            owner_token,
            ONBOARD,
            {
                "input": {
                    "name": "Bazaar",
                    "mcc": "5999",
                    "country": "US",
                    "settlementMethodId": bank,
                    "marketplace": True,
                    **BUSINESS,
                }
            },
        )
    )["merchant"]["id"]
    await approve(live_server, merchant_id)
    buyer, buyer_token = await customer(live_server, "100.00")
    early = await sell(live_server, owner_token, merchant_id, buyer_token, "10.00")
    late = await sell(live_server, owner_token, merchant_id, buyer_token, "20.00")
    await protection.confirm_delivery(buyer.id, int(late))
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    first = await settlement.settle_merchant(gateway, int(merchant_id), Currency.USD)
    assert first is not None and (first.payments, first.fee.format()) == (1, "0.88")
    await protection.confirm_delivery(buyer.id, int(early))  # released after the batch
    second = await settlement.settle_merchant(gateway, int(merchant_id), Currency.USD)
    # 2.9% of 10.00 (0.29) + 0.30: the early sale's fee is charged, not skipped.
    assert second is not None and (second.payments, second.fee.format(), second.net.format()) == (
        1,
        "0.59",
        "9.41",
    )


async def test_the_payout_preview_is_what_the_next_batch_pays(
    live_server: LiveServer, redis: Redis
) -> None:
    owner_token, merchant_id = await two_sales_and_a_refund(live_server)
    before = datetime.now(UTC)
    (preview,) = await call(live_server, owner_token, NEXT, {"m": merchant_id})
    # Never settled: the next hourly run, at 45 s past the hour.
    at = datetime.fromisoformat(preview["at"])
    assert before <= at <= before + timedelta(hours=1, seconds=1)
    assert (at.minute, at.second) == (0, settlement.SETTLE_AT_SECOND)
    assert {k: preview[k] for k in ("currency", "payments", "gross", "fee", "net")} == {
        "currency": "USD",
        "payments": 2,
        "gross": "13.00",
        "fee": "1.04",
        "net": "11.96",
    }
    gateway = SandboxGateway(redis, day_seconds=live_server.settings.sandbox.day_seconds)
    assert await settlement.settle_due(gateway, datetime.now(UTC)) != []
    (batch,) = await call(live_server, owner_token, BATCHES, {"m": merchant_id})
    assert (batch["payments"], batch["gross"], batch["fee"], batch["net"]) == (
        preview["payments"],
        preview["gross"],
        preview["fee"],
        preview["net"],
    )
    # Settled: nothing waits, and the next daily batch is a day after this one.
    (after,) = await call(live_server, owner_token, NEXT, {"m": merchant_id})
    assert (after["payments"], after["net"]) == (0, "0.00")
    assert datetime.fromisoformat(after["at"]) >= before + timedelta(days=1) - timedelta(hours=1)
    # Someone else's shop, or nobody: nothing.
    stranger = await token_for(live_server, await make_user())
    assert await call(live_server, stranger, NEXT, {"m": merchant_id}) is None


def test_the_next_run_is_the_first_hourly_run_once_due() -> None:
    now = datetime(2026, 12, 6, 10, 20, tzinfo=UTC)
    assert settlement.next_run(None, "daily", now) == datetime(2026, 12, 6, 11, 0, 45, tzinfo=UTC)
    early = datetime(2026, 12, 6, 10, 0, 10, tzinfo=UTC)
    assert settlement.next_run(None, "daily", early) == datetime(2026, 12, 6, 10, 0, 45, tzinfo=UTC)
    last = datetime(2026, 12, 6, 9, 0, 50, tzinfo=UTC)
    assert settlement.next_run(last, "daily", now) == datetime(2026, 12, 7, 10, 0, 45, tzinfo=UTC)
    assert settlement.next_run(last, "weekly", now) == datetime(2026, 12, 13, 10, 0, 45, tzinfo=UTC)
