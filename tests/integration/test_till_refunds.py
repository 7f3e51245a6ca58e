"""Refunds from the till (issue 18, item 1): a refund names the payment request the
till shows and gives back that request's payment and nothing else; a request no one
paid is refused; owners and refund-scoped keys refund, a cashier only with the owner's
PIN, checked by the server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, gql, token_for
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import KEY, REFUND, create, customer, merchant_cents, pay, shop
from wallet.db.engine import connection
from wallet.users.pin import set_pin

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

REFUND_REQUEST = """mutation($input: RefundPaymentRequestInput!) {
  refundPaymentRequest(input: $input) { __typename
  ... on RefundPayload { refundTransactionId amount refundedTotal fullyRefunded }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""
TILL = """query($r: String!) { merchantPaymentRequest(reference: $r) { id amount status
  sale { transactionId amount refunded status payerName requestId createdAt } } }"""
ADD_CASHIER = """mutation($m: ID!, $u: String!) {
  addMerchantStaff(merchantId: $m, username: $u, role: CASHIER) { __typename } }"""
OWNER_PIN = "1357"


def refund_of(reference: str, **fields: Any) -> dict[str, Any]:
    return {"input": {"requestId": reference, "idempotencyKey": uuid.uuid4().hex, **fields}}


async def refunds_of(payment_id: str) -> list[int]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT amount FROM money_transaction WHERE refund_of_id = $1 ORDER BY id",
            int(payment_id),
        )
    return [int(r["amount"]) for r in rows]


async def test_the_till_refunds_its_own_sale_and_nothing_of_the_customer_before(
    live_server: LiveServer,
) -> None:
    """The tester's replay: sale A ($2.00) is paid, sale B ($1.00) is made on the same
    till and not paid; a refund from B's screen must not take $1.00 of A."""
    _, owner_token, merchant_id = await shop(live_server)
    buyer, buyer_token = await customer(live_server, "20.00")
    sale_a = (await create(live_server, owner_token, merchant_id, amount="2.00"))["request"]
    paid = (await pay(live_server, buyer_token, sale_a["id"]))["payment"]
    sale_b = (await create(live_server, owner_token, merchant_id, amount="1.00"))["request"]

    refused = await call(
        live_server, owner_token, REFUND_REQUEST, refund_of(sale_b["id"], amount="1.00")
    )
    assert refused["__typename"] == "ValidationError"
    assert refused["fieldErrors"] == [{"field": "requestId", "code": "NOT_PAID"}]
    assert refused["message"] == "This sale is not paid (it is open): there is nothing to refund"
    assert await refunds_of(paid["transactionId"]) == []
    assert (await wallet_cents(buyer.id), await merchant_cents(merchant_id)) == (1800, 200)

    # What the till shows for each: B is open with no sale; A's sale names its payer.
    till_b = await call(live_server, owner_token, TILL, {"r": sale_b["id"]})
    assert (till_b["status"], till_b["sale"]) == ("OPEN", None)
    till_a = await call(live_server, owner_token, TILL, {"r": sale_a["id"]})
    sale = till_a["sale"]
    assert till_a["status"] == "PAID"
    assert {k: sale[k] for k in ("transactionId", "amount", "refunded", "payerName")} == {
        "transactionId": paid["transactionId"],
        "amount": "2.00",
        "refunded": "0.00",
        "payerName": f"@{buyer.username}",
    }
    assert sale["requestId"] == sale_a["id"] and sale["createdAt"]

    # A refunded from its own screen (the owner, by role): all that is left, once per key.
    whole = refund_of(sale_a["id"])
    done = await call(live_server, owner_token, REFUND_REQUEST, whole)
    assert (done["amount"], done["refundedTotal"], done["fullyRefunded"]) == ("2.00", "2.00", True)
    again = await call(live_server, owner_token, REFUND_REQUEST, whole)
    assert again == done
    more = await call(live_server, owner_token, REFUND_REQUEST, refund_of(sale_a["id"]))
    assert more["fieldErrors"] == [{"field": "transactionId", "code": "NOT_REFUNDABLE"}]
    assert await refunds_of(paid["transactionId"]) == [200]
    assert (await wallet_cents(buyer.id), await merchant_cents(merchant_id)) == (2000, 0)
    refunded = (await call(live_server, owner_token, TILL, {"r": sale_a["id"]}))["sale"]
    assert (refunded["refunded"], refunded["status"]) == ("2.00", "REVERSED")


async def test_a_cashier_refunds_only_with_the_owners_pin_checked_by_the_server(
    live_server: LiveServer,
) -> None:
    owner, owner_token, merchant_id = await shop(live_server)
    cashier = await make_user(pin="2468")  # a PIN of their own, not the owner's
    added = await call(
        live_server, owner_token, ADD_CASHIER, {"m": merchant_id, "u": cashier.username}
    )
    assert added["__typename"] == "StaffPayload"
    cashier_token = await token_for(live_server, cashier)
    buyer, buyer_token = await customer(live_server, "20.00")
    sale = (await create(live_server, cashier_token, merchant_id, amount="6.00"))["request"]
    paid = (await pay(live_server, buyer_token, sale["id"]))["payment"]

    async def by_cashier(**fields: Any) -> dict[str, Any]:
        return await call(
            live_server, cashier_token, REFUND_REQUEST, refund_of(sale["id"], **fields)
        )

    without = await by_cashier(amount="6.00")
    assert without["code"] == "FORBIDDEN"
    assert "owner's PIN" in without["message"]
    no_pin_yet = await by_cashier(amount="6.00", ownerPin=OWNER_PIN)
    assert no_pin_yet["fieldErrors"] == [{"field": "ownerPin", "code": "PIN_REQUIRED"}]
    await set_pin(owner.id, OWNER_PIN)
    own_pin = await by_cashier(amount="6.00", ownerPin="2468")
    assert own_pin["fieldErrors"] == [{"field": "ownerPin", "code": "WRONG_PIN"}]
    assert own_pin["message"] == "That is not the owner's PIN; 4 attempt(s) left"
    # By transaction id (the dashboard's mutation) the same rule holds.
    by_id = await call(
        live_server,
        cashier_token,
        REFUND,
        {
            "input": {
                "merchantId": merchant_id,
                "transactionId": paid["transactionId"],
                "amount": "1.00",
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
    )
    assert by_id["code"] == "FORBIDDEN"
    assert await refunds_of(paid["transactionId"]) == []
    assert await wallet_cents(buyer.id) == 1400

    approved = await by_cashier(amount="2.50", ownerPin=OWNER_PIN)
    assert (approved["amount"], approved["refundedTotal"]) == ("2.50", "2.50")
    rest = await call(
        live_server,
        cashier_token,
        REFUND,
        {
            "input": {
                "merchantId": merchant_id,
                "transactionId": paid["transactionId"],
                "amount": "3.50",
                "idempotencyKey": uuid.uuid4().hex,
                "ownerPin": OWNER_PIN,
            }
        },
    )
    assert (rest["refundedTotal"], rest["fullyRefunded"]) == ("6.00", True)
    assert await refunds_of(paid["transactionId"]) == [250, 350]
    assert (await wallet_cents(buyer.id), await merchant_cents(merchant_id)) == (2000, 0)
    # The one wrong try was counted against the owner's PIN and cleared by the right one.
    async with connection() as conn:
        failures = await conn.fetchval("SELECT pin_failures FROM app_user WHERE id = $1", owner.id)
    assert failures == 0


async def test_nobody_but_the_merchant_refunds_a_tills_sale(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, other_owner_token, _ = await shop(live_server)
    buyer, buyer_token = await customer(live_server, "20.00")
    sale = (await create(live_server, owner_token, merchant_id, amount="5.00"))["request"]
    paid = (await pay(live_server, buyer_token, sale["id"]))["payment"]
    takes_payments = (
        await call(live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_WRITE"]})
    )["key"]
    refunds = (
        await call(live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["REFUNDS_WRITE"]})
    )["key"]

    for who, token in (
        ("another merchant's owner", other_owner_token),
        ("the customer", buyer_token),
    ):
        answer = await call(live_server, token, REFUND_REQUEST, refund_of(sale["id"]))
        assert answer["code"] == "NOT_FOUND", who
        assert await call(live_server, token, TILL, {"r": sale["id"]}) is None, who
    async with live_server.client() as http:
        anonymous = await gql(http, REFUND_REQUEST, refund_of(sale["id"]))
    assert anonymous["data"]["refundPaymentRequest"]["code"] == "NOT_FOUND"
    scoped = await call(live_server, takes_payments, REFUND_REQUEST, refund_of(sale["id"]))
    assert scoped["code"] == "FORBIDDEN"
    assert await refunds_of(paid["transactionId"]) == []

    partial = await call(live_server, refunds, REFUND_REQUEST, refund_of(sale["id"], amount="0.50"))
    assert (partial["amount"], partial["fullyRefunded"]) == ("0.50", False)
    too_much = await call(
        live_server, refunds, REFUND_REQUEST, refund_of(sale["id"], amount="4.51")
    )
    assert too_much["fieldErrors"] == [{"field": "amount", "code": "EXCEEDS_PAYMENT"}]
    assert await refunds_of(paid["transactionId"]) == [50]
    assert await wallet_cents(buyer.id) == 1550
