"""A tiny GraphQL-over-HTTP helper for tests (real HTTP against the live server)."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import httpx
from redis.asyncio import Redis

from tests.devices import USUAL, TestDevice
from tests.factories import PASSWORD
from wallet.notifications.email import SandboxEmailProvider
from wallet.users import pin

if TYPE_CHECKING:
    from tests.conftest import LiveServer
    from wallet.users.models import User


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) {
    __typename
    ... on AuthPayload { token user { id username email phone } }
    ... on ValidationError { code message fieldErrors { field code message } }
    ... on RateLimited { code retryAfterSeconds }
  }
}"""

LOG_IN = """
mutation($input: LogInInput!) {
  logIn(input: $input) {
    __typename
    ... on AuthPayload { token user { id username } }
    ... on InvalidCredentials { code message }
    ... on RateLimited { code message retryAfterSeconds }
  }
}"""

LOG_OUT = "mutation { logOut { __typename ... on LogOutPayload { ok } } }"

ME = "{ me { username } wallet { status balances { currency available posted pending } } }"

SEND = """
mutation($input: SendMoneyInput!) {
  sendMoney(input: $input) {
    __typename
    ... on SendMoneyPayload { transfer { id status amount currency note recipientUsername } }
    ... on UserError { code message }
    ... on InsufficientFunds { available }
    ... on LimitExceeded { limit scope maximum remaining }
    ... on ValidationError { fieldErrors { field code } }
  }
}"""


async def token_for(live: LiveServer, user: User, device: TestDevice = USUAL) -> str:
    """A bearer session for `user`, signed in from `device` (the usual one by default)."""
    async with live.client() as http:
        login = {
            "login": user.username,
            "password": PASSWORD,
            "sessionTransport": "BEARER",
            "device": await device.proof(http),
        }
        result = await gql(http, LOG_IN, {"input": login})
    return str(result["data"]["logIn"]["token"])


async def send(
    live: LiveServer,
    token: str,
    recipient: str,
    amount: str,
    *,
    key: str | None = None,
    **extra: str,
) -> dict:  # type: ignore[type-arg]
    variables = {
        "input": {
            "recipient": recipient,
            "amount": amount,
            "idempotencyKey": key or uuid.uuid4().hex,
            **extra,
        }
    }
    async with live.client() as http:
        return (await gql(http, SEND, variables, token=token))["data"]["sendMoney"]


PAYMENT_METHOD_FIELDS = "id kind brand last4 expMonth expYear"

ADD_CARD = f"""
mutation($input: AddCardInput!) {{
  addCard(input: $input) {{
    __typename
    ... on AddPaymentMethodPayload {{ paymentMethod {{ {PAYMENT_METHOD_FIELDS} }} }}
    ... on UserError {{ code message }}
    ... on ValidationError {{ fieldErrors {{ field code }} }}
  }}
}}"""

ADD_BANK = f"""
mutation($input: AddBankAccountInput!) {{
  addBankAccount(input: $input) {{
    __typename
    ... on AddPaymentMethodPayload {{ paymentMethod {{ {PAYMENT_METHOD_FIELDS} }} }}
    ... on UserError {{ code message }}
    ... on ValidationError {{ fieldErrors {{ field code }} }}
  }}
}}"""

TRANSACTION_FIELDS = (
    "id type status direction amount currency failureReason paymentMethod runningBalance"
)

FUNDING_RESULT = f"""
    __typename
    ... on FundingPayload {{ transaction {{ {TRANSACTION_FIELDS} }} }}
    ... on UserError {{ code message }}
    ... on InsufficientFunds {{ available }}
    ... on LimitExceeded {{ limit scope maximum remaining }}
    ... on ValidationError {{ fieldErrors {{ field code }} }}
"""

ADD_MONEY = f"mutation($input: FundingInput!) {{ addMoney(input: $input) {{ {FUNDING_RESULT} }} }}"
WITHDRAW = f"mutation($input: FundingInput!) {{ withdraw(input: $input) {{ {FUNDING_RESULT} }} }}"


