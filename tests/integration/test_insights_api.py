"""Categories, rules, overrides, budgets with alerts, trends and health over GraphQL."""

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.merchant_helpers import REFUND, create, customer, pay, shop
from wallet.db.engine import connection
from wallet.insights.budgets import alert_on_event
from wallet.notifications.email import SandboxEmailProvider

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

CATEGORIES = """{ transactions(first: 20) { edges { node { id type direction category } } } }"""
RULE = """mutation($p: String!, $c: SpendingCategory!) {
  addCategoryRule(pattern: $p, category: $c) {
  __typename ... on CategoryRulePayload { rule { id pattern category } }
  ... on ValidationError { fieldErrors { field code } } } }"""
CATEGORIZE = """mutation($id: ID!, $c: SpendingCategory) {
  categorizeTransaction(transactionId: $id, category: $c) {
  __typename ... on CategorizePayload { category } ... on UserError { code } } }"""
SET_BUDGET = """mutation($input: SetBudgetInput!) { setBudget(input: $input) {
  __typename
  ... on BudgetPayload { budget { category currency amount available spent remaining percent } }
  ... on ValidationError { fieldErrors { field code } } } }"""
BUDGETS = "{ budgets { category amount spent remaining percent } }"
TRENDS = """{ spendingTrends(months: 2) { start income expenses byCategory { category amount } }
  weeklySpending(weeks: 2) { start income expenses }
  financialHealth { score savingsRate bufferMonths budgetsOnTrack income expenses } }"""


async def categories_by_id(live: LiveServer, token: str) -> dict[str, Any]:
    edges = (await call(live, token, CATEGORIES))["edges"]
    return {e["node"]["id"]: e["node"]["category"] for e in edges}


async def test_categories_come_from_overrides_rules_mcc_and_kind(live_server: LiveServer) -> None:
    _, shop_token, merchant_id = await shop(live_server)  # Corner Coffee, MCC 5814
    buyer, token = await customer(live_server, "100.00")
    friend = await make_user(balance="10.00")
    coffee = (await create(live_server, shop_token, merchant_id, amount="4.50"))["request"]
    payment = (await pay(live_server, token, coffee["id"]))["payment"]["transactionId"]
    sent = (await send(live_server, token, friend.username, "10.00"))["transfer"]["id"]
    friend_token = await token_for(live_server, friend)
    back = (await send(live_server, friend_token, buyer.username, "3.00"))["transfer"]["id"]

    found = await categories_by_id(live_server, token)
    assert (found[payment], found[sent], found[back]) == ("FOOD", "TRANSFERS", "INCOME")

    # A rule beats the MCC; the user's own choice beats the rule; clearing it goes back.
    rule = await call(live_server, token, RULE, {"p": "  CORNER ", "c": "ENTERTAINMENT"})
    assert rule["rule"]["pattern"] == "corner"
    assert (await categories_by_id(live_server, token))[payment] == "ENTERTAINMENT"
    chosen = await call(live_server, token, CATEGORIZE, {"id": payment, "c": "HEALTH"})
    assert chosen["category"] == "HEALTH"
    assert (await categories_by_id(live_server, token))[payment] == "HEALTH"
    # A refund is in its payment's category.
    refund = await call(
        live_server,
        shop_token,
        REFUND,
        {
            "input": {
                "merchantId": merchant_id,
                "transactionId": payment,
                "amount": "1.50",
                "idempotencyKey": "r1",
            }
        },
    )
    refund_id = refund["refundTransactionId"]
    assert (await categories_by_id(live_server, token))[refund_id] == "HEALTH"
    cleared = await call(live_server, token, CATEGORIZE, {"id": payment, "c": None})
    assert cleared["category"] == "ENTERTAINMENT"

    # Someone else's transaction cannot be categorised; a bad rule is refused.
    other = await call(live_server, friend_token, CATEGORIZE, {"id": payment, "c": "FOOD"})
    assert other["__typename"] == "NotFound"
    empty = await call(live_server, token, RULE, {"p": "   ", "c": "FOOD"})
    assert empty["fieldErrors"] == [{"field": "pattern", "code": "INVALID"}]


async def budget_alerts(redis: Redis, transaction_id: str) -> int:
    async with connection() as conn:
        events = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'transaction.updated' "
            "AND (payload->>'transaction_id')::bigint = $1",
            int(transaction_id),
        )
    email = SandboxEmailProvider(redis)
    return sum([await alert_on_event(int(e["id"]), email=email) for e in events])


