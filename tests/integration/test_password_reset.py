"""Issue 18, item 5: there was no password reset. A code to the verified email or phone
(15 minutes, once, rate-limited, the same answer for unknown accounts) sets a new
password; an account with a second factor must prove it too; afterwards every session
has ended and an alert went out on every channel."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, ME, gql, token_for
from wallet.auth.ratelimit import RateLimiter
from wallet.db.engine import connection, transaction
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.sms import SandboxSmsProvider
from wallet.security import passkeys, totp
from wallet.security.passkeys import RelyingParty
from wallet.users.models import User

NEW_PASSWORD = "river-lantern-2049"

REQUEST = """
mutation($login: String!, $channel: ContactChannel) {
  requestPasswordReset(login: $login, channel: $channel) {
    __typename
    ... on PasswordResetRequested { message }
    ... on RateLimited { code message retryAfterSeconds }
  }
}"""

RESET = """
mutation($input: ResetPasswordInput!) {
  resetPassword(input: $input) {
    __typename
    ... on PasswordResetPayload { message }
    ... on StepUpRequired { code message methods }
    ... on ValidationError { code message fieldErrors { field code message } }
    ... on RateLimited { code message }
  }
}"""

START_PASSKEY = """
mutation($login: String!, $code: String!) {
  startPasswordResetPasskey(login: $login, code: $code) {
    __typename
    ... on PasskeyOptionsPayload { challengeId options }
    ... on ValidationError { fieldErrors { field code } }
  }
}"""

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "webauthn" / "recorded.json").read_text()
)


async def verified(user: User, *, email: bool = True, phone: bool = False) -> User:
    async with transaction() as conn:
        await conn.execute(
            "UPDATE app_user SET email_verified_at = CASE WHEN $2 THEN now() END, "
            "phone_verified_at = CASE WHEN $3 THEN now() END WHERE id = $1",
            user.id,
            email,
            phone,
        )
    return user


async def request(live: LiveServer, login: str, channel: str = "EMAIL") -> dict[str, Any]:
    async with live.client() as http:
        answer = await gql(http, REQUEST, {"login": login, "channel": channel})
    return dict(answer["data"]["requestPasswordReset"])


async def emailed_code(redis: Redis, user: User) -> str:
    sent = [
        m
        for m in await SandboxEmailProvider(redis).sent_to(user.email)
        if m["subject"] == "Reset your Wallet password"
    ]
    assert sent, "no reset email"
    found = re.search(r"\b(\d{6})\b", str(sent[-1]["body"]))
    assert found is not None
    return found.group(1)


async def reset(
    live: LiveServer, user: User, code: str, password: str = NEW_PASSWORD, **extra: Any
) -> dict[str, Any]:
    headers = {"origin": extra.pop("origin")} if "origin" in extra else {}
    async with live.client() as http:
        response = await http.post(
            "/graphql",
            json={
                "query": RESET,
                "variables": {
                    "input": {
                        "login": user.username,
                        "code": code,
                        "newPassword": password,
                        **extra,
                    }
                },
            },
            headers=headers,
        )
    return dict(response.json()["data"]["resetPassword"])


async def logs_in(live: LiveServer, user: User, password: str) -> str:
    async with live.client() as http:
        answer = await gql(
            http,
            LOG_IN,
            {"input": {"login": user.username, "password": password, "sessionTransport": "BEARER"}},
        )
    return str(answer["data"]["logIn"]["__typename"])


async def alerts_of(user: User, kind: str) -> list[dict[str, Any]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM outbox_event WHERE topic = 'notice' "
            "AND payload->>'kind' = $2 AND (payload->>'user_id')::bigint = $1",
            user.id,
            kind,
        )
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows
    ]


async def test_a_reset_code_sets_the_password_once_ends_every_session_and_alerts(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await verified(await make_user())
    session = await token_for(live_server, user)
    asked = await request(live_server, user.username)
    assert asked["__typename"] == "PasswordResetRequested"
    code = await emailed_code(redis, user)

    done = await reset(live_server, user, code)
    assert done["__typename"] == "PasswordResetPayload", done
    assert await logs_in(live_server, user, PASSWORD) == "InvalidCredentials"
    assert await logs_in(live_server, user, NEW_PASSWORD) == "AuthPayload"
    async with live_server.client() as http:  # the session from before is gone
        assert (await gql(http, ME, token=session))["data"]["me"] is None
    [alert] = await alerts_of(user, "password_reset")
    assert alert["sms"] is True  # in the app, by email and by SMS, whatever the preferences
    # Single use: the same code again changes nothing.
    again = await reset(live_server, user, code, "another-fine-pass-77")
    assert again["fieldErrors"][0]["code"] == "WRONG_CODE"
    assert await logs_in(live_server, user, NEW_PASSWORD) == "AuthPayload"


async def test_a_weak_password_is_refused_without_using_the_code(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await verified(await make_user())
    await request(live_server, user.username)
    code = await emailed_code(redis, user)
    weak = await reset(live_server, user, code, "password12")
    assert weak["fieldErrors"][0] == {
        "field": "newPassword",
        "code": "WEAK",
        "message": weak["fieldErrors"][0]["message"],
    }
    assert (await reset(live_server, user, code))["__typename"] == "PasswordResetPayload"


async def test_unknown_unverified_and_real_accounts_get_the_same_answer(
    live_server: LiveServer, redis: Redis
) -> None:
    real = await verified(await make_user(), phone=True)
    unproven = await verified(await make_user(), email=False)
    answers = [
        await request(live_server, login)
        for login in (real.email, unproven.email, "nobody@example.com", "@no_such_user")
    ]
    assert all(a == answers[0] for a in answers), answers
    assert answers[0]["__typename"] == "PasswordResetRequested"
    assert await emailed_code(redis, real)
    assert await SandboxEmailProvider(redis).sent_to(unproven.email) == []
    assert await SandboxEmailProvider(redis).sent_to("nobody@example.com") == []
    # A text to the verified phone works the same way.
    by_text = await request(live_server, real.phone, "PHONE")
    assert by_text["__typename"] == "PasswordResetRequested"
    [text] = await SandboxSmsProvider(redis).sent_to(real.phone)
    assert "password reset code" in str(text["body"])


async def test_the_code_expires_after_15_minutes(live_server: LiveServer, redis: Redis) -> None:
    user = await verified(await make_user())
    await request(live_server, user.username)
    code = await emailed_code(redis, user)
    ttl = await redis.ttl(f"reset-code:{user.id}")
    assert 15 * 60 - 10 < ttl <= 15 * 60
    await redis.pexpire(f"reset-code:{user.id}", 1)  # the 15 minutes are over
    await asyncio.sleep(0.05)
    expired = await reset(live_server, user, code)
    assert expired["fieldErrors"][0]["code"] == "WRONG_CODE"
    assert await logs_in(live_server, user, PASSWORD) == "AuthPayload"


async def test_five_wrong_codes_kill_the_code(live_server: LiveServer, redis: Redis) -> None:
    user = await verified(await make_user())
    await request(live_server, user.username)
    code = await emailed_code(redis, user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert (await reset(live_server, user, wrong))["fieldErrors"][0]["code"] == "WRONG_CODE"
    assert (await reset(live_server, user, code))["fieldErrors"][0]["code"] == "WRONG_CODE"


async def test_requests_are_limited_per_account_even_all_at_once(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await verified(await make_user())
    answers = await asyncio.gather(*(request(live_server, user.email) for _ in range(40)))
    kinds = [a["__typename"] for a in answers]
    assert kinds.count("PasswordResetRequested") == 5, kinds
    assert kinds.count("RateLimited") == 35
    assert len(await SandboxEmailProvider(redis).sent_to(user.email)) == 5


async def test_an_unknown_account_is_limited_exactly_alike(live_server: LiveServer) -> None:
    """Or the limit itself would tell which accounts exist."""
    unknown = await asyncio.gather(*(request(live_server, "ghost@example.com") for _ in range(8)))
    assert [a["__typename"] for a in unknown].count("PasswordResetRequested") == 5


async def test_requests_are_limited_per_ip_even_all_at_once(live_server: LiveServer) -> None:
    answers = await asyncio.gather(
        *(request(live_server, f"someone{i}@example.com") for i in range(40))
    )
    assert [a["__typename"] for a in answers].count("PasswordResetRequested") == 20


async def test_a_pin_or_an_authenticator_must_be_proven_too(
    live_server: LiveServer, redis: Redis
) -> None:
    """The reset must not bypass the second factor."""
    with_pin = await verified(await make_user(pin="2468"))
    await request(live_server, with_pin.username)
    code = await emailed_code(redis, with_pin)
    asked = await reset(live_server, with_pin, code)
    assert asked["__typename"] == "StepUpRequired" and asked["methods"] == ["PIN"], asked
    wrong = await reset(live_server, with_pin, code, factor="PIN", factorCode="1111")
    assert wrong["fieldErrors"][0]["field"] == "factorCode"
    other = await reset(live_server, with_pin, code, factor="TOTP", factorCode="123456")
    assert other["fieldErrors"][0]["code"] == "NOT_SET_UP"
    assert await logs_in(live_server, with_pin, PASSWORD) == "AuthPayload"  # unchanged
    done = await reset(live_server, with_pin, code, factor="PIN", factorCode="2468")
    assert done["__typename"] == "PasswordResetPayload", done

    with_totp = await verified(await make_user())
    secret = (await totp.start_enrolment(with_totp.id, with_totp.username)).secret
    authenticator = pyotp.TOTP(secret)
    await totp.confirm_enrolment(
        with_totp.id, authenticator.at(time.time() - 30), RateLimiter(redis)
    )
    await request(live_server, with_totp.username)
    code = await emailed_code(redis, with_totp)
    asked = await reset(live_server, with_totp, code)
    assert asked["__typename"] == "StepUpRequired" and asked["methods"] == ["TOTP"], asked
    done = await reset(live_server, with_totp, code, factor="TOTP", factorCode=authenticator.now())
    assert done["__typename"] == "PasswordResetPayload", done
    assert await logs_in(live_server, with_totp, NEW_PASSWORD) == "SecondFactorRequired"


async def test_a_passkey_only_account_proves_its_passkey(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await verified(await make_user())
    # The passkey recorded from Chromium (tests/fixtures/webauthn), registered to the user.
    await redis.set(f"webauthn:register:{user.id}", RECORDED["registration_challenge"].encode())
    rp = RelyingParty("localhost", "Wallet", (RECORDED["origin"],))
    await passkeys.register(redis, rp, user.id, json.dumps(RECORDED["registration"]), "Key", None)
    await request(live_server, user.username)
    code = await emailed_code(redis, user)
    asked = await reset(live_server, user, code)
    assert asked["__typename"] == "StepUpRequired" and asked["methods"] == ["PASSKEY"], asked

    async with live_server.client() as http:
        started = (
            await http.post(
                "/graphql",
                json={"query": START_PASSKEY, "variables": {"login": user.username, "code": code}},
                headers={"origin": RECORDED["origin"]},
            )
        ).json()["data"]["startPasswordResetPasskey"]
    assert started["__typename"] == "PasskeyOptionsPayload"
    assert (
        json.loads(started["options"])["allowCredentials"][0]["id"]
        == (RECORDED["registration"]["rawId"])
    )
    # The recorded answer signs the recorded challenge: put it under this ceremony.
    ceremony = {
        "challenge": RECORDED["authentication_challenge"].encode().hex(),
        "user_id": user.id,
    }
    await redis.set(f"webauthn:authenticate:{started['challengeId']}", json.dumps(ceremony))
    done = await reset(
        live_server,
        user,
        code,
        factor="PASSKEY",
        passkeyChallengeId=started["challengeId"],
        passkeyCredential=json.dumps(RECORDED["assertion"]),
        origin=RECORDED["origin"],
    )
    assert done["__typename"] == "PasswordResetPayload", done
    assert await logs_in(live_server, user, NEW_PASSWORD) == "AuthPayload"


@pytest.mark.parametrize("login", ["@nobody", "nobody@example.com"])
async def test_an_unknown_account_cannot_reset(live_server: LiveServer, login: str) -> None:
    async with live_server.client() as http:
        answer = await gql(
            http,
            RESET,
            {"input": {"login": login, "code": "123456", "newPassword": NEW_PASSWORD}},
        )
    assert answer["data"]["resetPassword"]["fieldErrors"][0]["code"] == "WRONG_CODE"
