"""Money requests over GraphQL: request, pay once, decline, cancel, expire, subscribe."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer, run_live_server
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.ledger_helpers import wallet_cents
from tests.subscriptions import first_event
from wallet.config import Settings
from wallet.db.engine import connection
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import send_invite
from wallet.notifications.sms import SandboxSmsProvider
from wallet.requests.notices import notify_money_request
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
    # Asked by email, the requester does not learn the username until the payer answers.
    assert (created["status"], created["incoming"], created["payerUsername"]) == (
        "OPEN",
        False,
        None,
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
    (answered,) = await call(live_server, r_token, "{ moneyRequests { payerUsername } }")
    assert answered["payerUsername"] == payer.username
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
        f"@{requester.username} requests $2.00"
    ]
    assert [m["subject"] for m in await email.sent_to(requester.email)] == [
        f"@{payer.username} declined your request"
    ]


FULL = """mutation($input: RequestMoneyInput!) { requestMoney(input: $input) { __typename
  ... on MoneyRequestPayload { request { id amount currency note status requesterUsername
    payerUsername payerContact incoming transactionId expiresAt createdAt } }
  ... on UserError { code message } } }"""
MINE = """{ moneyRequests { id amount currency note status requesterUsername payerUsername
  payerContact incoming transactionId expiresAt createdAt } }"""
SEND_CODE = """mutation($c: ContactChannel!) { sendVerificationCode(channel: $c) {
  __typename } }"""
VERIFY = """mutation($c: ContactChannel!, $code: String!) {
  verifyContact(channel: $c, code: $code) { __typename } }"""


def without_ids(answer: dict[str, Any], contact: str) -> dict[str, Any]:
    """The answer with what must differ taken out: ids, times, the contact typed."""
    request = dict(answer.get("request") or answer)
    for key in ("id", "expiresAt", "createdAt"):
        request.pop(key, None)
    assert request.get("payerContact") == contact
    request["payerContact"] = "<contact>"
    return {**answer, "request": request} if "request" in answer else request


async def invites() -> list[dict[str, Any]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, payload FROM outbox_event WHERE topic = 'contact.invited' ORDER BY id"
        )
    return [{"id": int(r["id"]), **json.loads(r["payload"])} for r in rows]


async def test_asking_a_registered_or_an_unknown_contact_answers_the_same(
    live_server: LiveServer, redis: Redis
) -> None:
    # The review's finding 18: "No wallet is registered for ..." told who has a wallet.
    requester, bob = await make_user(), await make_user()
    token = await token_for(live_server, requester)
    pairs = [(bob.email, "nobody.here@example.com"), (bob.phone, "+14155550199")]
    for registered, unknown in pairs:
        answers = []
        for contact in (registered, unknown):
            variables = {
                "input": {
                    "payer": contact,
                    "amount": "5.00",
                    "note": "rent",
                    "idempotencyKey": uuid.uuid4().hex,
                }
            }
            answers.append(without_ids(await call(live_server, token, FULL, variables), contact))
        assert answers[0] == answers[1]
        assert answers[0]["request"]["payerUsername"] is None
    # The requester's list says no more than the answer did.
    listed = await call(live_server, token, MINE)
    assert len(listed) == 4
    assert len({str(without_ids(r, r["payerContact"])) for r in listed}) == 1

    # Expiry reads the same too: both expire, and the requester hears of each.
    expired = await expire_due_requests(datetime.now(UTC) + timedelta(days=31))
    assert len(expired) == 4
    async with connection() as conn:
        events = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'money_request.updated' "
            "AND payload->>'status' = 'expired' ORDER BY id"
        )
    email = SandboxEmailProvider(redis)
    assert [await notify_money_request(int(e["id"]), email=email) for e in events] == [1] * 4


async def test_an_unknown_contact_is_invited_and_the_request_waits_for_them(
    live_server: LiveServer, redis: Redis
) -> None:
    requester = await make_user()
    r_token = await token_for(live_server, requester)
    created = (await ask(live_server, r_token, "Kim.New@Example.com", "12.00", note="rent"))[
        "request"
    ]
    await ask(live_server, r_token, "kim.new@example.com", "3.00")  # one invite a day
    await ask(live_server, r_token, "(415) 555-0142", "1.00")
    sent = await invites()
    assert [(i["kind"], i["contact"], i["reason"]) for i in sent] == [
        ("email", "kim.new@example.com", "money_request"),
        ("phone", "+14155550142", "money_request"),
    ]
    email, sms = SandboxEmailProvider(redis), SandboxSmsProvider(redis)
    for invite in sent:
        assert await send_invite(invite["id"], email=email, sms=sms) == "sent"
    (mail,) = await email.sent_to("kim.new@example.com")
    assert mail["subject"] == "Someone asks you for money"
    assert f"@{requester.username} asks you for $12.00" in str(mail["body"])
    (text,) = await sms.sent_to("+14155550142")
    assert "asks you for $1.00" in str(text["body"])

    # Kim signs up: the requests are not hers until she proves the email is.
    kim = await make_user(email="kim.new@example.com", balance="20.00")
    k_token = await token_for(live_server, kim)
    assert await call(live_server, k_token, LIST) == []
    await call(live_server, k_token, SEND_CODE, {"c": "EMAIL"})
    code_mail = (await email.sent_to("kim.new@example.com"))[-1]
    code = re.search(r"\b(\d{6})\b", str(code_mail["body"])).group(1)  # type: ignore[union-attr]
    assert (await call(live_server, k_token, VERIFY, {"c": "EMAIL", "code": code}))[
        "__typename"
    ] == "ContactVerifiedPayload"
    mine = await call(live_server, k_token, LIST)
    assert sorted((r["amount"], r["incoming"], r["status"]) for r in mine) == [
        ("12.00", True, "OPEN"),
        ("3.00", True, "OPEN"),
    ]
    async with connection() as conn:
        event = await conn.fetchval(
            "SELECT max(id) FROM outbox_event WHERE topic = 'money_request.updated' "
            "AND (payload->>'payer_id')::bigint = $1",
            kim.id,
        )
    assert await notify_money_request(int(event), email=email) == 1  # she is told now

    paid = await pay(live_server, k_token, created["id"])
    assert paid["request"]["status"] == "PAID"
    assert await wallet_cents(requester.id) == 1200
    # Once she answered, the requester may know who she is.
    (answered,) = [r for r in await call(live_server, r_token, MINE) if r["id"] == created["id"]]
    assert (answered["payerUsername"], answered["payerContact"]) == (
        kim.username,
        "kim.new@example.com",
    )


async def test_addressing_emails_and_phones_is_limited_per_day_registered_or_not(
    settings: Settings,
) -> None:
    async with run_live_server(settings.replace(throttle={"contact_invites_per_day": 2})) as live:
        requester, bob = await make_user(), await make_user()
        token = await token_for(live, requester)
        assert (await ask(live, token, bob.email, "1.00"))["__typename"] == "MoneyRequestPayload"
        assert (await ask(live, token, "x@example.com", "1.00"))["__typename"] == (
            "MoneyRequestPayload"
        )
        for contact in (bob.phone, "y@example.com"):
            assert (await ask(live, token, contact, "1.00"))["code"] == "RATE_LIMITED"
        by_name = await ask(live, token, bob.username, "1.00")
        assert by_name["__typename"] == "MoneyRequestPayload"