async def call(
    live: LiveServer, token: str | None, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run one operation; return its single top-level field's value."""
    async with live.client() as http:
        body = await gql(http, query, variables, token=token)
    assert "errors" not in body, body
    (value,) = body["data"].values()
    return value  # type: ignore[no-any-return]


# The PIN the helpers set to confirm sensitive actions (customer() uses it too).
STEP_UP_PIN = "2468"
SECURITY = "{ security { stepUpMethods steppedUp contacts { email } } }"
SET_PIN = "mutation($pin: String!) { setTransactionPin(pin: $pin) { __typename } }"
VERIFY_STEP_UP = """mutation($code: String!) { verifyStepUp(method: PIN, code: $code) {
  __typename } }"""
SEND_STEP_UP_CODE = """mutation { sendStepUpCode(channel: EMAIL) {
  __typename ... on StepUpCodeSentPayload { sentTo } } }"""
VERIFY_CONTACT_CODE = """mutation($code: String!, $password: String!) {
  verifyStepUp(method: CONTACT_CODE, code: $code, password: $password) {
    __typename ... on UserError { code message } } }"""


async def last_code_sent_to(live: LiveServer, address: str) -> str:
    """The 6-digit code in the newest message the sandbox email provider sent `address`."""
    redis = Redis.from_url(live.settings.redis_url)
    try:
        sent = await SandboxEmailProvider(redis).sent_to(address)
    finally:
        await redis.aclose()
    assert sent, f"no email to {address}"
    match = re.search(r"\b(\d{6})\b", str(sent[-1]["body"]))
    assert match, sent[-1]
    return match.group(1)


async def prove_with_contact_code(live: LiveServer, token: str, password: str = PASSWORD) -> None:
    """Step up the way an account with no second factor does: the password plus the
    code emailed to the address on file."""
    sent = await call(live, token, SEND_STEP_UP_CODE)
    assert sent["__typename"] == "StepUpCodeSentPayload", sent
    code = await last_code_sent_to(live, sent["sentTo"])
    proven = await call(live, token, VERIFY_CONTACT_CODE, {"code": code, "password": password})
    assert proven["__typename"] == "StepUpPayload", proven


async def step_up(live: LiveServer, token: str) -> None:
    """Prove a second factor for this session, as the app does before linking a card or
    bank account, or withdrawing: the helpers' PIN; a user with no factor yet proves the
    password plus the emailed code instead, and gets the helpers' PIN on file for later
    sessions (put there directly, so no enrolment signs their other sessions out)."""
    security = await call(live, token, SECURITY)
    if security["steppedUp"]:
        return
    if "PIN" not in security["stepUpMethods"]:
        await prove_with_contact_code(live, token)
        me = await call(live, token, "{ me { id } }")
        await pin.set_pin(int(me["id"]), STEP_UP_PIN)
        return
    proven = await call(live, token, VERIFY_STEP_UP, {"code": STEP_UP_PIN})
    assert proven["__typename"] == "StepUpPayload", proven


PAYMENT_GATEWAY = "{ paymentGateway { tokenizeUrl publishableKey } }"


async def tokenize_response(live: LiveServer, details: dict[str, Any]) -> httpx.Response:
    """POST card or bank details to the gateway's tokeniser, where the API says, as the
    web app does (`{"card": {...}}` or `{"bank_account": {...}}`)."""
    gateway = await call(live, None, PAYMENT_GATEWAY)
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(
            gateway["tokenizeUrl"],
            json=details,
            headers={"authorization": f"Bearer {gateway['publishableKey']}"},
        )


async def tokenize(live: LiveServer, details: dict[str, Any]) -> str:
    response = await tokenize_response(live, details)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def card_details(number: str = "4242424242424242") -> dict[str, Any]:
    return {"card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}


def bank_details(account: str = "000123456789") -> dict[str, Any]:
    return {
        "bank_account": {
            "routing_number": "110000000",
            "account_number": account,
            "account_holder_name": "Test Holder",
        }
    }


async def add_card(live: LiveServer, token: str, number: str = "4242424242424242") -> str:
    await step_up(live, token)
    card = await tokenize(live, card_details(number))
    result = await call(live, token, ADD_CARD, {"input": {"token": card}})
    assert result["__typename"] == "AddPaymentMethodPayload", result
    return str(result["paymentMethod"]["id"])


async def add_bank(live: LiveServer, token: str, account: str = "000123456789") -> str:
    await step_up(live, token)
    bank = await tokenize(live, bank_details(account))
    result = await call(live, token, ADD_BANK, {"input": {"token": bank}})
    assert result["__typename"] == "AddPaymentMethodPayload", result
    return str(result["paymentMethod"]["id"])


async def fund(
    live: LiveServer,
    token: str,
    method_id: str,
    amount: str,
    *,
    withdraw: bool = False,
    key: str | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    if withdraw:
        await step_up(live, token)
    variables = {
        "input": {
            "paymentMethodId": method_id,
            "amount": amount,
            "currency": currency,
            "idempotencyKey": key or uuid.uuid4().hex,
        }
    }
    return await call(live, token, WITHDRAW if withdraw else ADD_MONEY, variables)
