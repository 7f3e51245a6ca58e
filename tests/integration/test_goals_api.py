"""Savings goals: vault accounts funded by hand, by round-ups and weekly by the worker."""

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import create, customer, pay, shop
from wallet.db.engine import connection
from wallet.goals.service import round_up_of, round_up_on_event, run_weekly_transfers
from wallet.money import Currency, Money

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

GOAL_FIELDS = "id name currency target saved percent roundUp weeklyAmount nextWeeklyAt"
RESULT = f"""__typename
  ... on SavingsGoalPayload {{ goal {{ {GOAL_FIELDS} }} transactionId }}
  ... on UserError {{ code message }} ... on InsufficientFunds {{ available }}
  ... on ValidationError {{ fieldErrors {{ field code }} }}"""
CREATE = (
    "mutation($input: CreateSavingsGoalInput!) { "
    f"createSavingsGoal(input: $input) {{ {RESULT} }} }}"
)
MOVE = f"mutation($input: SavingsMoveInput!) {{ moveToSavingsGoal(input: $input) {{ {RESULT} }} }}"
WITHDRAW = (
    "mutation($input: SavingsMoveInput!) { "
    f"withdrawFromSavingsGoal(input: $input) {{ {RESULT} }} }}"
)
CLOSE = f"mutation($id: ID!) {{ closeSavingsGoal(goalId: $id) {{ {RESULT} }} }}"
GOALS = f"{{ savingsGoals {{ {GOAL_FIELDS} }} }}"


async def new_goal(live: LiveServer, token: str, **fields: Any) -> Any:
    return await call(
        live, token, CREATE, {"input": {"name": "Holiday", "target": "500", **fields}}
    )


async def move(
    live: LiveServer, token: str, goal_id: str, amount: str, *, key: str = "", out: bool = False
) -> Any:
    variables = {
        "input": {"goalId": goal_id, "amount": amount, "idempotencyKey": key or uuid.uuid4().hex}
    }
    return await call(live, token, WITHDRAW if out else MOVE, variables)


async def test_money_moves_into_a_goal_and_back_exactly_once(live_server: LiveServer) -> None:
    user, other = await make_user(balance="100.00"), await make_user(balance="5.00")
    token, other_token = await token_for(live_server, user), await token_for(live_server, other)
    goal = (await new_goal(live_server, token))["goal"]
    assert (goal["target"], goal["saved"], goal["percent"]) == ("500.00", "0.00", 0)

    moved = await move(live_server, token, goal["id"], "60.00", key="k1")
    assert (moved["goal"]["saved"], moved["goal"]["percent"]) == ("60.00", 12)
    assert await move(live_server, token, goal["id"], "60.00", key="k1") == moved
    assert await wallet_cents(user.id) == 4_000
    back = await move(live_server, token, goal["id"], "15.50", out=True)
    assert back["goal"]["saved"] == "44.50"
    assert await wallet_cents(user.id) == 5_550

    too_much = await move(live_server, token, goal["id"], "70.00", out=True)
    assert (too_much["__typename"], too_much["available"]) == ("InsufficientFunds", "44.50")
    broke = await move(live_server, token, goal["id"], "500.00")
    assert broke["__typename"] == "InsufficientFunds"
    negative = await move(live_server, token, goal["id"], "-1")
    assert negative["__typename"] == "ValidationError"
    theirs = await move(live_server, other_token, goal["id"], "1.00")
    assert theirs["__typename"] == "NotFound"
    assert await call(live_server, other_token, GOALS) == []

    history = await call(
        live_server,
        token,
        "{ transactions(first: 3) { edges { node { "
        "type direction amount savingsGoal runningBalance } } } }",
    )
    assert history["edges"][0]["node"] == {
        "type": "SAVINGS_WITHDRAWAL",
        "direction": "IN",
        "amount": "15.50",
        "savingsGoal": "Holiday",
        "runningBalance": "55.50",
    }

    closed = await call(live_server, token, CLOSE, {"id": goal["id"]})
    assert closed["goal"] is None
    assert await wallet_cents(user.id) == 10_000
    assert await call(live_server, token, GOALS) == []
    async with connection() as conn:
        status = await conn.fetchval(
            "SELECT a.status FROM ledger_account a JOIN savings_goal g ON g.account_id = a.id "
            "WHERE g.id = $1",
            int(goal["id"]),
        )
    assert status == "closed"


