"""Merchant administration: staff roles, revoking API keys, balances; checkout edges:
expired requests, wrong currency, return URLs."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.merchant_helpers import CREATE, KEY, REFUND, create, customer, pay, shop
from wallet.commands.actor import Actor
from wallet.db.engine import connection
from wallet.merchants import checkout
from wallet.merchants.errors import AmountMismatch
from wallet.money import Currency, Money

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

ADD_STAFF = """mutation($m: ID!, $u: String!, $r: StaffRole!) {
  addMerchantStaff(merchantId: $m, username: $u, role: $r) { __typename
  ... on StaffPayload { username role } ... on UserError { code } } }"""
PAYMENTS = """query($m: ID!) { merchantPayments(merchantId: $m) {
  transactionId amount refunded status orderId } }"""
REVOKE = """mutation($m: ID!, $k: ID!) { revokeMerchantApiKey(merchantId: $m, keyId: $k) {
  __typename ... on UserError { code } } }"""
BALANCES = (
    """query($m: ID!) { merchantBalances(merchantId: $m) { currency available payingOut } }"""
)


async def test_a_cashier_takes_payments_but_cannot_refund_or_issue_keys(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    cashier = await make_user()
    added = await call(
        live_server,
        owner_token,
        ADD_STAFF,
        {"m": merchant_id, "u": "@" + cashier.username, "r": "CASHIER"},
    )
    assert added == {"__typename": "StaffPayload", "username": cashier.username, "role": "CASHIER"}
    c_token = await token_for(live_server, cashier)
    assert (
        await call(
            live_server, c_token, ADD_STAFF, {"m": merchant_id, "u": cashier.username, "r": "OWNER"}
        )
    )["code"] == ("FORBIDDEN")
    _, buyer_token = await customer(live_server)
    request = (await create(live_server, c_token, merchant_id, amount="4.00"))["request"]
    payment = (await pay(live_server, buyer_token, request["id"]))["payment"]
    refund = await call(
        live_server,
        c_token,
        REFUND,
        {
            "input": {
                "merchantId": merchant_id,
                "transactionId": payment["transactionId"],
                "amount": "1.00",
                "idempotencyKey": "k1",
            }
        },
    )
    assert refund["code"] == "FORBIDDEN"
    key = await call(live_server, c_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_READ"]})
    assert key["code"] == "FORBIDDEN"
    balances = await call(live_server, c_token, BALANCES, {"m": merchant_id})
    assert balances == [{"currency": "USD", "available": "4.00", "payingOut": "0.00"}]
    stranger = await call(
        live_server, await token_for(live_server, await make_user()), BALANCES, {"m": merchant_id}
    )
    assert stranger is None


async def test_a_revoked_key_stops_working_at_once(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    issued = await call(
        live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_WRITE"]}
    )
    assert (await create(live_server, issued["key"], merchant_id, amount="1.00"))[
        "__typename"
    ] == "PaymentRequestPayload"
    async with connection() as conn:
        key_id = await conn.fetchval("SELECT id FROM merchant_api_key")
        stored = await conn.fetchval("SELECT secret_hash FROM merchant_api_key")
    assert issued["key"].split("_", 2)[2] not in stored  # only a hash is kept
    revoked = await call(live_server, owner_token, REVOKE, {"m": merchant_id, "k": key_id})
    assert revoked["__typename"] == "ApiKeyRevokedPayload"
    assert (await create(live_server, issued["key"], merchant_id, amount="1.00"))["code"] == (
        "NOT_FOUND"
    )
    forged = issued["key"][:-3] + "abc"
    assert (await create(live_server, forged, merchant_id, amount="1.00"))["code"] == "NOT_FOUND"


async def test_expired_requests_wrong_currency_and_return_urls(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    buyer, buyer_token = await customer(live_server)
    request = (
        await create(live_server, owner_token, merchant_id, amount="2.00", expiresInMinutes=1)
    )["request"]
    async with connection() as conn:
        await conn.execute(
            "UPDATE payment_request SET expires_at = now() - interval '1 second' "
            "WHERE reference = $1",
            request["id"],
        )
    expired = await pay(live_server, buyer_token, request["id"])
    assert expired["fieldErrors"] == [{"field": "requestId", "code": "EXPIRED"}]
    euro_code = (await create(live_server, owner_token, merchant_id, currency="EUR"))["request"]
    wrong = await pay(live_server, buyer_token, euro_code["id"], amount="1.00")
    assert wrong["code"] == "INSUFFICIENT_FUNDS"  # no EUR balance: nothing to pay with
    bad_url = await create(
        live_server, owner_token, merchant_id, amount="1.00", returnUrl="javascript:alert(1)"
    )
    assert bad_url["fieldErrors"] == [{"field": "returnUrl", "code": "INVALID"}]
    checkout = await call(
        live_server,
        owner_token,
        CREATE.replace("merchantName", "merchantName returnUrl"),
        {
            "input": {
                "merchantId": merchant_id,
                "amount": "1.00",
                "returnUrl": "https://shop.example/thanks",
            }
        },
    )
    assert checkout["request"]["returnUrl"] == "https://shop.example/thanks"
    async with connection() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM money_transaction WHERE initiator_user_id = $1 "
                "AND type = 'payment'",
                buyer.id,
            )
            == 0
        )


async def test_payments_list_shows_each_sale_and_what_was_refunded(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    request = (await create(live_server, owner_token, merchant_id, amount="9.00", orderId="L-1"))[
        "request"
    ]
    payment = (await pay(live_server, buyer_token, request["id"]))["payment"]
    await call(
        live_server,
        owner_token,
        REFUND,
        {
            "input": {
                "merchantId": merchant_id,
                "transactionId": payment["transactionId"],
                "amount": "2.50",
                "idempotencyKey": "r",
            }
        },
    )
    listed = await call(live_server, owner_token, PAYMENTS, {"m": merchant_id})
    assert listed == [
        {
            "transactionId": payment["transactionId"],
            "amount": "9.00",
            "refunded": "2.50",
            "status": "COMPLETED",
            "orderId": "L-1",
        }
    ]
    outsider = await token_for(live_server, await make_user())
    assert await call(live_server, outsider, PAYMENTS, {"m": merchant_id}) is None


async def test_currency_refusals_write_nothing(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    buyer, _ = await customer(live_server)
    unknown = await create(live_server, owner_token, merchant_id, amount="1.00", currency="XYZ")
    assert unknown["fieldErrors"] == [{"field": "currency", "code": "INVALID"}]
    static = (await create(live_server, owner_token, merchant_id))["request"]
    with pytest.raises(AmountMismatch, match="takes USD"):
        await checkout.pay_request(
            Actor.stepped_up_user(buyer.id),
            checkout.PayRequest(static["id"], Money(100, Currency.EUR)),
            "eur-1",
        )
    async with connection() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM money_transaction WHERE type = 'payment'")
            == 0
        )
