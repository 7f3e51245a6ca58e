"""Money requests over GraphQL: request, pay once, decline, cancel, expire, subscribe."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.ledger_helpers import wallet_cents
from tests.subscriptions import first_event
from wallet.db.engine import connection
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import notify_money_request
from wallet.requests.service import expire_due_requests

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

RESULT = """
    __typename
    ... on MoneyRequestPayload { request { id status amount note incoming transactionId
                                           requesterUsername payerUsername } }
    ... on UserError { code message }
    ... on InsufficientFunds { available }
    ... on ValidationError { fieldErrors { field code } }
"""
REQUEST = f"mutation($input: RequestMoneyInput!) {{ requestMoney(input: $input) {{ {RESULT} }} }}"
PAY = f"mutation($input: PayMoneyRequestInput!) {{ payMoneyRequest(input: $input) {{ {RESULT} }} }}"
DECLINE = f"mutation($id: ID!) {{ declineMoneyRequest(requestId: $id) {{ {RESULT} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelMoneyRequest(requestId: $id) {{ {RESULT} }} }}"
LIST = "{ moneyRequests { id status incoming amount } }"


async def ask(live: LiveServer, token: str, payer: str, amount: str, **extra: object) -> dict:  # type: ignore[type-arg]
    variables = {
        "input": {"payer": payer, "amount": amount, "idempotencyKey": uuid.uuid4().hex, **extra}
    }
    return await call(live, token, REQUEST, variables)


async def pay(live: LiveServer, token: str, request_id: str, key: str | None = None) -> dict:  # type: ignore[type-arg]
    variables = {"input": {"requestId": request_id, "idempotencyKey": key or uuid.uuid4().hex}}
    return await call(live, token, PAY, variables)


async def test_request_then_pay_moves_the_money_once(live_server: LiveServer) -> None:
    requester, payer = await make_user(), await make_user(balance="50.00")
    r_token, p_token = await token_for(live_server, requester), await token_for(live_server, payer)
    created = (await ask(live_server, r_token, payer.email, "12.50", note="pizza"))["request"]
    assert (created["status"], created["incoming"], created["payerUsername"]) == (
        "OPEN",
        False,
        payer.username,
    )
    listed = await call(live_server, p_token, LIST)
    assert listed == [{"id": created["id"], "status": "OPEN", "incoming": True, "amount": "12.50"}]

    paid = await asyncio.gather(*(pay(live_server, p_token, created["id"]) for _ in range(5)))
    kinds = sorted(p["__typename"] for p in paid)
    assert kinds.count("MoneyRequestPayload") == 1, paid
    assert all(p.get("code") == "VALIDATION_ERROR" for p in paid if "code" in p)
    assert (await wallet_cents(requester.id), await wallet_cents(payer.id)) == (1250, 3750)
    winner = next(p for p in paid if p["__typename"] == "MoneyRequestPayload")["request"]
    assert winner["status"] == "PAID" and winner["transactionId"] is not None
    async with connection() as conn:
        note = await conn.fetchval(
            "SELECT note FROM money_transaction WHERE id = $1", int(winner["transactionId"])
        )
    assert note == "pizza"


async def test_paying_with_too_little_money_is_refused_and_the_request_stays_open(
    live_server: LiveServer,
) -> None:
    requester, payer = await make_user(), await make_user(balance="5.00")
    r_token, p_token = await token_for(live_server, requester), await token_for(live_server, payer)
    created = (await ask(live_server, r_token, payer.username, "6.00"))["request"]
    refused = await pay(live_server, p_token, created["id"])
    assert (refused["code"], refused["available"]) == ("INSUFFICIENT_FUNDS", "5.00")
    async with connection() as conn:
        assert await conn.fetchval("SELECT status FROM money_request") == "open"
        assert (
            await conn.fetchval("SELECT count(*) FROM money_transaction WHERE type = 'send'") == 0
        )


async def test_decline_and_cancel_close_requests_for_the_right_party_only(
    live_server: LiveServer,
) -> None:
    requester, payer = await make_user(), await make_user(balance="5.00")
    r_token, p_token = await token_for(live_server, requester), await token_for(live_server, payer)
    first = (await ask(live_server, r_token, payer.username, "1.00"))["request"]
    second = (await ask(live_server, r_token, payer.username, "2.00"))["request"]
    # The requester cannot decline, the payer cannot cancel.
    assert (await call(live_server, r_token, DECLINE, {"id": first["id"]}))["code"] == "NOT_FOUND"
    assert (await call(live_server, p_token, CANCEL, {"id": second["id"]}))["code"] == "NOT_FOUND"
    declined = await call(live_server, p_token, DECLINE, {"id": first["id"]})
    cancelled = await call(live_server, r_token, CANCEL, {"id": second["id"]})
    assert (declined["request"]["status"], cancelled["request"]["status"]) == (
        "DECLINED",
        "CANCELLED",
    )
    again = await pay(live_server, p_token, first["id"])
    assert again["fieldErrors"] == [{"field": "requestId", "code": "DECLINED"}]
    assert await wallet_cents(payer.id) == 500


async def test_expired_requests_cannot_be_paid(live_server: LiveServer) -> None:
    requester, payer = await make_user(), await make_user(balance="5.00")
    r_token, p_token = await token_for(live_server, requester), await token_for(live_server, payer)
    created = (await ask(live_server, r_token, payer.username, "1.00", expiresInDays=1))["request"]
    assert await expire_due_requests(datetime.now(UTC) + timedelta(days=2)) == [int(created["id"])]
    refused = await pay(live_server, p_token, created["id"])
    assert refused["fieldErrors"] == [{"field": "requestId", "code": "EXPIRED"}]
    assert await wallet_cents(payer.id) == 500


async def test_bad_requests_are_typed_errors_with_nothing_written(live_server: LiveServer) -> None:
    requester = await make_user()
    token = await token_for(live_server, requester)
    cases = [
        (requester.username, "1.00", {}, "recipient"),
        ("@nobody_here", "1.00", {}, None),
        ("not a contact!", "1.00", {}, "recipient"),
        ("@someone", "0", {}, "amount"),
        ("@someone", "1.00", {"expiresInDays": 365}, "expiresInDays"),
        ("@someone", "1.00", {"currency": "ABC"}, "currency"),
    ]
    for payer, amount, extra, field in cases:
        result = await ask(live_server, token, payer, amount, **extra)
        if field is None:
            assert result["code"] == "NOT_FOUND"
        else:
            assert result["fieldErrors"][0]["field"] == field, (payer, result)
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM money_request") == 0


async def test_money_request_received_is_pushed_to_the_payer(live_server: LiveServer) -> None:
    requester, payer = await make_user(), await make_user()
    r_token, p_token = await token_for(live_server, requester), await token_for(live_server, payer)
    query = "subscription { moneyRequestReceived { amount note requesterUsername incoming } }"
    data = await first_event(
        live_server,
        p_token,
        query,
        lambda: ask(live_server, r_token, payer.username, "3.00", note="tickets"),
    )
    assert data["moneyRequestReceived"] == {
        "amount": "3.00",
        "note": "tickets",
        "requesterUsername": requester.username,
        "incoming": True,
    }


async def test_the_payer_is_notified_of_a_request_and_the_requester_of_the_answer(
    live_server: LiveServer, redis: Redis
) -> None:
    requester, payer = await make_user(), await make_user(balance="5.00")
    r_token, p_token = await token_for(live_server, requester), await token_for(live_server, payer)
    created = (await ask(live_server, r_token, payer.username, "2.00", note="snacks"))["request"]
    await call(live_server, p_token, DECLINE, {"id": created["id"]})
    email = SandboxEmailProvider(redis)
    async with connection() as conn:
        events = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'money_request.updated' ORDER BY id"
        )
    for event in events:
        assert await notify_money_request(int(event["id"]), email=email) == 1
        assert await notify_money_request(int(event["id"]), email=email) == 0  # rerun
    assert [m["subject"] for m in await email.sent_to(payer.email)] == [
        f"@{requester.username} requests 2.00 USD"
    ]
    assert [m["subject"] for m in await email.sent_to(requester.email)] == [
        f"@{payer.username} declined your request"
    ]
