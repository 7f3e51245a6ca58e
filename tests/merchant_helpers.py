"""Merchant helpers for tests: a shop, a customer with a PIN, requests and payments."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import STEP_UP_PIN, call, token_for
from wallet.db.engine import connection
from wallet.users.models import User

ONBOARD = """mutation($input: OnboardMerchantInput!) { onboardMerchant(input: $input) {
  __typename ... on MerchantPayload { merchant { id name role } }
  ... on ValidationError { fieldErrors { field code } } } }"""
CREATE = """mutation($input: CreatePaymentRequestInput!) { createPaymentRequest(input: $input) {
  __typename
  ... on PaymentRequestPayload { request { id amount currency orderId status qrPayload
                                           ndefRecord payUrl merchantName } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""
PAY = """mutation($input: PayPaymentRequestInput!) { payPaymentRequest(input: $input) {
  __typename
  ... on PayPaymentRequestPayload { payment { transactionId amount merchantName orderId } }
  ... on UserError { code message } ... on InsufficientFunds { available }
  ... on ValidationError { fieldErrors { field code } } } }"""
REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  __typename
  ... on RefundPayload { refundTransactionId amount refundedTotal fullyRefunded }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""
SET_PIN = "mutation($pin: String!) { setTransactionPin(pin: $pin) { __typename } }"
KEY = """mutation($m: ID!, $scopes: [ApiScope!]!) {
  createMerchantApiKey(merchantId: $m, label: "till server", scopes: $scopes) {
  __typename ... on ApiKeyPayload { key prefix } ... on UserError { code } } }"""
SCAN = "query($p: String!) { scanPaymentQr(payload: $p) { id amount merchantName status } }"


async def merchant_cents(merchant_id: str) -> int:
    async with connection() as conn:
        value = await conn.fetchval(
            "SELECT posted_credits - posted_debits FROM ledger_balance "
            "WHERE owner_type = 'merchant' AND owner_id = $1 AND currency = 'USD'",
            int(merchant_id),
        )
    return int(value or 0)


async def shop(live: LiveServer) -> tuple[User, str, str]:
    """(owner, owner token, merchant id) of a new coffee shop."""
    owner = await make_user()
    token = await token_for(live, owner)
    result = await call(
        live,
        token,
        ONBOARD,
        {"input": {"name": "Corner Coffee", "mcc": "5814", "country": "US", "city": "SF"}},
    )
    assert result["merchant"]["role"] == "OWNER"
    return owner, token, result["merchant"]["id"]


async def customer(live: LiveServer, balance: str = "50.00") -> tuple[User, str]:
    user = await make_user(balance=balance, pin=STEP_UP_PIN)
    return user, await token_for(live, user)


async def create(live: LiveServer, token: str, merchant_id: str, **fields: Any) -> dict:  # type: ignore[type-arg]
    return await call(live, token, CREATE, {"input": {"merchantId": merchant_id, **fields}})


async def pay(live: LiveServer, token: str, request_id: str, **fields: Any) -> dict:  # type: ignore[type-arg]
    variables = {
        "input": {"requestId": request_id, "pin": "2468", "idempotencyKey": uuid.uuid4().hex}
    }
    variables["input"].update(fields)
    return await call(live, token, PAY, variables)
