"""Passkey ceremonies checked against answers recorded from Chromium's virtual
authenticator (tests/fixtures/webauthn/record.py): a good registration and assertion
pass; a replay, a tampered signature, another origin and another user are refused."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.factories import make_user
from wallet.db.engine import connection
from wallet.security import passkeys
from wallet.security.passkeys import PasskeyError, RelyingParty

pytestmark = pytest.mark.usefixtures("database_url")

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "webauthn" / "recorded.json").read_text()
)
RP = RelyingParty("localhost", "Wallet", (RECORDED["origin"],))


async def registered(redis: Redis) -> int:
    user = await make_user()
    await redis.set(f"webauthn:register:{user.id}", RECORDED["registration_challenge"].encode())
    added = await passkeys.register(
        redis, RP, user.id, json.dumps(RECORDED["registration"]), "Laptop", None
    )
    assert added.label == "Laptop"
    return user.id


async def challenge(redis: Redis, user_id: int | None = None) -> str:
    """Store the recorded assertion's challenge under a fresh ceremony id."""
    challenge_id = f"recorded-{user_id}"
    ceremony = {
        "challenge": RECORDED["authentication_challenge"].encode().hex(),
        "user_id": user_id,
    }
    await redis.set(f"webauthn:authenticate:{challenge_id}", json.dumps(ceremony))
    return challenge_id


async def test_recorded_registration_and_assertion_verify_once(redis: Redis) -> None:
    user_id = await registered(redis)
    async with connection() as conn:
        stored = await conn.fetchrow("SELECT * FROM user_passkey WHERE user_id = $1", user_id)
    assert (
        base64.urlsafe_b64encode(bytes(stored["credential_id"])).decode().rstrip("=")
        == (RECORDED["registration"]["rawId"])
    )
    assertion = json.dumps(RECORDED["assertion"])
    challenge_id = await challenge(redis)
    assert (
        await passkeys.authenticate(redis, RP, challenge_id, assertion, None)
    ).user_id == user_id
    with pytest.raises(PasskeyError, match="start again"):  # the challenge is taken once
        await passkeys.authenticate(redis, RP, challenge_id, assertion, None)
    async with connection() as conn:
        used = await conn.fetchrow("SELECT sign_count, last_used_at FROM user_passkey")
    assert used["last_used_at"] is not None
    if used["sign_count"] > 0:  # a counter that does not move on is a cloned key
        with pytest.raises(PasskeyError):
            await passkeys.authenticate(redis, RP, await challenge(redis), assertion, None)


async def test_a_registration_answer_for_another_challenge_is_refused(redis: Redis) -> None:
    user = await make_user()
    await redis.set(f"webauthn:register:{user.id}", b"some-other-challenge")
    with pytest.raises(PasskeyError, match="could not be checked"):
        await passkeys.register(redis, RP, user.id, json.dumps(RECORDED["registration"]), "x", None)
    with pytest.raises(PasskeyError, match="start again"):  # and no second try with it
        await passkeys.register(redis, RP, user.id, json.dumps(RECORDED["registration"]), "x", None)


async def test_tampered_assertions_other_origins_and_other_users_are_refused(
    redis: Redis,
) -> None:
    user_id = await registered(redis)
    tampered = json.loads(json.dumps(RECORDED["assertion"]))
    signature = bytearray(base64.urlsafe_b64decode(tampered["response"]["signature"] + "=="))
    signature[-1] ^= 0x01
    tampered["response"]["signature"] = base64.urlsafe_b64encode(signature).decode().rstrip("=")
    with pytest.raises(PasskeyError, match="could not be checked"):
        await passkeys.authenticate(redis, RP, await challenge(redis), json.dumps(tampered), None)
    elsewhere = RelyingParty("localhost", "Wallet", ("http://localhost:1",))
    assertion = json.dumps(RECORDED["assertion"])
    with pytest.raises(PasskeyError, match="could not be checked"):
        await passkeys.authenticate(redis, elsewhere, await challenge(redis), assertion, None)
    someone_else = await make_user()
    with pytest.raises(PasskeyError, match="not registered"):
        await passkeys.authenticate(
            redis, RP, await challenge(redis), assertion, None, expected_user=someone_else.id
        )
    # The genuine answer still works for its owner after all that.
    ceremony = await challenge(redis, user_id)
    assert (await passkeys.authenticate(redis, RP, ceremony, assertion, None)).user_id == user_id


def test_without_configured_origins_only_the_relying_partys_host_is_accepted() -> None:
    development = RelyingParty("localhost", "Wallet")
    assert development.origins_for("http://localhost:5173") == ["http://localhost:5173"]
    for origin in ("http://127.0.0.1:8000", "https://evil.example", None):
        with pytest.raises(PasskeyError):
            development.origins_for(origin)
