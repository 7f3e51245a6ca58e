"""Merchants over GraphQL: onboarding, API keys, payment requests with QR/NFC, paying
with the PIN, refunds, the POS subscription, and concurrent customers."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import (
    KEY,
    REFUND,
    SCAN,
    create,
    customer,
    merchant_cents,
    pay,
    shop,
)
from tests.subscriptions import first_event
from wallet.commands.actor import Actor
from wallet.db.engine import connection
from wallet.ledger.errors import InsufficientFunds
from wallet.merchants import checkout, emvco
from wallet.merchants.errors import PaymentRequestNotPayable
from wallet.money import Currency, Money
from wallet.users.models import User

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def test_a_qr_request_is_paid_once_with_the_pin_and_the_pos_hears_it(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    buyer, buyer_token = await customer(live_server)
    created = (
        await create(
            live_server,
            owner_token,
            merchant_id,
            amount="12.50",
            orderId="ORDER-1",
            description="Flat white",
        )
    )["request"]
    payload = created["qrPayload"]
    qr = emvco.decode(payload)
    assert (qr.reference, qr.amount.format() if qr.amount else None, qr.order_id) == (
        created["id"],
        "12.50",
        "ORDER-1",
    )
    assert bytes.fromhex(created["ndefRecord"])[3:4] == b"U"
    staff = {"authorization": f"Bearer {owner_token}"}
    async with live_server.client() as http:
        png = await http.get(f"/merchant/payment-requests/{created['id']}/qr.png", headers=staff)
        svg = await http.get(f"/merchant/payment-requests/{created['id']}/qr.svg", headers=staff)
    assert (png.headers["content-type"], svg.headers["content-type"]) == (
        "image/png",
        "image/svg+xml",
    )
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert decoded.text == payload
    scanned = await call(live_server, buyer_token, SCAN, {"p": payload})
    assert scanned == {
        "id": created["id"],
        "merchantName": "Corner Coffee",
        "amount": "12.50",
        "description": "Flat white",
    }

    query = f'subscription {{ paymentRequestUpdated(requestId: "{created["id"]}") {{ status }} }}'
    paid: dict[str, Any] = {}

    async def buy() -> None:
        paid.update(await pay(live_server, buyer_token, created["id"]))

    pos = await first_event(live_server, owner_token, query, buy)
    assert pos["paymentRequestUpdated"]["status"] == "PAID"
    assert paid["payment"]["merchantName"] == "Corner Coffee"
    assert (await wallet_cents(buyer.id), await merchant_cents(merchant_id)) == (3750, 1250)
    again = await pay(live_server, buyer_token, created["id"])
    assert again["fieldErrors"] == [{"field": "requestId", "code": "PAID"}]
    assert await wallet_cents(buyer.id) == 3750


async def test_refunds_are_partial_or_full_and_never_exceed_the_payment(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    buyer, buyer_token = await customer(live_server)
    request = (await create(live_server, owner_token, merchant_id, amount="20.00"))["request"]
    txn = (await pay(live_server, buyer_token, request["id"]))["payment"]["transactionId"]

    def refund(amount: str, key: str | None = None) -> Any:
        return call(
            live_server,
            owner_token,
            REFUND,
            {
                "input": {
                    "merchantId": merchant_id,
                    "transactionId": txn,
                    "amount": amount,
                    "idempotencyKey": key or uuid.uuid4().hex,
                }
            },
        )

    first = await refund("5.00", key="refund-1")
    assert (first["refundedTotal"], first["fullyRefunded"]) == ("5.00", False)
    assert (await refund("5.00", key="refund-1"))["refundTransactionId"] == first[
        "refundTransactionId"
    ]
    attempts = await asyncio.gather(*(refund("4.00") for _ in range(8)))
    accepted = [a for a in attempts if a["__typename"] == "RefundPayload"]
    assert len(accepted) == 3  # 5 + 3 * 4 = 17; a fourth would pass 20
    assert all(
        a["fieldErrors"] == [{"field": "amount", "code": "EXCEEDS_PAYMENT"}]
        for a in attempts
        if a["__typename"] != "RefundPayload"
    )
    last = await refund("3.00")
    assert (last["refundedTotal"], last["fullyRefunded"]) == ("20.00", True)
    assert (await refund("0.01"))["fieldErrors"][0]["code"] == "NOT_REFUNDABLE"
    assert (await wallet_cents(buyer.id), await merchant_cents(merchant_id)) == (5000, 0)
    async with connection() as conn:
        status = await conn.fetchval("SELECT status FROM money_transaction WHERE id = $1", int(txn))
    assert status == "reversed"


async def test_static_code_api_keys_and_refused_payments_write_nothing(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, other_token, other_merchant = await shop(live_server)
    buyer, buyer_token = await customer(live_server, "10.00")
    key = (
        await call(live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_WRITE"]})
    )["key"]
    static = (await create(live_server, key, merchant_id))["request"]
    assert static["amount"] is None and emvco.decode(static["qrPayload"]).dynamic is False
    # The key is scoped: it can take payments but not refund, and only for its merchant.
    assert (await create(live_server, key, other_merchant, amount="1.00"))["code"] == "NOT_FOUND"
    dynamic = (
        await create(live_server, key, merchant_id, amount="3.00", currency="USD", orderId="A1")
    )["request"]
    duplicate = await create(live_server, key, merchant_id, amount="3.00", orderId="A1")
    assert duplicate["fieldErrors"] == [{"field": "orderId", "code": "DUPLICATE"}]
    async with connection() as conn:
        before = await conn.fetchval("SELECT count(*) FROM money_transaction")
    refusals = [
        (await pay(live_server, buyer_token, static["id"]), "amount", "MISMATCH"),
        (await pay(live_server, buyer_token, dynamic["id"], amount="2.00"), "amount", "MISMATCH"),
        (await pay(live_server, buyer_token, dynamic["id"], pin="1111"), "pin", "WRONG_PIN"),
        (await pay(live_server, buyer_token, static["id"], amount="11.00"), None, None),
        (await pay(live_server, buyer_token, static["id"], amount="-1"), "amount", "INVALID"),
    ]
    for result, field, code in refusals:
        if field is None:
            assert result["code"] == "INSUFFICIENT_FUNDS"
        else:
            assert result["fieldErrors"] == [{"field": field, "code": code}], result
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM money_transaction") == before
    ok = await pay(live_server, buyer_token, static["id"], amount="4.00")
    assert ok["payment"]["amount"] == "4.00"
    again = await pay(live_server, buyer_token, static["id"], amount="1.00")
    assert again["payment"]["amount"] == "1.00"  # a static code is paid many times
    refuse = await call(
        live_server,
        key,
        REFUND,
        {
            "input": {
                "merchantId": merchant_id,
                "transactionId": ok["payment"]["transactionId"],
                "amount": "1.00",
                "idempotencyKey": "k",
            }
        },
    )
    assert refuse["code"] == "FORBIDDEN"
    other_refund = await call(
        live_server,
        other_token,
        REFUND,
        {
            "input": {
                "merchantId": other_merchant,
                "transactionId": ok["payment"]["transactionId"],
                "amount": "1.00",
                "idempotencyKey": "k",
            }
        },
    )
    assert other_refund["fieldErrors"][0]["code"] == "NOT_REFUNDABLE"
    assert await wallet_cents(buyer.id) == 500


async def test_five_wrong_pins_lock_payments(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    request = (await create(live_server, owner_token, merchant_id, amount="1.00"))["request"]
    results = [await pay(live_server, buyer_token, request["id"], pin="0000") for _ in range(5)]
    assert [r["__typename"] for r in results] == ["ValidationError"] * 4 + ["RateLimited"]
    locked = await pay(live_server, buyer_token, request["id"])  # the right PIN, too late
    assert locked["code"] == "RATE_LIMITED"


async def test_200_customers_paying_one_merchant_at_once(live_server: LiveServer) -> None:
    """Through the service layer (the PIN's argon2 would dominate over HTTP)."""
    _, owner_token, merchant_id = await shop(live_server)
    buyers = [await make_user(balance="2.00") for _ in range(200)]
    static = (await create(live_server, owner_token, merchant_id))["request"]

    async def buy(user: User, cents: int) -> str:
        try:
            await checkout.pay_request(
                Actor.stepped_up_user(user.id),
                checkout.PayRequest(static["id"], Money(cents, Currency.USD)),
                uuid.uuid4().hex,
            )
        except InsufficientFunds:
            return "refused"
        return "paid"

    # Each customer tries 1.50 twice at once: exactly one of the two can succeed.
    results = await asyncio.gather(*(buy(u, 150) for u in buyers for _ in range(2)))
    assert results.count("paid") == 200 and results.count("refused") == 200
    assert await merchant_cents(merchant_id) == 200 * 150
    assert {await wallet_cents(u.id) for u in buyers} == {50}


async def test_a_dynamic_request_paid_from_ten_places_at_once_is_paid_once(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    buyers = [await make_user(balance="10.00") for _ in range(10)]
    request = (await create(live_server, owner_token, merchant_id, amount="3.00"))["request"]

    async def attempt(user: User) -> str:
        try:
            await checkout.pay_request(
                Actor.stepped_up_user(user.id),
                checkout.PayRequest(request["id"], None),
                uuid.uuid4().hex,
            )
        except PaymentRequestNotPayable as exc:
            return f"refused: {exc.status}"
        return "charged"

    results = await asyncio.gather(*(attempt(u) for u in buyers))
    assert sorted(results) == ["charged"] + ["refused: paid"] * 9
    assert await merchant_cents(merchant_id) == 300
