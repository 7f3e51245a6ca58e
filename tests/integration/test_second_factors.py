"""TOTP with recovery codes (no replay, rate-limited) and step-up before a large send."""

import time
import uuid
from typing import Any

import pyotp

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import call, prove_with_contact_code, send, token_for
from tests.integration.test_devices_sessions import CHROME, FIREFOX, log_in
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection
from wallet.users import pin

START = """mutation { startTotpEnrolment { __typename
  ... on TotpEnrolmentPayload { secret uri qrCode }
  ... on ValidationError { fieldErrors { code } } } }"""
CONFIRM = """mutation($c: String!) { confirmTotpEnrolment(code: $c) { __typename
  ... on RecoveryCodesPayload { codes } ... on ValidationError { fieldErrors { field code } }
  ... on RateLimited { retryAfterSeconds } } }"""
STEP_UP = """mutation($m: StepUpMethod!, $c: String!) { verifyStepUp(method: $m, code: $c) {
  __typename ... on StepUpPayload { method validUntil }
  ... on ValidationError { fieldErrors { field code } }
  ... on RateLimited { retryAfterSeconds } } }"""
SECURITY = "{ security { totpEnabled recoveryCodesLeft stepUpMethods steppedUp } }"
SET_PIN = "mutation($pin: String!) { setTransactionPin(pin: $pin) { __typename } }"
SEND_BIG = """mutation($input: SendMoneyInput!) { sendMoney(input: $input) { __typename
  ... on SendMoneyPayload { transfer { amount } } ... on StepUpRequired { code message methods }
  ... on LimitExceeded { limit } } }"""


async def enrolled(live: LiveServer) -> tuple[Any, str, pyotp.TOTP, list[str]]:
    user = await make_user(balance="900.00")
    token = await token_for(live, user)
    await prove_with_contact_code(live, token)  # a first factor takes the emailed code
    started = await call(live, token, START)
    assert started["uri"].startswith(f"otpauth://totp/Wallet:{user.username}?secret=")
    assert started["qrCode"].startswith("data:image/svg+xml;base64,")
    totp = pyotp.TOTP(started["secret"])
    wrong = await call(live, token, CONFIRM, {"c": "000000" if totp.now() != "000000" else "1"})
    assert wrong["fieldErrors"] == [{"field": "code", "code": "WRONG_CODE"}]
    codes = (await call(live, token, CONFIRM, {"c": totp.now()}))["codes"]
    return user, token, totp, codes


async def test_totp_codes_work_once_and_recovery_codes_once(live_server: LiveServer) -> None:
    user, token, totp, codes = await enrolled(live_server)
    assert len(set(codes)) == 10
    assert await call(live_server, token, SECURITY) == {
        "totpEnabled": True,
        "recoveryCodesLeft": 10,
        "stepUpMethods": ["TOTP"],
        "steppedUp": True,  # the emailed code it proved to enrol is still fresh
    }
    async with connection() as conn:
        stored = await conn.fetchval("SELECT secret FROM user_totp WHERE user_id = $1", user.id)
        hashes = await conn.fetch("SELECT code_hash FROM recovery_code WHERE user_id = $1", user.id)
    assert totp.secret not in stored and stored.startswith("v1.")  # encrypted at rest
    assert not {h["code_hash"] for h in hashes} & {c.replace("-", "") for c in codes}

    # The code that confirmed enrolment cannot be replayed; the next step's code works.
    replay = await call(live_server, token, STEP_UP, {"m": "TOTP", "c": totp.now()})
    assert replay["fieldErrors"] == [{"field": "code", "code": "WRONG_CODE"}]
    ahead = totp.at(time.time() + 30)
    assert (await call(live_server, token, STEP_UP, {"m": "TOTP", "c": ahead}))["method"] == "TOTP"
    assert (await call(live_server, token, STEP_UP, {"m": "TOTP", "c": ahead}))[
        "__typename"
    ] == "ValidationError"

    used = await call(live_server, token, STEP_UP, {"m": "TOTP", "c": codes[0].upper()})
    assert used["__typename"] == "StepUpPayload"
    again = await call(live_server, token, STEP_UP, {"m": "TOTP", "c": codes[0]})
    assert again["__typename"] == "ValidationError"
    assert (await call(live_server, token, SECURITY))["recoveryCodesLeft"] == 9


async def test_guessing_codes_hits_the_rate_limit(live_server: LiveServer) -> None:
    _, token, totp, _ = await enrolled(live_server)  # one wrong code already counted
    wrong = "111111" if totp.now() != "111111" else "222222"
    outcomes = [
        (await call(live_server, token, STEP_UP, {"m": "TOTP", "c": wrong}))["__typename"]
        for _ in range(5)
    ]
    assert outcomes == ["ValidationError"] * 4 + ["RateLimited"]
    # Even the right code waits now.
    right = await call(live_server, token, STEP_UP, {"m": "TOTP", "c": totp.at(time.time() + 30)})
    assert right["__typename"] == "RateLimited"


async def big_send(live: LiveServer, token: str, to: str, amount: str, key: str) -> Any:
    variables = {"input": {"recipient": to, "amount": amount, "idempotencyKey": key}}
    return await call(live, token, SEND_BIG, variables)


