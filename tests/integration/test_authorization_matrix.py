"""Authorization matrix: for every query and mutation that takes the id of something
someone owns, another user, a merchant (by its API key) and an anonymous client get
NotFound / Forbidden / NotAuthenticated (or nothing), never the object, and nothing
changes. The owner's own call is checked first, so each row is known to reach a real
object."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_bank, call, gql, send, token_for
from tests.merchant_helpers import KEY, create, customer, pay, shop
from wallet.db.engine import connection

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

REFUSED = {"NotFound", "Forbidden", "NotAuthenticated", "ValidationError"}


@dataclass
class Row:
    name: str
    query: str
    variables: dict[str, Any]
    owner_sees: str  # the __typename (or "data") the owner gets


def refused(result: Any) -> bool:
    """A refusal, or an empty answer: never the object itself."""
    if result is None or result == [] or result == {"deleted": False}:
        return True
    if isinstance(result, dict) and result.get("revoked") is False:
        return True
    return isinstance(result, dict) and result.get("__typename") in REFUSED


async def owned_objects(live: LiveServer) -> dict[str, Any]:
    """One of each kind of object, all owned by one customer (and one merchant)."""
    owner_user, shop_token, merchant_id = await shop(live)
    alice, token = await customer(live, "200.00")
    friend = await make_user()
    sent = (await send(live, token, friend.username, "5.00"))["transfer"]["id"]
    request = await call(
        live,
        await token_for(live, friend),
        """mutation($input: RequestMoneyInput!) { requestMoney(input: $input) {
           ... on MoneyRequestPayload { request { id } } } }""",
        {"input": {"payer": alice.username, "amount": "3.00", "idempotencyKey": "r"}},
    )
    pos = (await create(live, shop_token, merchant_id, amount="4.00"))["request"]
    payment = (await pay(live, token, pos["id"]))["payment"]["transactionId"]
    bank = await add_bank(live, token)
    goal = await call(
        live,
        token,
        """mutation { createSavingsGoal(input: {name: "Trip", target: "100"}) {
           ... on SavingsGoalPayload { goal { id } } } }""",
    )
    group = await call(
        live,
        token,
        """mutation($m: [String!]!) { createSplitGroup(input: {name: "Flat", members: $m}) {
           ... on SplitGroupPayload { group { id } } } }""",
        {"m": [friend.username]},
    )
    budget = await call(
        live,
        token,
        """mutation { setBudget(input: {category: FOOD, amount: "50"}) {
           ... on BudgetPayload { budget { id } } } }""",
    )
    rule = await call(
        live,
        token,
        """mutation { addCategoryRule(pattern: "coffee", category: FOOD) {
           ... on CategoryRulePayload { rule { id } } } }""",
    )
    reminder = await call(
        live,
        token,
        """mutation { createBillReminder(input: {name: "Rent", amount: "9", dayOfMonth: 3}) {
           ... on BillReminderPayload { reminder { id } } } }""",
    )
    quote = await call(
        live,
        token,
        """mutation { fxQuote(input: {sell: "USD", buy: "EUR", amount: "1.00"}) {
           ... on FxQuotePayload { quote { id } } } }""",
    )
    sessions = await call(live, token, "{ sessions { id } }")
    key = await call(live, shop_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_READ"]})
    return {
        "token": token,
        "shop_token": shop_token,
        "merchant": merchant_id,
        "sent": sent,
        "request": request["request"]["id"],
        "payment": payment,
        "bank": bank,
        "goal": goal["goal"]["id"],
        "group": group["group"]["id"],
        "budget": budget["budget"]["id"],
        "rule": rule["rule"]["id"],
        "reminder": reminder["reminder"]["id"],
        "quote": quote["quote"]["id"],
        "session": sessions[0]["id"],
        "owner_user": owner_user,
        "api_key": key["key"],
    }


def rows(o: dict[str, Any]) -> list[tuple[Row, str]]:
    """(row, which token owns it): "token" for the customer, "shop_token" for the shop."""
    return [
        (
            Row(
                "transaction",
                "query($id: ID!) { transaction(id: $id) { id amount } }",
                {"id": o["sent"]},
                "data",
            ),
            "token",
        ),
        (
            Row(
                "categorizeTransaction",
                """mutation($id: ID!) {
            categorizeTransaction(transactionId: $id, category: HEALTH) { __typename } }""",
                {"id": o["sent"]},
                "CategorizePayload",
            ),
            "token",
        ),
        (
            Row(
                "declineMoneyRequest",
                """mutation($id: ID!) { declineMoneyRequest(requestId: $id) {
            __typename } }""",
                {"id": o["request"]},
                "MoneyRequestPayload",
            ),
            "token",
        ),
        (
            Row(
                "convert",
                """mutation($id: ID!, $k: String!) {
            convert(input: {quoteId: $id, idempotencyKey: $k}) { __typename } }""",
                {"id": o["quote"], "k": uuid.uuid4().hex},
                "ConvertPayload",
            ),
            "token",
        ),
        (
            Row(
                "addMoney",
                """mutation($id: ID!, $k: String!) { addMoney(input: {
            paymentMethodId: $id, amount: "1.00", idempotencyKey: $k}) { __typename } }""",
                {"id": o["bank"], "k": uuid.uuid4().hex},
                "FundingPayload",
            ),
            "token",
        ),
        (
            Row(
                "moveToSavingsGoal",
                """mutation($id: ID!, $k: String!) { moveToSavingsGoal(
            input: {goalId: $id, amount: "1.00", idempotencyKey: $k}) { __typename } }""",
                {"id": o["goal"], "k": uuid.uuid4().hex},
                "SavingsGoalPayload",
            ),
            "token",
        ),
        (
            Row(
                "addSplitExpense",
                """mutation($id: ID!) { addSplitExpense(input: {groupId: $id,
            description: "Pizza", amount: "10.00"}) { __typename } }""",
                {"id": o["group"]},
                "SplitExpensePayload",
            ),
            "token",
        ),
        (
            Row(
                "splitPayment",
                """mutation($t: ID!, $g: ID!) { splitPayment(input: {
            transactionId: $t, groupId: $g}) { __typename } }""",
                {"t": o["payment"], "g": o["group"]},
                "SplitExpensePayload",
            ),
            "token",
        ),
        (
            Row(
                "merchantPayments",
                """query($m: ID!) { merchantPayments(merchantId: $m) {
            transactionId } }""",
                {"m": o["merchant"]},
                "data",
            ),
            "shop_token",
        ),
        (
            Row(
                "merchantBalances",
                """query($m: ID!) { merchantBalances(merchantId: $m) {
            currency } }""",
                {"m": o["merchant"]},
                "data",
            ),
            "shop_token",
        ),
        (
            Row(
                "createPaymentRequest",
                """mutation($m: ID!) { createPaymentRequest(input: {
            merchantId: $m, amount: "1.00"}) { __typename } }""",
                {"m": o["merchant"]},
                "PaymentRequestPayload",
            ),
            "shop_token",
        ),
        (
            Row(
                "refundPayment",
                """mutation($m: ID!, $t: ID!, $k: String!) { refundPayment(
            input: {merchantId: $m, transactionId: $t, amount: "0.50", idempotencyKey: $k}) {
            __typename } }""",
                {"m": o["merchant"], "t": o["payment"], "k": uuid.uuid4().hex},
                "RefundPayload",
            ),
            "shop_token",
        ),
        (
            Row(
                "deleteBudget",
                "mutation($id: ID!) { deleteBudget(id: $id) { deleted } }",
                {"id": o["budget"]},
                "deleted",
            ),
            "token",
        ),
        (
            Row(
                "deleteCategoryRule",
                "mutation($id: ID!) { deleteCategoryRule(id: $id) { deleted } }",
                {"id": o["rule"]},
                "deleted",
            ),
            "token",
        ),
        (
            Row(
                "deleteBillReminder",
                "mutation($id: ID!) { deleteBillReminder(id: $id) { deleted } }",
                {"id": o["reminder"]},
                "deleted",
            ),
            "token",
        ),
        (
            Row(
                "closeSavingsGoal",
                """mutation($id: ID!) { closeSavingsGoal(goalId: $id) {
            __typename } }""",
                {"id": o["goal"]},
                "SavingsGoalPayload",
            ),
            "token",
        ),
        (
            Row(
                "revokeSession",
                "mutation($id: ID!) { revokeSession(id: $id) { revoked } }",
                {"id": o["session"]},
                "revoked",
            ),
            "token",
        ),
    ]


async def attempt(
    live: LiveServer, token: str | None, query: str, variables: dict[str, Any]
) -> Any:
    """The top-level field's value, or None when the request was refused outright."""
    async with live.client() as http:
        body = await gql(http, query, variables, token=token)
    data = body.get("data") or {}
    if body.get("errors") and not data:
        return None  # refused before resolving (e.g. "Log in first")
    (value,) = data.values()
    return value


