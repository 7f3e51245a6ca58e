"""Notifications about the user's own money: the low-balance alert (fires once per dip
below the threshold), the weekly summary (idempotent per user and week), and the
payer's receipt for a merchant payment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.merchant_helpers import approve, create, customer, pay, shop
from wallet.db.engine import connection
from wallet.notifications import centre, low_balance, weekly_summary
from wallet.notifications import money as money_notifications
from wallet.notifications.email import SandboxEmailProvider

SET_ALERT = """mutation($input: SetLowBalanceAlertInput!) { setLowBalanceAlert(input: $input) {
  __typename ... on LowBalanceAlertsPayload { alerts { currency threshold armed } }
  ... on ValidationError { fieldErrors { field code } } } }"""


async def transaction_event(transaction_id: str | int) -> int:
    async with connection() as conn:
        event_id = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(transaction_id),
        )
    return int(event_id)


async def run_transaction_jobs(transaction_id: str | int, email: SandboxEmailProvider) -> int:
    """What the worker's notify_transaction job does with the event: notices, then the
    low-balance check. How many low-balance alerts fired."""
    event_id = await transaction_event(transaction_id)
    await money_notifications.notify_transaction(event_id, email=email)
    return await low_balance.check_on_event(event_id, email=email)


async def low_alerts(user_id: int) -> list[str]:
    return [n.title for n in await centre.notifications_of(user_id) if n.kind == "low_balance"]


async def test_low_balance_alert_fires_once_when_a_debit_crosses_the_threshold(
    live_server: LiveServer, redis: Redis
) -> None:
    email = SandboxEmailProvider(redis)
    alice, bob = await make_user(balance="100.00"), await make_user(balance="50.00")
    alice_token, bob_token = await token_for(live_server, alice), await token_for(live_server, bob)
    result = await call(
        live_server, alice_token, SET_ALERT, {"input": {"currency": "USD", "threshold": "20.00"}}
    )
    assert result["alerts"] == [{"currency": "USD", "threshold": "20.00", "armed": True}]

    # 100 -> 40: still above, nothing.
    sent = await send(live_server, alice_token, bob.username, "60.00")
    assert await run_transaction_jobs(sent["transfer"]["id"], email) == 0
    # 40 -> 15: crosses below 20: the alert, once.
    sent = await send(live_server, alice_token, bob.username, "25.00")
    assert await run_transaction_jobs(sent["transfer"]["id"], email) == 1
    assert await low_alerts(alice.id) == ["Your USD balance is low: $15.00"]
    # 15 -> 10 and 10 -> 5: further debits below do not repeat it.
    for _ in range(2):
        sent = await send(live_server, alice_token, bob.username, "5.00")
        assert await run_transaction_jobs(sent["transfer"]["id"], email) == 0
    assert len(await low_alerts(alice.id)) == 1
    low_mails = [m for m in await email.sent_to(alice.email) if "low" in str(m["subject"])]
    assert [m["subject"] for m in low_mails] == ["Your USD balance is low: $15.00"]
    # The job for the crossing debit run again fires nothing more.
    assert await run_transaction_jobs(sent["transfer"]["id"], email) == 0

    # Back above (5 -> 45) re-arms; the next crossing (45 -> 19) alerts again.
    back = await send(live_server, bob_token, alice.username, "40.00")
    assert await run_transaction_jobs(back["transfer"]["id"], email) == 0
    assert (await low_balance.alerts_of(alice.id))[0].armed is True
    sent = await send(live_server, alice_token, bob.username, "26.00")
    assert await run_transaction_jobs(sent["transfer"]["id"], email) == 1
    assert await low_alerts(alice.id) == [
        "Your USD balance is low: $19.00",
        "Your USD balance is low: $15.00",
    ]
    # Bob, who has no alert, was credited throughout and told nothing of the kind.
    assert await low_alerts(bob.id) == []


async def test_setting_a_threshold_already_above_the_balance_waits_for_the_next_dip(
    live_server: LiveServer, redis: Redis
) -> None:
    email = SandboxEmailProvider(redis)
    alice, bob = await make_user(balance="10.00"), await make_user()
    token = await token_for(live_server, alice)
    result = await call(
        live_server, token, SET_ALERT, {"input": {"currency": "USD", "threshold": "50.00"}}
    )
    assert result["alerts"][0]["armed"] is False
    sent = await send(live_server, token, bob.username, "1.00")
    assert await run_transaction_jobs(sent["transfer"]["id"], email) == 0
    assert await low_alerts(alice.id) == []


async def test_low_balance_thresholds_are_validated_and_removable(
    live_server: LiveServer,
) -> None:
    token = await token_for(live_server, await make_user())
    for threshold, field in (("0", "threshold"), ("1.234", "amount"), ("-5", "threshold")):
        bad = await call(
            live_server, token, SET_ALERT, {"input": {"currency": "USD", "threshold": threshold}}
        )
        assert bad["__typename"] == "ValidationError", threshold
        assert bad["fieldErrors"][0]["field"] in (field, "amount"), (threshold, bad)
    unknown = await call(
        live_server, token, SET_ALERT, {"input": {"currency": "XYZ", "threshold": "1.00"}}
    )
    assert unknown["fieldErrors"][0]["field"] == "currency"
    await call(live_server, token, SET_ALERT, {"input": {"currency": "EUR", "threshold": "5.00"}})
    removed = await call(live_server, token, SET_ALERT, {"input": {"currency": "EUR"}})
    assert removed["alerts"] == []


async def test_weekly_summary_sums_money_in_and_out_once_per_user_and_week(
    live_server: LiveServer, redis: Redis
) -> None:
    email = SandboxEmailProvider(redis)
    alice, bob = await make_user(balance="100.00"), await make_user()
    idle = await make_user()
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "12.34")
    await send(live_server, token, bob.username, "1000.00")  # refused: only 87.66 left
    await send(live_server, token, bob.username, "7.66")
    now = datetime.now(UTC) + timedelta(days=7)  # next week: this week is "last week"
    monday, start, end = weekly_summary.last_week(now)
    assert start <= datetime.now(UTC) < end and monday.weekday() == 0

    assert await weekly_summary.send_weekly_summaries(now, email=email) == 2
    assert await weekly_summary.send_weekly_summaries(now, email=email) == 0  # rerun

    [alice_summary] = [n for n in await centre.notifications_of(alice.id)]
    assert alice_summary.kind == "weekly_summary"
    # In: the 100.00 credit it started with; out: the two sends that went through.
    assert alice_summary.body == "USD: in $100.00, out $20.00"
    [bob_summary] = await centre.notifications_of(bob.id)
    assert bob_summary.body == "USD: in $20.00, out $0.00"
    assert alice_summary.target is not None and alice_summary.target.path == "/activity/budget"
    assert await centre.notifications_of(idle.id) == []
    # The week before had no movement: nobody hears about it.
    assert await weekly_summary.send_weekly_summaries(datetime.now(UTC), email=email) == 0
    assert len([m for m in await email.sent_to(alice.email) if "week" in str(m["subject"])]) == 1


async def test_the_payer_of_a_merchant_payment_gets_a_receipt(
    live_server: LiveServer, redis: Redis
) -> None:
    email = SandboxEmailProvider(redis)
    _, owner_token, merchant_id = await shop(live_server)
    await approve(live_server, merchant_id)
    buyer, buyer_token = await customer(live_server)
    request = (await create(live_server, owner_token, merchant_id, amount="4.50"))["request"]
    paid = await pay(live_server, buyer_token, request["id"])
    txid = paid["payment"]["transactionId"]

    await run_transaction_jobs(txid, email)

    [receipt] = await centre.notifications_of(buyer.id)
    assert (receipt.kind, receipt.title) == ("payment_receipt", "You paid $4.50 to Corner Coffee")
    assert receipt.target is not None and receipt.target.path == "/activity"
    assert [m["subject"] for m in await email.sent_to(buyer.email)] == [
        "You paid $4.50 to Corner Coffee"
    ]


async def test_an_alert_whose_delivery_failed_is_delivered_when_the_job_runs_again(
    live_server: LiveServer, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disarm commits before the notice is written: a crash between the two once lost
    the alert for good (a later run saw it disarmed). The same event's retry fires it."""
    email = SandboxEmailProvider(redis)
    alice, bob = await make_user(balance="30.00"), await make_user()
    token = await token_for(live_server, alice)
    await call(live_server, token, SET_ALERT, {"input": {"currency": "USD", "threshold": "20.00"}})
    sent = await send(live_server, token, bob.username, "15.00")
    event_id = await transaction_event(sent["transfer"]["id"])
    await money_notifications.notify_transaction(event_id, email=email)

    real = low_balance.deliver_notices

    async def crash(*args: object, **kwargs: object) -> int:
        raise ConnectionError("the database went away after the disarm")

    monkeypatch.setattr(low_balance, "deliver_notices", crash)
    with pytest.raises(ConnectionError):
        await low_balance.check_on_event(event_id, email=email)
    assert (await low_balance.alerts_of(alice.id))[0].armed is False
    assert await low_alerts(alice.id) == []
    monkeypatch.setattr(low_balance, "deliver_notices", real)
    assert await low_balance.check_on_event(event_id, email=email) == 1
    assert await low_balance.check_on_event(event_id, email=email) == 0  # once
    assert await low_alerts(alice.id) == ["Your USD balance is low: $15.00"]
    # Another event below the threshold still says nothing more.
    again = await send(live_server, token, bob.username, "1.00")
    assert await run_transaction_jobs(again["transfer"]["id"], email) == 0