async def test_a_large_send_needs_a_fresh_second_factor_then_the_retry_goes_through(
    live_server: LiveServer,
) -> None:
    sender, friend = await make_user(balance="1500.00"), await make_user()
    token = await token_for(live_server, sender)
    no_pin = await big_send(live_server, token, friend.username, "600.00", "k-0")
    # With no second factor, the password plus an emailed code.
    assert (no_pin["__typename"], no_pin["methods"]) == ("StepUpRequired", ["CONTACT_CODE"])
    await pin.set_pin(sender.id, "2580")  # as in an earlier session
    token = await token_for(live_server, sender)

    key = uuid.uuid4().hex
    asked = await big_send(live_server, token, friend.username, "600.00", key)
    assert (asked["code"], asked["methods"]) == ("STEP_UP_REQUIRED", ["PIN"])
    assert await wallet_cents(sender.id) == 150_000  # nothing moved
    small = await send(live_server, token, friend.username, "20.00")
    assert small["__typename"] == "SendMoneyPayload"  # below the threshold
    over_limit = await big_send(live_server, token, friend.username, "1500.00", "k-2")
    assert over_limit["__typename"] == "LimitExceeded"  # limits are checked first

    wrong = await call(live_server, token, STEP_UP, {"m": "PIN", "c": "1111"})
    assert wrong["fieldErrors"] == [{"field": "code", "code": "WRONG_CODE"}]
    proven = await call(live_server, token, STEP_UP, {"m": "PIN", "c": "2580"})
    assert proven["method"] == "PIN"
    assert (await call(live_server, token, SECURITY))["steppedUp"] is True
    done = await big_send(live_server, token, friend.username, "600.00", key)
    assert done["transfer"]["amount"] == "600.00"
    assert await wallet_cents(sender.id) == 150_000 - 2_000 - 60_000
    # Another session of the same user is not stepped up.
    other = await token_for(live_server, sender)
    assert (await big_send(live_server, other, friend.username, "550.00", "k-3"))[
        "__typename"
    ] == "StepUpRequired"


LOG_IN_TWO_STEP = """mutation($input: LogInInput!) { logIn(input: $input) { __typename
  ... on AuthPayload { token } ... on SecondFactorRequired { code ticket methods } } }"""
COMPLETE = """mutation($t: String!, $c: String!) { completeLogIn(ticket: $t, code: $c) {
  __typename ... on AuthPayload { token } ... on UserError { code message } } }"""


async def test_with_totp_on_signing_in_takes_a_code_and_the_ticket_works_once(
    live_server: LiveServer,
) -> None:
    user, _, totp, codes = await enrolled(live_server)
    login = {"input": {"login": user.username, "password": PASSWORD, "sessionTransport": "BEARER"}}
    asked = await call(live_server, "", LOG_IN_TWO_STEP, login)
    assert (asked["__typename"], asked["code"], asked["methods"]) == (
        "SecondFactorRequired",
        "SECOND_FACTOR_REQUIRED",
        ["TOTP"],
    )
    wrong = await call(live_server, "", COMPLETE, {"t": asked["ticket"], "c": "000000"})
    assert wrong["__typename"] == "InvalidCredentials"
    done = await call(
        live_server, "", COMPLETE, {"t": asked["ticket"], "c": totp.at(time.time() + 30)}
    )
    assert done["__typename"] == "AuthPayload" and done["token"]
    again = await call(live_server, "", COMPLETE, {"t": asked["ticket"], "c": codes[1]})
    assert again["__typename"] == "InvalidCredentials"  # the ticket is spent
    second = await call(live_server, "", LOG_IN_TWO_STEP, login)
    with_recovery = await call(live_server, "", COMPLETE, {"t": second["ticket"], "c": codes[2]})
    assert with_recovery["__typename"] == "AuthPayload"
    me = await call(live_server, with_recovery["token"], "{ me { username } }")
    assert me["username"] == user.username


async def test_on_a_new_device_any_send_needs_a_second_factor(live_server: LiveServer) -> None:
    alice, bob = await make_user(balance="20.00"), await make_user()
    usual = await log_in(live_server, alice.username, CHROME)
    assert (await send(live_server, usual, bob.username, "1.00"))["__typename"] == (
        "SendMoneyPayload"
    )
    stranger = await log_in(live_server, alice.username, FIREFOX)
    asked = await send(live_server, stranger, bob.username, "1.00")
    assert asked["code"] == "STEP_UP_REQUIRED"
    assert await wallet_cents(alice.id) == 1_900
    refused = await call(live_server, stranger, SET_PIN, {"pin": "2580"})
    assert refused["__typename"] == "StepUpRequired"  # it cannot make its own factor
    await prove_with_contact_code(live_server, usual)  # the owner can, with the email
    await call(live_server, usual, SET_PIN, {"pin": "2580"})
    # Enrolling a factor signed every other session out, the stranger's too.
    assert await call(live_server, stranger, "{ me { username } }") is None
    stranger = await log_in(live_server, alice.username, FIREFOX)
    assert (await send(live_server, stranger, bob.username, "1.00"))["code"] == (
        "STEP_UP_REQUIRED"  # still a new device: nothing was proven on it
    )
    await call(live_server, stranger, STEP_UP, {"m": "PIN", "c": "2580"})
    assert (await send(live_server, stranger, bob.username, "1.00"))["__typename"] == (
        "SendMoneyPayload"
    )
