"""Finding 1 of the security review, replayed: with only the password, a session on a new
device tried to enrol its own second factor, vouch for itself with it, and then take
the account over. Each step is refused now; the legitimate first enrolment goes through
the password plus a code sent to the email on file, and ends every other session."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pyotp
import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import (
    SEND_STEP_UP_CODE,
    bank_details,
    call,
    last_code_sent_to,
    prove_with_contact_code,
    tokenize,
)
from tests.integration.test_devices_sessions import CHROME, FIREFOX, log_in
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection
from wallet.notifications import money as money_notifications
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.sms import SandboxSmsProvider
from wallet.users import pin

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

REFUSABLE = "__typename ... on StepUpRequired { code methods } ... on UserError { code message }"
START_TOTP = (
    f"mutation {{ startTotpEnrolment {{ {REFUSABLE} ... on TotpEnrolmentPayload {{ secret }} }} }}"
)
CONFIRM_TOTP = f"""mutation($c: String!) {{ confirmTotpEnrolment(code: $c) {{ {REFUSABLE}
  ... on RecoveryCodesPayload {{ codes }} }} }}"""
START_PASSKEY = f"""mutation {{ startPasskeyRegistration {{ {REFUSABLE}
  ... on PasskeyOptionsPayload {{ options }} }} }}"""
FINISH_PASSKEY = f"""mutation($c: String!) {{ finishPasskeyRegistration(credential: $c) {{
  {REFUSABLE} }} }}"""
SET_PIN = f"mutation($pin: String!) {{ setTransactionPin(pin: $pin) {{ {REFUSABLE} }} }}"
STEP_UP = """mutation($m: StepUpMethod!, $c: String!, $p: String) {
  verifyStepUp(method: $m, code: $c, password: $p) { __typename
    ... on UserError { code message } } }"""
SEND = f"""mutation($input: SendMoneyInput!) {{ sendMoney(input: $input) {{ {REFUSABLE} }} }}"""
ADD_BANK = f"""mutation($input: AddBankAccountInput!) {{ addBankAccount(input: $input) {{
  {REFUSABLE} }} }}"""
CHANGE_PASSWORD = f"""mutation($c: String!, $n: String!) {{
  changePassword(currentPassword: $c, newPassword: $n) {{ {REFUSABLE} }} }}"""
CHANGE_EMAIL = f"""mutation($to: String!) {{ startContactChange(channel: EMAIL, newContact: $to) {{
  {REFUSABLE} }} }}"""
SECURITY = "{ security { totpEnabled stepUpMethods } }"
ME = "{ me { username } }"
RECORDED = Path(__file__).parents[1] / "fixtures" / "webauthn" / "recorded.json"


def refused_for_step_up(result: dict, methods: list[str]) -> None:
    assert result["__typename"] == "StepUpRequired", result
    assert result["methods"] == methods


@pytest.mark.parametrize("victim_has_pin", [False, True])
async def test_a_stolen_password_on_a_new_device_cannot_enrol_a_factor_and_take_over(
    live_server: LiveServer, victim_has_pin: bool
) -> None:
    victim = await make_user(balance="1000.00")
    if victim_has_pin:
        await pin.set_pin(victim.id, "7391")
    victims_session = await log_in(live_server, victim.username, CHROME)
    attacker = await log_in(live_server, victim.username, FIREFOX)  # only the password
    methods = ["PIN"] if victim_has_pin else ["CONTACT_CODE"]

    # Enrol its own TOTP: refused at both steps.
    refused_for_step_up(await call(live_server, attacker, START_TOTP), methods)
    refused_for_step_up(await call(live_server, attacker, CONFIRM_TOTP, {"c": "123456"}), methods)
    # Or its own passkey, or PIN.
    refused_for_step_up(await call(live_server, attacker, START_PASSKEY), methods)
    credential = json.loads(RECORDED.read_text())["registration"]
    refused_for_step_up(
        await call(live_server, attacker, FINISH_PASSKEY, {"c": json.dumps(credential)}), methods
    )
    refused_for_step_up(await call(live_server, attacker, SET_PIN, {"pin": "1111"}), methods)
    # With no factor of its own, there is nothing to step up with.
    totp = await call(live_server, attacker, STEP_UP, {"m": "TOTP", "c": "123456"})
    assert totp["__typename"] == "ValidationError"
    # And so no money, no bank account, no new password or email.
    send = await call(
        live_server,
        attacker,
        SEND,
        {"input": {"recipient": "@nobody", "amount": "600.00", "idempotencyKey": uuid.uuid4().hex}},
    )
    assert send["__typename"] in {"StepUpRequired", "NotFound"}
    bank = {"token": await tokenize(live_server, bank_details())}
    refused_for_step_up(await call(live_server, attacker, ADD_BANK, {"input": bank}), methods)
    refused_for_step_up(
        await call(
            live_server, attacker, CHANGE_PASSWORD, {"c": PASSWORD, "n": "attacker-pw-2026"}
        ),
        methods,
    )
    refused_for_step_up(
        await call(live_server, attacker, CHANGE_EMAIL, {"to": "evil@example.com"}), methods
    )

    # The victim still has their account as it was.
    assert await call(live_server, victims_session, SECURITY) == {
        "totpEnabled": False,
        "stepUpMethods": ["PIN"] if victim_has_pin else [],
    }
    assert await wallet_cents(victim.id) == 100_000
    async with connection() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM user_passkey WHERE user_id = $1", victim.id
        )


async def test_a_new_device_sending_money_needs_a_factor_it_cannot_make(
    live_server: LiveServer,
) -> None:
    victim = await make_user(balance="1000.00")
    friend = await make_user()
    await log_in(live_server, victim.username, CHROME)
    attacker = await log_in(live_server, victim.username, FIREFOX)
    refused = await call(
        live_server,
        attacker,
        SEND,
        {
            "input": {
                "recipient": f"@{friend.username}",
                "amount": "600.00",
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
    )
    refused_for_step_up(refused, ["CONTACT_CODE"])
    assert await wallet_cents(victim.id) == 100_000


async def test_the_first_factor_takes_the_password_plus_an_emailed_code_and_ends_other_sessions(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    elsewhere = await log_in(live_server, user.username, CHROME)
    here = await log_in(live_server, user.username, CHROME)
    refused_for_step_up(await call(live_server, here, START_TOTP), ["CONTACT_CODE"])

    sent = await call(live_server, here, SEND_STEP_UP_CODE)
    code = await last_code_sent_to(live_server, sent["sentTo"])
    wrong_password = await call(
        live_server, here, STEP_UP, {"m": "CONTACT_CODE", "c": code, "p": "not-the-password"}
    )
    assert wrong_password["__typename"] == "ValidationError"
    # A wrong password does not use the code up; the right one with it proves the owner.
    proven = await call(live_server, here, STEP_UP, {"m": "CONTACT_CODE", "c": code, "p": PASSWORD})
    assert proven["__typename"] == "StepUpPayload", proven
    again = await call(live_server, here, STEP_UP, {"m": "CONTACT_CODE", "c": code, "p": PASSWORD})
    assert again["__typename"] == "ValidationError"  # the code works once

    secret = (await call(live_server, here, START_TOTP))["secret"]
    codes = await call(live_server, here, CONFIRM_TOTP, {"c": pyotp.TOTP(secret).now()})
    assert codes["__typename"] == "RecoveryCodesPayload"

    # Every other session ended; this one goes on.
    assert await call(live_server, elsewhere, ME) is None
    assert (await call(live_server, here, ME))["username"] == user.username
    # The alert goes out on every channel.
    async with connection() as conn:
        event_id = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'notice' "
            "AND payload->>'kind' = 'factor_enrolled' AND (payload->>'user_id')::bigint = $1",
            user.id,
        )
    email, sms = SandboxEmailProvider(redis), SandboxSmsProvider(redis)
    assert await money_notifications.deliver_notice(event_id, email=email, sms=sms) == 1
    assert any("Authenticator app" in str(m["subject"]) for m in await email.sent_to(user.email))
    assert any("Authenticator app" in str(m["body"]) for m in await sms.sent_to(user.phone))
    async with connection() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM notification WHERE user_id = $1 AND kind = 'factor_enrolled'",
            user.id,
        )


async def test_a_factor_enrolled_in_this_session_does_not_vouch_for_credential_changes(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    await pin.set_pin(user.id, "7391")  # on file before the session
    token = await log_in(live_server, user.username, CHROME)
    assert (await call(live_server, token, STEP_UP, {"m": "PIN", "c": "7391"}))[
        "__typename"
    ] == "StepUpPayload"
    secret = (await call(live_server, token, START_TOTP))["secret"]
    totp = pyotp.TOTP(secret)
    assert (await call(live_server, token, CONFIRM_TOTP, {"c": totp.now()}))[
        "__typename"
    ] == "RecoveryCodesPayload"

    # The PIN's proof runs out (as after five minutes); the new TOTP proves money only.
    await redis.delete(*[k async for k in redis.scan_iter("stepup:*")])
    next_step = totp.at(time.time() + totp.interval)
    assert (await call(live_server, token, STEP_UP, {"m": "TOTP", "c": next_step}))[
        "__typename"
    ] == "StepUpPayload"
    refused_for_step_up(
        await call(live_server, token, CHANGE_PASSWORD, {"c": PASSWORD, "n": "brand-new-pw-2026"}),
        ["PIN"],
    )
    assert (await call(live_server, token, STEP_UP, {"m": "PIN", "c": "7391"}))[
        "__typename"
    ] == "StepUpPayload"
    changed = await call(
        live_server, token, CHANGE_PASSWORD, {"c": PASSWORD, "n": "brand-new-pw-2026"}
    )
    assert changed["__typename"] == "PasswordChangedPayload", changed


async def test_contact_code_step_up_lets_a_factorless_user_link_a_bank_account(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await log_in(live_server, user.username, CHROME)
    bank = {"token": await tokenize(live_server, bank_details())}
    refused_for_step_up(await call(live_server, token, ADD_BANK, {"input": bank}), ["CONTACT_CODE"])
    await prove_with_contact_code(live_server, token)
    linked = await call(live_server, token, ADD_BANK, {"input": bank})
    assert linked["__typename"] == "AddPaymentMethodPayload", linked
