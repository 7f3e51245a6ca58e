"""Bill payments: saved billers with checked account numbers, pay now, scheduled one-off
and recurring runs with a reminder, and a clear failure when the wallet is short."""

from __future__ import annotations

import asyncio
import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, gql, step_up, token_for
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import merchant_cents, shop
from wallet.db.engine import connection
from wallet.merchants import bills
from wallet.money import Currency, Money
from wallet.notifications.email import SandboxEmailProvider
from wallet.recurrence import add_months
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
    (moved,) = await bills.schedules_of(user.id)
    # A calendar month on, same day of the month (or the month's last), same time.
    assert moved.next_run_at == moved.cadence.at(add_months(start.date(), 1, start.day))
    second_run = moved.next_run_at + timedelta(minutes=1)
    assert [o for _, o in await bills.run_due(second_run, email)] == ["failed"]
    (schedule,) = await bills.schedules_of(user.id)
    assert (schedule.status, schedule.last_error) == ("active", "Not enough money in your wallet")
    assert schedule.next_run_at > second_run  # tries again next month
    subjects = [m["subject"] for m in await email.sent_to(user.email)]
    assert any("tomorrow" in s for s in subjects)
    assert "A scheduled bill payment of $20.00 failed" in subjects
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


SCHEDULE_IN_ZONE = """mutation($b: ID!, $a: String!, $at: DateTime!, $z: String!) {
  scheduleBillPayment(savedBillerId: $b, amount: $a, firstRun: $at, recurrence: MONTHLY,
                      timeZone: $z) {
  __typename ... on BillSchedulePayload { schedule { id dayOfMonth timeZone nextRunAt } }
  ... on ValidationError { fieldErrors { field code } } } }"""
