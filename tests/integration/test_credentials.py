"""Changing password, email, phone and PIN: each behind a fresh second factor."""

from __future__ import annotations

import random
import re
from dataclasses import asdict

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import SET_PIN, call, prove_with_contact_code, send, step_up, token_for
from tests.integration.test_devices_sessions import CHROME, FIREFOX, log_in
from tests.integration.test_unclaimed_transfers import SEND_CODE, VERIFY
from tests.ledger_helpers import wallet_cents
from wallet.db.engine import connection
from wallet.notifications import money as money_notifications
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.sms import SandboxSmsProvider
from wallet.users.verification import contacts_of

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

CHANGE_PASSWORD = """mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    __typename
    ... on PasswordChangedPayload { signedOutSessions }
    ... on StepUpRequired { code methods }
    ... on ValidationError { fieldErrors { field code } } } }"""
START_CHANGE = """mutation($c: ContactChannel!, $to: String!) {
  startContactChange(channel: $c, newContact: $to) {
    __typename
    ... on ContactChangeStartedPayload { sentTo }
    ... on StepUpRequired { code methods }
    ... on ValidationError { fieldErrors { field code } } } }"""
SET_PIN_FULL = """mutation($pin: String!) { setTransactionPin(pin: $pin) {
  __typename ... on StepUpRequired { methods }
  ... on ValidationError { fieldErrors { field code } } } }"""
NEW_PASSWORD = "a-much-better-secret-7"


def field_code(result: dict) -> tuple[str, str]:
    (problem,) = result["fieldErrors"]
    return problem["field"], problem["code"]


async def contact_of(user_id: int) -> dict:
    contacts = await contacts_of(user_id)
    assert contacts is not None
    return asdict(contacts)


async def notices(user_id: int, kind: str) -> list[int]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id FROM outbox_event WHERE topic = 'notice' AND payload->>'kind' = $2 "
            "AND (payload->>'user_id')::bigint = $1 ORDER BY id",
            user_id,
            kind,
        )
    return [int(r["id"]) for r in rows]


def last_code(messages: list[dict]) -> str:
    match = re.search(r"\b(\d{6})\b", str(messages[-1]["body"]))
    assert match is not None, messages[-1]
    return match.group(1)


def unused_phone() -> str:
    return f"+1415555{random.randint(9000, 9999)}"