async def test_the_monday_cron_queues_one_job_per_user_and_each_sends_one_summary(
    live_server: LiveServer, redis: Redis, redis_url: str
) -> None:
    """One job emailing every user would hit its timeout on a real user base and leave
    the rest without a summary that week: the cron only queues a job per user."""
    email = SandboxEmailProvider(redis)
    alice, bob = await make_user(balance="10.00"), await make_user()
    await send(live_server, await token_for(live_server, alice), bob.username, "4.00")
    now = datetime.now(UTC) + timedelta(days=7)
    jobs = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        assert await weekly_summary.queue_weekly_summaries(jobs, now) == 2
        await weekly_summary.queue_weekly_summaries(jobs, now)  # a second run
        queued = await jobs.queued_jobs()
    finally:
        await jobs.aclose()
    monday = weekly_summary.last_week(now)[0].isoformat()
    assert sorted((j.function, tuple(j.args)) for j in queued) == sorted(
        ("send_weekly_summary", (u.id, monday)) for u in (alice, bob)
    )
    for job in queued:
        user_id, week = job.args
        sent = await weekly_summary.send_weekly_summary(
            user_id, date.fromisoformat(week), email=email
        )
        assert sent == 1
    [summary] = await centre.notifications_of(alice.id)
    assert summary.body == "USD: in $10.00, out $4.00"