SCHEDULES = "{ billSchedules { id amount dayOfMonth nextRunAt status lastError } }"
UPDATE = """mutation($id: ID!, $a: String, $on: Date) {
  updateBillSchedule(scheduleId: $id, amount: $a, nextRunOn: $on) { __typename
  ... on BillSchedulePayload { schedule { id amount dayOfMonth nextRunAt status } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""
CANCEL = """mutation($id: ID!) { cancelBillSchedule(scheduleId: $id) { __typename
  ... on BillSchedulePayload { schedule { id status } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""
BILLERS = "{ billers { merchantId name referenceFormat } }"
SAVE_WITH_MESSAGE = """mutation($m: ID!, $r: String!) { saveBiller(merchantId: $m,
  accountReference: $r, nickname: "Home power") { __typename
  ... on SavedBillerPayload { savedBiller { id accountReference } }
  ... on ValidationError { fieldErrors { field code message } } } }"""


async def test_a_schedule_on_the_31st_is_paid_on_each_months_last_day_for_a_year(
    live_server: LiveServer, redis: Redis
) -> None:
    """The worker over a year: 12 payments on Jan 31, Feb 28 (29), Mar 31, Apr 30, ...
    Dec 31, always at 09:00 in New York (across both daylight-saving changes), each paid
    once. The old rule (every 30 days) was on Mar 2 by the second run."""
    _, user, token, saved = await payer_with_saved_biller(live_server, "200.00", "12345678")
    york = ZoneInfo("America/New_York")
    year = datetime.now(UTC).year + 1
    first = datetime(year, 1, 31, 9, tzinfo=york)
    made = await call(
        live_server,
        token,
        SCHEDULE_IN_ZONE,
        {"b": saved, "a": "10.00", "at": first.isoformat(), "z": "America/New_York"},
    )
    assert (made["schedule"]["dayOfMonth"], made["schedule"]["timeZone"]) == (
        31,
        "America/New_York",
    )
    email = SandboxEmailProvider(redis)
    paid_on = []
    for _ in range(12):
        (current,) = await call(live_server, token, SCHEDULES)
        due = datetime.fromisoformat(current["nextRunAt"])
        assert await bills.run_due(due - timedelta(minutes=1), email) == []  # not yet
        assert [o for _, o in await bills.run_due(due + timedelta(minutes=1), email)] == ["paid"]
        assert await bills.run_due(due + timedelta(minutes=2), email) == []  # paid once
        paid_on.append(due.astimezone(york))
    assert [(d.month, d.day, d.hour, d.minute) for d in paid_on] == [
        (month, calendar.monthrange(year, month)[1], 9, 0) for month in range(1, 13)
    ]
    (after,) = await call(live_server, token, SCHEDULES)
    assert datetime.fromisoformat(after["nextRunAt"]) == datetime(year + 1, 1, 31, 9, tzinfo=york)
    assert (after["status"], after["dayOfMonth"]) == ("ACTIVE", 31)
    assert await wallet_cents(user.id) == 200_00 - 12 * 10_00
    async with connection() as conn:
        payments = await conn.fetchval(
            "SELECT count(*) FROM money_transaction WHERE initiator_user_id = $1 "
            "AND type = 'payment'",
            user.id,
        )
    assert payments == 12


async def test_a_schedule_is_changed_and_cancelled_by_its_payer_only(
    live_server: LiveServer, redis: Redis
) -> None:
    _, user, token, saved = await payer_with_saved_biller(live_server, "100.00", "12345678")
    start = datetime.now(UTC) + timedelta(days=2)
    made = await call(
        live_server,
        token,
        SCHEDULE_IN_ZONE,
        {"b": saved, "a": "20.00", "at": start.isoformat(), "z": "UTC"},
    )
    schedule_id = made["schedule"]["id"]
    stranger = await token_for(live_server, await make_user(balance="5.00"))
    for attempt in (
        await call(live_server, stranger, UPDATE, {"id": schedule_id, "a": "1.00"}),
        await call(live_server, stranger, CANCEL, {"id": schedule_id}),
    ):
        assert attempt == {
            "__typename": "NotFound",
            "code": "NOT_FOUND",
            "message": "No such scheduled payment",
        }
    async with live_server.client() as http:
        anonymous = await gql(http, CANCEL, {"id": schedule_id})
    assert anonymous["data"]["cancelBillSchedule"]["code"] == "NOT_AUTHENTICATED"

    cheaper = await call(live_server, token, UPDATE, {"id": schedule_id, "a": "15.50"})
    assert cheaper["schedule"]["amount"] == "15.50"
    # Moved to the 31st of a month two months on: it then runs on the 31st (or last day).
    target = add_months(start.date(), 2, 31)
    moved = await call(live_server, token, UPDATE, {"id": schedule_id, "on": target.isoformat()})
    assert moved["schedule"]["dayOfMonth"] == target.day
    moved_at = datetime.fromisoformat(moved["schedule"]["nextRunAt"])
    assert (moved_at.date(), moved_at.time()) == (target, start.time())
    past = await call(
        live_server,
        token,
        UPDATE,
        {"id": schedule_id, "on": (datetime.now(UTC).date() - timedelta(days=1)).isoformat()},
    )
    assert past["fieldErrors"] == [{"field": "nextRunOn", "code": "INVALID"}]
    bad = await call(live_server, token, UPDATE, {"id": schedule_id, "a": "-3"})
    assert bad["__typename"] == "ValidationError"
    large = await call(live_server, token, UPDATE, {"id": schedule_id, "a": "900.00"})
    assert large["__typename"] == "StepUpRequired"
    (unchanged,) = await call(live_server, token, SCHEDULES)
    assert (unchanged["amount"], unchanged["dayOfMonth"]) == ("15.50", target.day)

    cancelled = await call(live_server, token, CANCEL, {"id": schedule_id})
    assert cancelled["schedule"]["status"] == "CANCELLED"
    for again in (
        await call(live_server, token, CANCEL, {"id": schedule_id}),
        await call(live_server, token, UPDATE, {"id": schedule_id, "a": "1.00"}),
    ):
        assert again["fieldErrors"] == [{"field": "scheduleId", "code": "NOT_ACTIVE"}]
    email = SandboxEmailProvider(redis)
    assert await bills.run_due(moved_at + timedelta(days=400), email) == []
    assert await wallet_cents(user.id) == 100_00


async def test_the_billers_account_format_is_shown_and_named_when_it_does_not_fit(
    live_server: LiveServer,
) -> None:
    merchant_id = await biller(live_server)
    user = await make_user()
    token = await token_for(live_server, user)
    listed = [b for b in await call(live_server, token, BILLERS) if b["merchantId"] == merchant_id]
    assert listed == [
        {"merchantId": merchant_id, "name": "Corner Coffee", "referenceFormat": "8 digits"}
    ]
    wrong = await call(live_server, token, SAVE_WITH_MESSAGE, {"m": merchant_id, "r": "1234567"})
    assert wrong["fieldErrors"] == [
        {
            "field": "accountReference",
            "code": "INVALID",
            "message": "Your Corner Coffee account number is 8 digits",
        }
    ]
    # As printed on a bill, in groups: the spaces are not part of the number.
    saved = await call(live_server, token, SAVE_WITH_MESSAGE, {"m": merchant_id, "r": "1234 5678"})
    assert saved["savedBiller"]["accountReference"] == "12345678"


async def test_workers_and_an_edit_at_the_same_moment_never_pay_a_date_twice(
    live_server: LiveServer, redis: Redis
) -> None:
    """Three workers run a due payment while its payer moves it to another day: the due
    date is paid at most once, in one transaction with the schedule's move, whichever
    comes first; what the payer asked for holds afterwards."""
    _, user, _, saved = await payer_with_saved_biller(live_server, "500.00", "12345678")
    email = SandboxEmailProvider(redis)
    for round_ in range(6):
        first = datetime.now(UTC) + timedelta(seconds=2)
        made = await bills.schedule(
            user.id, int(saved), Money(1000, Currency.USD), first, "monthly"
        )
        due = first + timedelta(minutes=1)
        later = (due + timedelta(days=3)).date()
        before = await wallet_cents(user.id)

        runs = [bills.run_due(due, email) for _ in range(3)]
        edit = bills.update_schedule(user.id, made.id, next_run_on=later)
        jobs = [*runs[: round_ % 3], edit, *runs[round_ % 3 :]]
        outcomes = await asyncio.gather(*jobs)
        paid = [o for run in outcomes if isinstance(run, list) for sid, o in run if sid == made.id]
        assert paid in ([], ["paid"]), paid
        assert await wallet_cents(user.id) == before - 1000 * len(paid)
        (after,) = await bills.schedules_of(user.id, made.id)
        assert after.next_run_at == after.cadence.at(later)  # the payer's day stands
        assert after.cadence.day_of_month == later.day
        assert [o for sid, o in await bills.run_due(due, email) if sid == made.id] == []
        await bills.cancel(user.id, made.id)
