"""Buyer protection: marketplace escrow released by delivery or time; disputes moved
to a hold, answered with evidence, decided by a mediator; every step on the trail."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import (
    BUSINESS,
    CREATE,
    customer,
    merchant_cents,
    pay,
    shop,
    verify_basic,
)
from wallet.db.engine import connection
from wallet.merchants import protection

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

ONBOARD = """mutation($input: OnboardMerchantInput!) { onboardMerchant(input: $input) {
  ... on MerchantPayload { merchant { id } } } }"""
CONFIRM = """mutation($p: ID!) { confirmDelivery(paymentId: $p) { __typename
  ... on UserError { code message } } }"""
OPEN = """mutation($p: ID!, $r: String!) { openDispute(paymentId: $p, reason: $r) { __typename
  ... on DisputePayload { dispute { id status amount } } ... on UserError { code message } } }"""
RESPOND = """mutation($d: ID!, $r: String!, $f: [EvidenceFile!]) {
  respondToDispute(disputeId: $d, response: $r, files: $f) { __typename
  ... on DisputePayload { dispute { status evidence } } ... on UserError { code } } }"""
DECIDE = """mutation($d: ID!, $a: String!) { decideDispute(disputeId: $d, refundAmount: $a) {
  __typename ... on DisputePayload { dispute { status refundAmount trail } }
  ... on UserError { code } } }"""


async def marketplace(live: LiveServer) -> tuple[str, str]:
    owner = await make_user()
    await verify_basic(owner.id)
    token = await token_for(live, owner)
    created = await call(
        live,
        token,
        ONBOARD,
        {
            "input": {
                "name": "Bazaar",
                "mcc": "5999",
                "country": "US",
                "marketplace": True,
                **BUSINESS,
            }
        },
    )
    return token, created["merchant"]["id"]


async def buy(live: LiveServer, owner_token: str, merchant_id: str, buyer_token: str) -> str:
    request = (
        await call(
            live, owner_token, CREATE, {"input": {"merchantId": merchant_id, "amount": "30.00"}}
        )
    )["request"]
    return str((await pay(live, buyer_token, request["id"]))["payment"]["transactionId"])


async def status_of(transaction_id: str) -> str:
    async with connection() as conn:
        return str(
            await conn.fetchval(
                "SELECT status FROM money_transaction WHERE id = $1", int(transaction_id)
            )
        )


async def test_escrow_waits_for_delivery_or_the_window(live_server: LiveServer) -> None:
    owner_token, merchant_id = await marketplace(live_server)
    buyer, buyer_token = await customer(live_server, "100.00")
    first = await buy(live_server, owner_token, merchant_id, buyer_token)
    second = await buy(live_server, owner_token, merchant_id, buyer_token)
    assert (await status_of(first), await merchant_cents(merchant_id)) == ("pending", 0)
    assert await wallet_cents(buyer.id) == 10000 - 2 * 3000  # paid, into escrow
    confirmed = await call(live_server, buyer_token, CONFIRM, {"p": first})
    assert confirmed["__typename"] == "DeliveryConfirmedPayload"
    assert (await status_of(first), await merchant_cents(merchant_id)) == ("completed", 3000)
    assert await protection.release_due(datetime.now(UTC)) == []
    assert await protection.release_due(datetime.now(UTC) + timedelta(days=15)) == [int(second)]
    assert (await status_of(second), await merchant_cents(merchant_id)) == ("completed", 6000)


async def test_dispute_to_partial_refund_with_evidence_and_a_trail(
    live_server: LiveServer,
) -> None:
    owner_token, merchant_id = await marketplace(live_server)
    buyer, buyer_token = await customer(live_server)
    sale = await buy(live_server, owner_token, merchant_id, buyer_token)
    opened = (await call(live_server, buyer_token, OPEN, {"p": sale, "r": "Arrived broken"}))[
        "dispute"
    ]
    assert (opened["status"], opened["amount"]) == ("OPEN", "30.00")
    again = await call(live_server, buyer_token, OPEN, {"p": sale, "r": "Arrived broken"})
    assert again["code"] == "VALIDATION_ERROR"
    # Nothing is released while disputed.
    assert await protection.release_due(datetime.now(UTC) + timedelta(days=30)) == []
    photo = base64.b64encode(b"\x89PNG fake photo").decode()
    answered = await call(
        live_server,
        owner_token,
        RESPOND,
        {
            "d": opened["id"],
            "r": "It left intact",
            "f": [{"filename": "dispatch.png", "contentBase64": photo}],
        },
    )
    assert answered["dispute"] == {"status": "RESPONDED", "evidence": ["dispatch.png"]}
    # Neither party may decide; a mediator does.
    assert (await call(live_server, buyer_token, DECIDE, {"d": opened["id"], "a": "30.00"}))[
        "code"
    ] == "FORBIDDEN"
    mediator = await make_user()
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET operator_role = 'mediator' WHERE id = $1", mediator.id
        )
    m_token = await token_for(live_server, mediator)
    too_much = await call(live_server, m_token, DECIDE, {"d": opened["id"], "a": "30.01"})
    assert too_much["code"] == "VALIDATION_ERROR"
    decided = (await call(live_server, m_token, DECIDE, {"d": opened["id"], "a": "10.00"}))[
        "dispute"
    ]
    assert (decided["status"], decided["refundAmount"]) == ("REFUNDED", "10.00")
    assert [step.split(":")[0] for step in decided["trail"]] == ["opened", "responded", "refunded"]
    assert (await wallet_cents(buyer.id), await merchant_cents(merchant_id)) == (3000, 2000)
    assert await status_of(sale) == "completed"


async def test_a_completed_sale_is_disputed_from_the_payable_and_released(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)  # not a marketplace
    buyer, buyer_token = await customer(live_server)
    sale = await buy(live_server, owner_token, merchant_id, buyer_token)
    assert await merchant_cents(merchant_id) == 3000
    opened = (await call(live_server, buyer_token, OPEN, {"p": sale, "r": "Never arrived"}))[
        "dispute"
    ]
    assert await merchant_cents(merchant_id) == 0  # in the dispute hold
    ops = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", ops.id)
    decided = (
        await call(
            live_server, await token_for(live_server, ops), DECIDE, {"d": opened["id"], "a": "0"}
        )
    )["dispute"]
    assert decided["status"] == "RELEASED"
    assert (await wallet_cents(buyer.id), await merchant_cents(merchant_id)) == (2000, 3000)
    other, other_token = await customer(live_server)
    stranger = await call(live_server, other_token, OPEN, {"p": sale, "r": "Not mine at all"})
    assert stranger["code"] == "VALIDATION_ERROR"
    assert await wallet_cents(other.id) == 5000
