"""Merchant helpers for tests: a shop (its owner verified, its business profile given,
approved when asked), a customer with a PIN, requests and payments."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import STEP_UP_PIN, call, token_for
from wallet.db.engine import connection
from wallet.merchants.service import BusinessProfile, Merchant, Onboarding, onboard
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
  __typename ... on ApiKeyPayload { id key prefix } ... on UserError { code } } }"""
SCAN = "query($p: String!) { scanPaymentQr(payload: $p) { id amount merchantName description } }"
DECIDE = """mutation($m: ID!, $d: MerchantDecision!, $r: String!) {
  decideMerchantApplication(merchantId: $m, decision: $d, reason: $r) { __typename
  ... on MerchantDecisionPayload { application { status } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""
# A business profile an operator would accept (onboarding refuses without one).
BUSINESS = {
    "legalName": "Corner Coffee LLC",
    "businessAddress": "1 Market Street, San Francisco, CA 94105",
    "registrationNumber": "C4821734",
    "description": "Coffee, tea and pastries",
}
PROFILE = BusinessProfile(
    legal_name="Corner Coffee LLC",
    address="1 Market Street, San Francisco, CA 94105",
    registration_number="C4821734",
    description="Coffee, tea and pastries",
)


async def verify_basic(user_id: int) -> None:
    """What a clear basic KYC check grants (merchant owners need it)."""
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET verification_level = 'basic' WHERE id = $1", user_id
        )


async def open_merchant(
    owner_id: int, name: str, mcc: str, country: str, city: str, **extra: Any
) -> Merchant:
    """Through the service: verify the owner, then onboard with `PROFILE` (pending)."""
    await verify_basic(owner_id)
    return await onboard(Onboarding(owner_id, name, mcc, country, city, profile=PROFILE, **extra))


async def operator_token(live: LiveServer, role: str = "compliance") -> str:
    operator = await make_user()
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET operator_role = $2 WHERE id = $1", operator.id, role
        )
    return await token_for(live, operator)


async def approve(live: LiveServer, merchant_id: str) -> None:
    """A compliance operator approves the merchant (settlement needs it)."""
    decided = await call(
        live,
        await operator_token(live),
        DECIDE,
        {"m": merchant_id, "d": "APPROVE", "r": "Registration checked"},
    )
    assert decided["application"]["status"] == "APPROVED", decided


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
    await verify_basic(owner.id)
    token = await token_for(live, owner)
    result = await call(
        live,
        token,
        ONBOARD,
        {
            "input": {
                "name": "Corner Coffee",
                "mcc": "5814",
                "country": "US",
                "city": "SF",
                **BUSINESS,
            }
        },
    )
    assert result["merchant"]["role"] == "OWNER", result
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