async def test_nobody_but_the_owner_reaches_an_owned_object(live_server: LiveServer) -> None:
    o = await owned_objects(live_server)
    mallory = await make_user(balance="10.00")
    intruder = await token_for(live_server, mallory)
    other_shop_token = (await shop(live_server))[1]
    matrix = rows(o)
    for row, owner in matrix:
        outsiders = {
            "another user": intruder,
            "another merchant's staff": other_shop_token,
            "a merchant API key": o["api_key"] if owner == "token" else None,
        }
        for who, token in outsiders.items():
            if token is None:
                continue
            answer = await attempt(live_server, token, row.query, row.variables)
            assert refused(answer), f"{row.name} as {who}: {answer}"
        anonymous = await attempt(live_server, None, row.query, row.variables)
        assert refused(anonymous), f"{row.name} anonymously: {anonymous}"

    # Nothing the outsiders tried changed anything: then each owner call works.
    async with connection() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM money_transaction WHERE initiator_user_id = $1", mallory.id
            )
            == 0
        )
    for row, owner in matrix:
        answer = await call(live_server, o[owner], row.query, row.variables)
        if row.owner_sees == "data":
            assert answer, row.name
        elif row.owner_sees == "deleted":
            assert answer == {"deleted": True}, row.name
        elif row.owner_sees == "revoked":
            assert answer == {"revoked": True}, row.name
        else:
            assert answer["__typename"] == row.owner_sees, f"{row.name}: {answer}"
