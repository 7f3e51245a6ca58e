"""Bill reminders: detected from monthly payments or set by hand, sent once per due date."""

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.merchant_helpers import create, customer, pay, shop
from wallet.db.engine import connection
from wallet.insights.reminders import next_due_date, run_due_reminders
from wallet.notifications.email import SandboxEmailProvider

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

SUGGESTED = "{ suggestedBillReminders { name amount dayOfMonth source } }"
ACCEPT = """mutation { acceptSuggestedBillReminder(index: 0) {
  __typename ... on BillReminderPayload { reminder { id name nextDue } } } }"""
CREATE = """mutation($input: BillReminderInput!) { createBillReminder(input: $input) {
  __typename ... on BillReminderPayload { reminder { id name amount dayOfMonth nextDue } }
  ... on ValidationError { fieldErrors { field code } } } }"""
REMINDERS = "{ billReminders { name amount nextDue source } }"


async def backdate(transaction_id: str, moment: datetime) -> None:
    async with connection() as conn:
        await conn.execute(
            "UPDATE money_transaction SET created_at = $2 WHERE id = $1",
            int(transaction_id),
            moment,
        )


def months_ago(n: int, day: int) -> datetime:
    now = datetime.now(UTC)
    year, month = now.year, now.month - n
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, day, 12, tzinfo=UTC)


async def test_a_monthly_payee_is_suggested_and_reminded_before_it_is_due(
    live_server: LiveServer, redis: Redis
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "400.00")
    landlord = await make_user()
    for n, amount in ((3, "80.00"), (2, "84.00"), (1, "82.50")):
        request = (await create(live_server, shop_token, merchant_id, amount=amount))["request"]
        paid = (await pay(live_server, token, request["id"]))["payment"]["transactionId"]
        await backdate(paid, months_ago(n, 9))
    # Irregular amounts to a person are not a bill.
    for n, amount in ((3, "5.00"), (2, "50.00"), (1, "9.00")):
        sent = (await send(live_server, token, landlord.username, amount))["transfer"]["id"]
        await backdate(sent, months_ago(n, 2))

    suggested = await call(live_server, token, SUGGESTED)
    assert suggested == [
        {"name": "Corner Coffee", "amount": "82.50", "dayOfMonth": 9, "source": "detected"}
    ]
    accepted = (await call(live_server, token, ACCEPT))["reminder"]
    assert await call(live_server, token, SUGGESTED) == []
    due = date.fromisoformat(accepted["nextDue"])
    assert due == next_due_date(9, datetime.now(UTC).date())

    email = SandboxEmailProvider(redis)
    assert await run_due_reminders(email, today=due - timedelta(days=4)) == 0  # too early
    assert await run_due_reminders(email, today=due - timedelta(days=3)) == 1
    assert await run_due_reminders(email, today=due - timedelta(days=2)) == 0  # said once
    async with connection() as conn:
        titles = await conn.fetch(
            "SELECT title, body FROM notification WHERE user_id = $1 AND kind = 'bill_reminder'",
            buyer.id,
        )
    assert [tuple(t) for t in titles] == [
        (f"Corner Coffee is due on {due:%b} {due.day}", "About $82.50")
    ]
    # After the due date it moves a month on.
    await run_due_reminders(email, today=due + timedelta(days=1))
    (after,) = await call(live_server, token, REMINDERS)
    assert date.fromisoformat(after["nextDue"]) == next_due_date(9, due + timedelta(days=1))


async def test_a_bill_already_paid_this_month_is_not_reminded(
    live_server: LiveServer, redis: Redis
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    _, token = await customer(live_server, "300.00")
    for n in (3, 2, 1):
        request = (await create(live_server, shop_token, merchant_id, amount="20.00"))["request"]
        paid = (await pay(live_server, token, request["id"]))["payment"]["transactionId"]
        await backdate(paid, months_ago(n, 15))
    reminder = (await call(live_server, token, ACCEPT))["reminder"]
    due = date.fromisoformat(reminder["nextDue"])
    request = (await create(live_server, shop_token, merchant_id, amount="20.00"))["request"]
    paid = (await pay(live_server, token, request["id"]))["payment"]["transactionId"]
    await backdate(paid, datetime(due.year, due.month, due.day, tzinfo=UTC) - timedelta(days=5))
    assert await run_due_reminders(SandboxEmailProvider(redis), today=due - timedelta(days=1)) == 0


async def test_reminders_set_by_hand_and_refused_when_wrong(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    made = await call(
        live_server, token, CREATE, {"input": {"name": "Rent", "amount": "950", "dayOfMonth": 1}}
    )
    assert (made["reminder"]["amount"], made["reminder"]["dayOfMonth"]) == ("950.00", 1)
    for bad, field in (
        ({"dayOfMonth": 32}, "dayOfMonth"),
        ({"dayOfMonth": 0}, "dayOfMonth"),
        ({"amount": "-1"}, "amount"),
        ({"name": " "}, "name"),
        ({"remindDaysBefore": 30}, "remindDaysBefore"),
    ):
        refused = await call(
            live_server,
            token,
            CREATE,
            {"input": {"name": "Gym", "amount": "30", "dayOfMonth": 5, **bad}},
        )
        assert refused["__typename"] == "ValidationError"
        assert refused["fieldErrors"][0]["field"] == field
    assert [r["name"] for r in await call(live_server, token, REMINDERS)] == ["Rent"]


async def test_a_reminder_on_the_31st_falls_due_on_each_months_last_day(
    live_server: LiveServer, redis: Redis
) -> None:
    """Calendar months with the end-of-month rule: rent due on the 31st is due on Feb 28
    (29), Apr 30..., and back on the 31st when the month has one; never drifting."""
    user = await make_user()
    token = await token_for(live_server, user)
    made = await call(
        live_server, token, CREATE, {"input": {"name": "Rent", "amount": "950", "dayOfMonth": 31}}
    )
    assert made["reminder"]["dayOfMonth"] == 31
    email = SandboxEmailProvider(redis)
    year = datetime.now(UTC).year + 1
    await run_due_reminders(email, today=date(year, 1, 1))  # its earlier due date has passed
    for month in range(1, 13):
        due = date(year, month, calendar.monthrange(year, month)[1])
        (reminder,) = await call(live_server, token, REMINDERS)
        assert date.fromisoformat(reminder["nextDue"]) == due
        assert await run_due_reminders(email, today=due - timedelta(days=3)) == 1
        await run_due_reminders(email, today=due + timedelta(days=1))
    (after,) = await call(live_server, token, REMINDERS)
    assert date.fromisoformat(after["nextDue"]) == date(year + 1, 1, 31)
    async with connection() as conn:
        titles = await conn.fetch(
            "SELECT title FROM notification WHERE user_id = $1 AND kind = 'bill_reminder' "
            "ORDER BY id",
            user.id,
        )
    assert [t["title"] for t in titles][1:3] == [
        "Rent is due on Feb " + str(calendar.monthrange(year, 2)[1]),
        "Rent is due on Mar 31",
    ]