async def test_changing_the_password_needs_step_up_then_signs_other_sessions_out(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    here, elsewhere = await token_for(live_server, user), await token_for(live_server, user)
    asked = await call(live_server, here, CHANGE_PASSWORD, {"current": PASSWORD, "new": "x"})
    assert (asked["__typename"], asked["code"]) == ("StepUpRequired", "STEP_UP_REQUIRED")
    await step_up(live_server, here)

    wrong = await call(live_server, here, CHANGE_PASSWORD, {"current": "nope", "new": "x"})
    assert field_code(wrong) == ("currentPassword", "WRONG_PASSWORD")
    weak = await call(live_server, here, CHANGE_PASSWORD, {"current": PASSWORD, "new": "short"})
    assert field_code(weak) == ("newPassword", "WEAK")
    same = await call(live_server, here, CHANGE_PASSWORD, {"current": PASSWORD, "new": PASSWORD})
    assert field_code(same) == ("newPassword", "UNCHANGED")
    assert await call(live_server, elsewhere, "{ me { username } }") is not None  # still in

    changed = await call(
        live_server, here, CHANGE_PASSWORD, {"current": PASSWORD, "new": NEW_PASSWORD}
    )
    assert changed == {"__typename": "PasswordChangedPayload", "signedOutSessions": 1}
    assert (await call(live_server, here, "{ me { username } }")) == {"username": user.username}
    assert await call(live_server, elsewhere, "{ me { username } }") is None
    async with live_server.client() as http:
        old = await http.post(
            "/graphql",
            json={
                "query": "mutation($i: LogInInput!) { logIn(input: $i) { __typename } }",
                "variables": {"i": {"login": user.username, "password": PASSWORD}},
            },
        )
        new = await http.post(
            "/graphql",
            json={
                "query": "mutation($i: LogInInput!) { logIn(input: $i) { __typename } }",
                "variables": {"i": {"login": user.username, "password": NEW_PASSWORD}},
            },
        )
    assert old.json()["data"]["logIn"]["__typename"] == "InvalidCredentials"
    assert new.json()["data"]["logIn"]["__typename"] == "AuthPayload"
    assert len(await notices(user.id, "password_changed")) == 1


async def test_a_new_email_is_on_file_only_once_its_code_comes_back_and_the_old_one_is_told(
    live_server: LiveServer, redis: Redis
) -> None:
    user, other = await make_user(), await make_user()
    token = await token_for(live_server, user)
    wanted = {"c": "EMAIL", "to": f"Fresh.{user.username}@Example.org"}
    asked = await call(live_server, token, START_CHANGE, wanted)
    assert asked["__typename"] == "StepUpRequired"
    mailbox = SandboxEmailProvider(redis)
    assert await mailbox.sent_to(wanted["to"].lower()) == []
    await step_up(live_server, token)

    taken = await call(live_server, token, START_CHANGE, {"c": "EMAIL", "to": other.email})
    assert field_code(taken) == ("newContact", "TAKEN")
    invalid = await call(live_server, token, START_CHANGE, {"c": "EMAIL", "to": "not-an-email"})
    assert field_code(invalid) == ("newContact", "INVALID")
    same = await call(live_server, token, START_CHANGE, {"c": "EMAIL", "to": user.email})
    assert field_code(same) == ("newContact", "UNCHANGED")

    started = await call(live_server, token, START_CHANGE, wanted)
    new_email = wanted["to"].lower()
    assert started == {"__typename": "ContactChangeStartedPayload", "sentTo": new_email}
    assert (await contact_of(user.id))["email"] == user.email  # not until the code is back
    wrong = await call(live_server, token, VERIFY, {"c": "EMAIL", "code": "000000"})
    assert wrong["__typename"] == "ValidationError"
    assert (await contact_of(user.id))["email"] == user.email

    code = last_code(await mailbox.sent_to(new_email))
    done = await call(live_server, token, VERIFY, {"c": "EMAIL", "code": code})
    assert (done["__typename"], done["contact"]) == ("ContactVerifiedPayload", new_email)
    assert await contact_of(user.id) | {"phone": None} == {
        "email": new_email,
        "phone": None,
        "email_verified": True,
        "phone_verified": False,
    }
    (notice,) = await notices(user.id, "email_changed")
    assert await money_notifications.deliver_notice(notice, email=mailbox) == 1
    told_old = await mailbox.sent_to(user.email)
    assert told_old[-1]["subject"] == "Your email was changed"
    assert (await mailbox.sent_to(new_email))[-1]["subject"] == "Your email was changed"


async def test_a_new_phone_claims_money_waiting_for_it(
    live_server: LiveServer, redis: Redis
) -> None:
    user, sender = await make_user(), await make_user(balance="20.00")
    new_phone = unused_phone()
    sent = await send(live_server, await token_for(live_server, sender), new_phone, "7.50")
    assert sent["transfer"]["status"] == "PENDING"  # escrowed for whoever proves the number
    token = await token_for(live_server, user)
    await step_up(live_server, token)
    started = await call(live_server, token, START_CHANGE, {"c": "PHONE", "to": new_phone})
    assert started["sentTo"] == new_phone
    code = last_code(await SandboxSmsProvider(redis).sent_to(new_phone))
    done = await call(live_server, token, VERIFY, {"c": "PHONE", "code": code})
    assert done["contact"] == new_phone
    assert [t["status"] for t in done["claimedTransfers"]] == ["COMPLETED"]
    assert (await contact_of(user.id))["phone"] == new_phone
    assert await wallet_cents(user.id) == 750


async def test_asking_to_verify_the_current_contact_drops_a_pending_change(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    await step_up(live_server, token)
    new_email = f"other.{user.username}@example.org"
    await call(live_server, token, START_CHANGE, {"c": "EMAIL", "to": new_email})
    assert (await call(live_server, token, SEND_CODE, {"c": "EMAIL"}))["sentTo"] == user.email
    code = last_code(await SandboxEmailProvider(redis).sent_to(user.email))
    done = await call(live_server, token, VERIFY, {"c": "EMAIL", "code": code})
    assert done["contact"] == user.email
    assert await contact_of(user.id) | {"phone": None} == {
        "email": user.email,
        "phone": None,
        "email_verified": True,
        "phone_verified": False,
    }


async def test_a_contact_taken_between_start_and_confirm_is_refused(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    await step_up(live_server, token)
    new_email = f"race.{user.username}@example.org"
    await call(live_server, token, START_CHANGE, {"c": "EMAIL", "to": new_email})
    await make_user(email=new_email)  # someone signs up with it meanwhile
    code = last_code(await SandboxEmailProvider(redis).sent_to(new_email))
    refused = await call(live_server, token, VERIFY, {"c": "EMAIL", "code": code})
    assert field_code(refused) == ("code", "TAKEN")
    assert (await contact_of(user.id))["email"] == user.email
    assert await notices(user.id, "email_changed") == []


async def test_changing_the_pin_needs_the_old_one_or_another_factor(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    first = await call(live_server, token, SET_PIN_FULL, {"pin": "2468"})
    # No factor yet: the password plus an emailed code proves the owner.
    assert (first["__typename"], first["methods"]) == ("StepUpRequired", ["CONTACT_CODE"])
    await prove_with_contact_code(live_server, token)
    assert (await call(live_server, token, SET_PIN_FULL, {"pin": "2468"}))[
        "__typename"
    ] == "PinPayload"
    fresh = await token_for(live_server, user)
    asked = await call(live_server, fresh, SET_PIN_FULL, {"pin": "1357"})
    assert (asked["__typename"], asked["methods"]) == ("StepUpRequired", ["PIN"])
    await step_up(live_server, fresh)  # proves the old PIN, 2468
    changed = await call(live_server, fresh, SET_PIN_FULL, {"pin": "1357"})
    assert changed["__typename"] == "PinPayload"
    proven = await call(
        live_server,
        await token_for(live_server, user),
        'mutation { verifyStepUp(method: PIN, code: "1357") { __typename } }',
    )
    assert proven["__typename"] == "StepUpPayload"


async def test_no_session_makes_the_first_factor_without_the_emailed_code(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    known = await log_in(live_server, user.username, CHROME)  # where the account is used
    stranger = await log_in(live_server, user.username, FIREFOX)
    for session in (stranger, known):
        refused = await call(live_server, session, SET_PIN_FULL, {"pin": "2468"})
        assert (refused["__typename"], refused["methods"]) == ("StepUpRequired", ["CONTACT_CODE"])
    async with connection() as conn:
        assert await conn.fetchval("SELECT pin_hash FROM app_user WHERE id = $1", user.id) is None
    await prove_with_contact_code(live_server, known)
    assert (await call(live_server, known, SET_PIN, {"pin": "2468"}))["__typename"] == "PinPayload"


async def test_guessing_the_current_password_is_rate_limited(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    await step_up(live_server, token)
    for attempt in range(5):
        wrong = await call(
            live_server, token, CHANGE_PASSWORD, {"current": f"guess-{attempt}", "new": "x"}
        )
        assert field_code(wrong) == ("currentPassword", "WRONG_PASSWORD")
    stopped = await call(
        live_server, token, CHANGE_PASSWORD, {"current": PASSWORD, "new": NEW_PASSWORD}
    )
    assert stopped["__typename"] == "RateLimited"  # even the right one, for a while
    erase = "mutation($p: String!) { eraseMyAccount(password: $p) { __typename } }"
    assert (await call(live_server, token, erase, {"p": PASSWORD}))["__typename"] == "RateLimited"