async def test_bad_goals_are_refused(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    assert (await new_goal(live_server, token, target="0"))["fieldErrors"][0]["field"] == "target"
    assert (await new_goal(live_server, token, name=" "))["fieldErrors"][0]["field"] == "name"
    past = await new_goal(live_server, token, targetDate="2020-01-01")
    assert past["fieldErrors"][0]["field"] == "targetDate"
    weekly = await new_goal(live_server, token, weeklyAmount="-5")
    assert weekly["__typename"] == "ValidationError"
    assert await call(live_server, token, GOALS) == []


def test_round_ups_go_to_the_next_whole_unit() -> None:
    assert round_up_of(Money(420, Currency.USD)) == 80
    assert round_up_of(Money(500, Currency.USD)) == 0
    assert round_up_of(Money(1_234, Currency.JPY)) == 66  # yen round to the next 100
    assert round_up_of(Money(1, Currency.EUR)) == 99


async def events_of(transaction_id: str) -> list[int]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(transaction_id),
        )
    return [int(r["id"]) for r in rows]


async def test_merchant_payments_round_up_into_the_goal_once(live_server: LiveServer) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "9.95")
    goal = (await new_goal(live_server, token, roundUp=True))["goal"]
    request = (await create(live_server, shop_token, merchant_id, amount="4.20"))["request"]
    paid = (await pay(live_server, token, request["id"]))["payment"]["transactionId"]
    (event,) = await events_of(paid)
    assert await round_up_on_event(event) == 1
    assert await round_up_on_event(event) == 0  # the worker ran it twice
    saved = (await call(live_server, token, GOALS))[0]
    assert (saved["id"], saved["saved"]) == (goal["id"], "0.80")
    assert await wallet_cents(buyer.id) == 495

    # No money for the round-up: the payment stands, the round-up is skipped.
    second = (await create(live_server, shop_token, merchant_id, amount="4.30"))["request"]
    paid = (await pay(live_server, token, second["id"]))["payment"]["transactionId"]
    (event,) = await events_of(paid)
    assert await round_up_on_event(event) == 0  # 0.70 wanted, 0.65 left
    assert (await call(live_server, token, GOALS))[0]["saved"] == "0.80"
    assert await wallet_cents(buyer.id) == 65


async def test_the_worker_moves_the_weekly_amount_once_a_week(live_server: LiveServer) -> None:
    saver, poor = await make_user(balance="25.00"), await make_user(balance="1.00")
    saver_token, poor_token = (
        await token_for(live_server, saver),
        await token_for(live_server, poor),
    )
    goal = (await new_goal(live_server, saver_token, weeklyAmount="10"))["goal"]
    await new_goal(live_server, poor_token, weeklyAmount="10")
    async with connection() as conn:
        due = await conn.fetchval("SELECT max(next_weekly_at) FROM savings_goal")
    assert await run_weekly_transfers(due + timedelta(seconds=1)) == 1  # the poor one skips
    assert await run_weekly_transfers(due + timedelta(seconds=2)) == 0  # already done
    assert await wallet_cents(saver.id) == 1_500
    after = (await call(live_server, saver_token, GOALS))[0]
    assert after["saved"] == "10.00" and after["id"] == goal["id"]
    # Three weeks later (the worker was down): one move, and the next slot is ahead of now.
    later = due + timedelta(days=21, seconds=5)
    assert await run_weekly_transfers(later) == 1
    async with connection() as conn:
        upcoming = await conn.fetch("SELECT next_weekly_at FROM savings_goal")
    assert all(later < r["next_weekly_at"] <= later + timedelta(days=7) for r in upcoming)
    assert await wallet_cents(poor.id) == 100