async def notices(user_id: int) -> list[str]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT title FROM notification WHERE user_id = $1 AND kind = 'budget_alert' "
            "ORDER BY id",
            user_id,
        )
    return [r["title"] for r in rows]


async def test_a_budget_alerts_at_80_and_100_percent_once_each(
    live_server: LiveServer, redis: Redis
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "100.00")
    set_food = {"input": {"category": "FOOD", "amount": "20.00"}}
    budget = await call(live_server, token, SET_BUDGET, set_food)
    assert budget["budget"]["available"] == "20.00"

    first = (await create(live_server, shop_token, merchant_id, amount="17.00"))["request"]
    paid = (await pay(live_server, token, first["id"]))["payment"]["transactionId"]
    assert await budget_alerts(redis, paid) == 1
    assert await notices(buyer.id) == ["Food budget: 80% used"]
    assert await budget_alerts(redis, paid) == 0  # a repeated job says nothing new

    second = (await create(live_server, shop_token, merchant_id, amount="5.00"))["request"]
    over = (await pay(live_server, token, second["id"]))["payment"]["transactionId"]
    assert await budget_alerts(redis, over) == 1
    assert await notices(buyer.id) == ["Food budget: 80% used", "Food budget reached"]
    mail = await SandboxEmailProvider(redis).sent_to(buyer.email)
    assert [m["subject"] for m in mail][-1] == "Food budget reached"
    status = (await call(live_server, token, BUDGETS))[0]
    assert (status["spent"], status["remaining"], status["percent"]) == ("22.00", "-2.00", 110)


async def test_bad_budgets_are_refused_with_nothing_written(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    cases = [
        ({"category": "FOOD", "amount": "-5"}, "amount"),
        ({"category": "FOOD", "amount": "0"}, "amount"),
        ({"category": "INCOME", "amount": "5"}, "category"),
        ({"category": "FOOD", "amount": "5", "alertPercents": [0]}, "alertPercents"),
        ({"category": "FOOD", "amount": "5", "currency": "XYZ"}, "currency"),
    ]
    for fields, field in cases:
        refused = await call(live_server, token, SET_BUDGET, {"input": fields})
        assert refused["__typename"] == "ValidationError", fields
        assert refused["fieldErrors"][0]["field"] == field
    assert await call(live_server, token, BUDGETS) == []


async def test_trends_and_health_sum_income_and_spending(live_server: LiveServer) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "0.00")
    friend = await make_user(balance="300.00")
    friend_token = await token_for(live_server, friend)
    await send(live_server, friend_token, buyer.username, "200.00")
    request = (await create(live_server, shop_token, merchant_id, amount="30.00"))["request"]
    await pay(live_server, token, request["id"])
    await send(live_server, token, friend.username, "20.00")

    async with live_server.client() as http:
        response = await http.post(
            "/graphql", json={"query": TRENDS}, headers={"authorization": f"Bearer {token}"}
        )
    data = response.json()["data"]
    this_month = data["spendingTrends"][-1]
    assert (this_month["income"], this_month["expenses"]) == ("200.00", "50.00")
    assert this_month["byCategory"] == [
        {"category": "FOOD", "amount": "30.00"},
        {"category": "TRANSFERS", "amount": "20.00"},
    ]
    assert data["spendingTrends"][0]["expenses"] == "0.00"
    assert data["weeklySpending"][-1]["expenses"] == "50.00"
    health = data["financialHealth"]
    # savings 75 % -> 0.5; buffer 150 / (50 / 3) = 9 months -> 0.3; no budgets -> 0.2
    assert health == {
        "score": 100,
        "savingsRate": "0.75",
        "bufferMonths": "9.00",
        "budgetsOnTrack": "1.00",
        "income": "200.00",
        "expenses": "50.00",
    }


async def test_a_fully_refunded_payment_nets_to_nothing(live_server: LiveServer) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    _, token = await customer(live_server, "40.00")
    request = (await create(live_server, shop_token, merchant_id, amount="30.00"))["request"]
    payment = (await pay(live_server, token, request["id"]))["payment"]["transactionId"]
    refund = {
        "merchantId": merchant_id,
        "transactionId": payment,
        "amount": "30.00",
        "idempotencyKey": "full",
    }
    assert (await call(live_server, shop_token, REFUND, {"input": refund}))["fullyRefunded"]
    async with live_server.client() as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ spendingTrends(months: 1) { expenses byCategory { category } } }"},
            headers={"authorization": f"Bearer {token}"},
        )
    (month,) = response.json()["data"]["spendingTrends"]
    assert month == {"expenses": "0.00", "byCategory": []}
