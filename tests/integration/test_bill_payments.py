"""Bill payments: saved billers with checked account numbers, pay now, scheduled one-off
and recurring runs with a reminder, and a clear failure when the wallet is short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, step_up, token_for
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import merchant_cents, shop
from wallet.db.engine import connection
from wallet.merchants import bills
from wallet.notifications.email import SandboxEmailProvider
from wallet.users.models import User

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

SAVE = """mutation($m: ID!, $r: String!) { saveBiller(merchantId: $m, accountReference: $r,
  nickname: "Home power") { __typename ... on SavedBillerPayload { savedBiller { id } }
  ... on ValidationError { fieldErrors { field code } } } }"""
PAY = """mutation($b: ID!, $a: String!, $k: String!) {
  payBill(savedBillerId: $b, amount: $a, idempotencyKey: $k) { __typename
  ... on BillPaidPayload { transaction { type amount merchant note } }
  ... on UserError { code } } }"""
SCHEDULE = """mutation($b: ID!, $a: String!, $at: DateTime!, $r: Recurrence!) {
  scheduleBillPayment(savedBillerId: $b, amount: $a, firstRun: $at, recurrence: $r) {
  __typename ... on BillSchedulePayload { schedule { id status } }
  ... on ValidationError { fieldErrors { field code } } } }"""


async def biller(live: LiveServer) -> str:
    _, _, merchant_id = await shop(live)
    async with connection() as conn:
        await conn.execute(
            "UPDATE merchant SET biller_reference_pattern = '[0-9]{8}' WHERE id = $1",
            int(merchant_id),
        )
    return merchant_id


async def payer_with_saved_biller(
    live: LiveServer, balance: str, reference: str
) -> tuple[str, User, str, str]:
    """A fresh biller and a user holding `balance` who saved it with `reference`:
    (merchant id, user, token, saved biller id)."""
    merchant_id = await biller(live)
    user = await make_user(balance=balance)
    token = await token_for(live, user)
    saved = (await call(live, token, SAVE, {"m": merchant_id, "r": reference}))["savedBiller"]
    return merchant_id, user, token, saved["id"]


async def test_save_a_biller_and_pay_it_once_per_key(live_server: LiveServer) -> None:
    merchant_id = await biller(live_server)
    user = await make_user(balance="100.00")
    token = await token_for(live_server, user)
    bad = await call(live_server, token, SAVE, {"m": merchant_id, "r": "12-34"})
    assert bad["fieldErrors"] == [{"field": "accountReference", "code": "INVALID"}]
    saved = (await call(live_server, token, SAVE, {"m": merchant_id, "r": "12345678"}))[
        "savedBiller"
    ]["id"]
    paid = await call(live_server, token, PAY, {"b": saved, "a": "42.10", "k": "bill-1"})
    again = await call(live_server, token, PAY, {"b": saved, "a": "42.10", "k": "bill-1"})
    assert paid == again
    assert paid["transaction"] == {
        "type": "PAYMENT",
        "amount": "42.10",
        "merchant": "Corner Coffee",
        "note": "Bill 12345678",
    }
    assert (await wallet_cents(user.id), await merchant_cents(merchant_id)) == (5790, 4210)
    other = await make_user(balance="10.00")
    stolen = await call(
        live_server, await token_for(live_server, other), PAY, {"b": saved, "a": "1.00", "k": "x"}
    )
    assert stolen["code"] == "NOT_FOUND"


async def test_scheduled_payments_remind_run_recur_and_fail_clearly(
    live_server: LiveServer, redis: Redis
) -> None:
    _, user, token, saved = await payer_with_saved_biller(live_server, "30.00", "87654321")
    start = datetime.now(UTC) + timedelta(hours=20)
    past = await call(
        live_server,
        token,
        SCHEDULE,
        {"b": saved, "a": "20.00", "at": (start - timedelta(days=2)).isoformat(), "r": "MONTHLY"},
    )
    assert past["fieldErrors"] == [{"field": "firstRun", "code": "INVALID"}]
    created = await call(
        live_server,
        token,
        SCHEDULE,
        {"b": saved, "a": "20.00", "at": start.isoformat(), "r": "MONTHLY"},
    )
    assert created["schedule"]["status"] == "ACTIVE"
    email = SandboxEmailProvider(redis)
    now = datetime.now(UTC)
    assert await bills.remind_upcoming(now, email) == 1
    assert await bills.remind_upcoming(now, email) == 0  # once per run date
    assert await bills.run_due(now, email) == []  # not due yet
    first_run = start + timedelta(minutes=1)
    assert [o for _, o in await bills.run_due(first_run, email)] == ["paid"]
    assert await bills.run_due(first_run, email) == []  # moved to next month
    assert await wallet_cents(user.id) == 1000
    second_run = start + timedelta(days=30, minutes=1)
    assert [o for _, o in await bills.run_due(second_run, email)] == ["failed"]
    (schedule,) = await bills.schedules_of(user.id)
    assert (schedule.status, schedule.last_error) == ("active", "Not enough money in your wallet")
    assert schedule.next_run_at > second_run  # tries again next month
    subjects = [m["subject"] for m in await email.sent_to(user.email)]
    assert any("tomorrow" in s for s in subjects)
    assert "A scheduled bill payment of 20.00 USD failed" in subjects
    assert await wallet_cents(user.id) == 1000


async def test_a_large_bill_needs_a_second_factor_and_a_blocked_biller_is_refused(
    live_server: LiveServer,
) -> None:
    merchant_id, user, token, saved = await payer_with_saved_biller(
        live_server, "900.00", "12345678"
    )
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    schedule = {"b": saved, "a": "600.00", "at": later, "r": "MONTHLY"}
    asked = await call(live_server, token, SCHEDULE, schedule)
    assert asked["__typename"] == "StepUpRequired"  # authorised now, paid by the worker
    asked = await call(live_server, token, PAY, {"b": saved, "a": "600.00", "k": "big-bill"})
    assert asked == {"__typename": "StepUpRequired", "code": "STEP_UP_REQUIRED"}
    assert await wallet_cents(user.id) == 90_000
    await step_up(live_server, token)
    paid = await call(live_server, token, PAY, {"b": saved, "a": "600.00", "k": "big-bill"})
    assert paid["transaction"]["amount"] == "600.00"
    assert (await call(live_server, token, SCHEDULE, schedule))["schedule"]["status"] == "ACTIVE"

    async with connection() as conn:
        owner = await conn.fetchval(
            "SELECT owner_user_id FROM merchant WHERE id = $1", int(merchant_id)
        )
        await conn.execute(
            "INSERT INTO fraud_blocklist (kind, value, reason) VALUES ('user', $1, 'fake biller')",
            str(owner),
        )
    refused = await call(live_server, token, PAY, {"b": saved, "a": "5.00", "k": "small"})
    assert refused == {"__typename": "PaymentBlocked", "code": "PAYMENT_BLOCKED"}
    assert await wallet_cents(user.id) == 30_000
