"""Budgets that act at the moment of paying (issue 19): the review screen's impact, and a
strict budget's refusal that a confirmed retry under the same key passes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import create, customer, pay, shop
from wallet.db.engine import connection
from wallet.insights.budgets import Budget, BudgetImpact, BudgetStatus
from wallet.insights.categories import Category
from wallet.merchants import bills
from wallet.money import Currency, Money
from wallet.notifications.email import SandboxEmailProvider

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

SET_BUDGET = """mutation($input: SetBudgetInput!) { setBudget(input: $input) {
  __typename ... on BudgetPayload { budget { id category strict available } } } }"""
IMPACT = """query($r: String!, $a: String) { paymentBudgetImpact(reference: $r, amount: $a) {
  budgetId category currency spent limit amount spentAfter remainingAfter exceeds overBy
  strict } }"""
PAY = """mutation($input: PayPaymentRequestInput!) { payPaymentRequest(input: $input) {
  __typename
  ... on PayPaymentRequestPayload { payment { transactionId amount } }
  ... on BudgetWouldBeExceeded { code message budgetId category spent limit amount currency }
  ... on UserError { code message } } }"""
RULE = """mutation($p: String!, $c: SpendingCategory!) {
  addCategoryRule(pattern: $p, category: $c) { __typename } }"""
SAVE = """mutation($m: ID!, $r: String!) { saveBiller(merchantId: $m, accountReference: $r) {
  __typename ... on SavedBillerPayload { savedBiller { id } } } }"""
PAY_BILL = """mutation($b: ID!, $a: String!, $k: String!, $o: Boolean!) {
  payBill(savedBillerId: $b, amount: $a, idempotencyKey: $k, overrideBudget: $o) {
  __typename ... on BillPaidPayload { transaction { id amount } }
  ... on BudgetWouldBeExceeded { spent limit amount } ... on UserError { code } } }"""
BILL_IMPACT = """query($b: ID!, $a: String!) { billBudgetImpact(savedBillerId: $b, amount: $a) {
  category exceeds overBy strict } }"""


async def budget(live: LiveServer, token: str, amount: str, *, strict: bool) -> dict[str, Any]:
    variables = {"input": {"category": "FOOD", "amount": amount, "strict": strict}}
    return (await call(live, token, SET_BUDGET, variables))["budget"]  # type: ignore[no-any-return]


async def paying(
    live: LiveServer, token: str, reference: str, key: str, *, override: bool = False
) -> dict[str, Any]:
    variables = {
        "input": {
            "requestId": reference,
            "pin": "2468",
            "idempotencyKey": key,
            "overrideBudget": override,
        }
    }
    return await call(live, token, PAY, variables)  # type: ignore[no-any-return]


async def open_requests(reference: str) -> str:
    async with connection() as conn:
        return str(
            await conn.fetchval(
                "SELECT status FROM payment_request WHERE reference = $1", reference
            )
        )


async def test_the_review_screen_says_a_payment_would_break_a_budget(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)  # Corner Coffee, MCC 5814: FOOD
    _, token = await customer(live_server, "100.00")
    set_ = await budget(live_server, token, "20.00", strict=False)
    assert (set_["category"], set_["strict"]) == ("FOOD", False)
    first = (await create(live_server, shop_token, merchant_id, amount="15.00"))["request"]
    assert (await pay(live_server, token, first["id"]))["__typename"] == "PayPaymentRequestPayload"

    second = (await create(live_server, shop_token, merchant_id, amount="7.50"))["request"]
    impact = await call(live_server, token, IMPACT, {"r": second["id"]})
    assert impact == {
        "budgetId": set_["id"],
        "category": "FOOD",
        "currency": "USD",
        "spent": "15.00",
        "limit": "20.00",
        "amount": "7.50",
        "spentAfter": "22.50",
        "remainingAfter": "-2.50",
        "exceeds": True,
        "overBy": "2.50",
        "strict": False,
    }
    # Not strict: it warns, and the payment goes through without a second confirmation.
    paid = await pay(live_server, token, second["id"])
    assert paid["__typename"] == "PayPaymentRequestPayload"

    # A static code's impact needs the amount; within the budget it says so.
    static = (await create(live_server, shop_token, merchant_id))["request"]
    assert await call(live_server, token, IMPACT, {"r": static["id"]}) is None
    stranger = await token_for(live_server, await make_user())
    assert await call(live_server, stranger, IMPACT, {"r": static["id"], "a": "1.00"}) is None


async def test_a_strict_budget_holds_the_payment_until_confirmed_again(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "100.00")
    set_ = await budget(live_server, token, "10.00", strict=True)
    within = (await create(live_server, shop_token, merchant_id, amount="6.00"))["request"]
    assert (await pay(live_server, token, within["id"]))["__typename"] == (
        "PayPaymentRequestPayload"
    )

    over = (await create(live_server, shop_token, merchant_id, amount="5.00"))["request"]
    key = uuid.uuid4().hex
    refused = await paying(live_server, token, over["id"], key)
    assert refused == {
        "__typename": "BudgetWouldBeExceeded",
        "code": "BUDGET_WOULD_BE_EXCEEDED",
        "message": refused["message"],
        "budgetId": set_["id"],
        "category": "FOOD",
        "spent": "6.00",
        "limit": "10.00",
        "amount": "5.00",
        "currency": "USD",
    }
    assert "Food budget over by $1.00: $6.00 of $10.00 is spent" in refused["message"]
    # Nothing moved: the balance, the request and the key are as before.
    assert await wallet_cents(buyer.id) == 9400
    assert await open_requests(over["id"]) == "open"

    # The confirmed retry under the same key pays; another retry replays it.
    confirmed = await paying(live_server, token, over["id"], key, override=True)
    assert confirmed["__typename"] == "PayPaymentRequestPayload"
    again = await paying(live_server, token, over["id"], key, override=True)
    assert again["payment"]["transactionId"] == confirmed["payment"]["transactionId"]
    assert await wallet_cents(buyer.id) == 8900
    assert await open_requests(over["id"]) == "paid"


async def test_a_rule_puts_the_payment_in_the_budget_it_counts_against(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)  # MCC says FOOD
    _, token = await customer(live_server, "100.00")
    await call(
        live_server,
        token,
        SET_BUDGET,
        {"input": {"category": "ENTERTAINMENT", "amount": "3.00", "strict": True}},
    )
    request = (await create(live_server, shop_token, merchant_id, amount="4.00"))["request"]
    # No FOOD budget: nothing to say, and it pays.
    assert await call(live_server, token, IMPACT, {"r": request["id"]}) is None
    await call(live_server, token, RULE, {"p": "corner", "c": "ENTERTAINMENT"})
    impact = await call(live_server, token, IMPACT, {"r": request["id"]})
    assert (impact["category"], impact["exceeds"], impact["strict"]) == (
        "ENTERTAINMENT",
        True,
        True,
    )
    refused = await paying(live_server, token, request["id"], uuid.uuid4().hex)
    assert (refused["__typename"], refused["category"]) == (
        "BudgetWouldBeExceeded",
        "ENTERTAINMENT",
    )


async def test_two_payments_at_once_cannot_both_slip_under_a_strict_budget(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, token = await customer(live_server, "100.00")
    await budget(live_server, token, "10.00", strict=True)
    requests = [
        (await create(live_server, shop_token, merchant_id, amount="6.00"))["request"]
        for _ in range(4)
    ]
    results = await asyncio.gather(
        *[paying(live_server, token, r["id"], uuid.uuid4().hex) for r in requests]
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["BudgetWouldBeExceeded"] * 3 + ["PayPaymentRequestPayload"]
    assert await wallet_cents(buyer.id) == 9400


async def test_bills_meet_the_budget_and_a_standing_order_was_confirmed_when_made(
    live_server: LiveServer, redis: Redis
) -> None:
    _, _, merchant_id = await shop(live_server)
    async with connection() as conn:
        await conn.execute(
            "UPDATE merchant SET biller_reference_pattern = '[0-9]{8}' WHERE id = $1",
            int(merchant_id),
        )
    user = await make_user(balance="100.00")
    token = await token_for(live_server, user)
    saved = (await call(live_server, token, SAVE, {"m": merchant_id, "r": "12345678"}))[
        "savedBiller"
    ]["id"]
    await budget(live_server, token, "10.00", strict=True)
    assert await call(live_server, token, BILL_IMPACT, {"b": saved, "a": "12.00"}) == {
        "category": "FOOD",
        "exceeds": True,
        "overBy": "2.00",
        "strict": True,
    }
    refused = await call(
        live_server, token, PAY_BILL, {"b": saved, "a": "12.00", "k": "b1", "o": False}
    )
    assert refused == {
        "__typename": "BudgetWouldBeExceeded",
        "code": "BUDGET_WOULD_BE_EXCEEDED",
        "spent": "0.00",
        "limit": "10.00",
        "amount": "12.00",
    }
    assert await wallet_cents(user.id) == 10000
    paid = await call(
        live_server, token, PAY_BILL, {"b": saved, "a": "12.00", "k": "b1", "o": True}
    )
    assert paid["__typename"] == "BillPaidPayload"

    # A standing order made now runs past the strict budget: it was confirmed when made.
    run_at = datetime.now(UTC) + timedelta(hours=2)
    await bills.schedule(user.id, int(saved), Money(500, Currency.USD), run_at, "once")
    email = SandboxEmailProvider(redis)
    assert [o for _, o in await bills.run_due(run_at + timedelta(minutes=1), email)] == ["paid"]
    assert await wallet_cents(user.id) == 10000 - 1200 - 500


spent_cents = st.integers(min_value=0, max_value=10**9)


@given(limit=st.integers(1, 10**9), spent=spent_cents, amount=st.integers(1, 10**9))
def test_a_payment_exceeds_exactly_when_it_takes_spending_past_the_limit(
    limit: int, spent: int, amount: int
) -> None:
    usd = Currency.USD
    food = Budget(1, Category.FOOD, Money(limit, usd), False, (80,), datetime.now(UTC).date())
    status = BudgetStatus(food, food.starts_month, Money(limit, usd), Money(spent, usd))
    impact = BudgetImpact(status, Money(amount, usd))
    assert impact.exceeds == (spent + amount > limit)
    assert impact.over_by.amount_minor == max(spent + amount - limit, 0)
    assert impact.after.amount_minor == spent + amount


async def test_only_a_strict_budget_makes_a_payment_wait_for_its_lock(
    live_server: LiveServer,
) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    _, token = await customer(live_server, "100.00")
    set_ = await budget(live_server, token, "50.00", strict=False)
    first = (await create(live_server, shop_token, merchant_id, amount="1.00"))["request"]
    async with connection() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM budget WHERE id = $1 FOR UPDATE", int(set_["id"]))
        # A budget that only warns: the payment neither locks nor waits.
        paid = await asyncio.wait_for(pay(live_server, token, first["id"]), 10)
        assert paid["__typename"] == "PayPaymentRequestPayload"
    await budget(live_server, token, "50.00", strict=True)
    second = (await create(live_server, shop_token, merchant_id, amount="1.00"))["request"]
    async with connection() as holder:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT 1 FROM budget WHERE id = $1 FOR UPDATE", int(set_["id"]))
        paying_ = asyncio.ensure_future(pay(live_server, token, second["id"]))
        await asyncio.sleep(1.5)
        assert not paying_.done()  # a strict budget: judged after the lock's holder
        await tx.rollback()
        assert (await asyncio.wait_for(paying_, 10))["__typename"] == "PayPaymentRequestPayload"
