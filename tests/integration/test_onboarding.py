"""A new user's checklist (issue 19): each step done from what is stored, and what it
unlocks in plain words, with each level's limits from the configured policy."""

from __future__ import annotations

from datetime import date

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from wallet.db.engine import connection
from wallet.kyc import service as kyc
from wallet.kyc.identity import PersonDetails, SandboxIdentityProvider
from wallet.users.pin import set_pin

ONBOARDING = """{ onboarding { done complete items { step done title unlocks path } } }"""


async def steps(live: LiveServer, token: str) -> dict[str, bool]:
    found = await call(live, token, ONBOARDING)
    return {i["step"]: i["done"] for i in found["items"]}


async def test_a_new_user_sees_every_step_and_what_it_unlocks(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    found = await call(live_server, token, ONBOARDING)
    assert (found["done"], found["complete"]) == (0, False)
    assert [(i["step"], i["done"], i["path"]) for i in found["items"]] == [
        ("VERIFY_EMAIL", False, "/profile/security"),
        ("VERIFY_PHONE", False, "/profile/security"),
        ("SET_PIN", False, "/profile/security"),
        ("ADD_MONEY", False, "/pay/add"),
        ("VERIFY_IDENTITY", False, "/profile/limits"),
    ]
    identity = found["items"][-1]
    # The default policy: unverified and basic levels, in whole dollars.
    assert identity["unlocks"] == (
        "Today you can send up to $1,000 at a time and $2,500 a day, and hold up to "
        "$10,000. Verified, you can send up to $5,000 at a time and $10,000 a day, and "
        "hold up to $50,000"
    )


async def test_steps_are_done_as_the_user_does_them(live_server: LiveServer) -> None:
    user = await make_user()
    token = await token_for(live_server, user)
    async with connection() as conn:  # codes confirmed (their own flow is tested apart)
        await conn.execute(
            "UPDATE app_user SET email_verified_at = now(), phone_verified_at = now() "
            "WHERE id = $1",
            user.id,
        )
    await set_pin(user.id, "2468")
    assert await steps(live_server, token) == {
        "VERIFY_EMAIL": True,
        "VERIFY_PHONE": True,
        "SET_PIN": True,
        "ADD_MONEY": False,
        "VERIFY_IDENTITY": False,
    }
    # Money that arrives counts as money added.
    friend = await make_user(balance="5.00")
    assert (await send(live_server, await token_for(live_server, friend), user.username, "1.00"))[
        "transfer"
    ]
    assert (await steps(live_server, token))["ADD_MONEY"] is True

    person = PersonDetails("Ann Example", date(1990, 1, 1), "1 Main Street, Springfield", "US")
    await kyc.submit_identity(user.id, person, SandboxIdentityProvider(), date(2026, 1, 1))
    basic = await call(live_server, token, ONBOARDING)
    identity = basic["items"][-1]
    # Basic is a step on the way: the step is done at full verification.
    assert identity["done"] is False
    assert identity["unlocks"].startswith("Today you can send up to $5,000 at a time")
    assert identity["unlocks"].endswith(
        "Verified, you can send up to $25,000 at a time and "
        "$50,000 a day, with no cap on your balance"
    )
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET verification_level = 'full' WHERE id = $1", user.id)
    full = await call(live_server, token, ONBOARDING)
    assert (full["done"], full["complete"]) == (5, True)
    assert full["items"][-1]["unlocks"] == (
        "Now you can send up to $25,000 at a time and $50,000 a day, with no cap on your balance"
    )


async def test_logged_out_gets_no_checklist(live_server: LiveServer) -> None:
    assert await call(live_server, None, ONBOARDING) is None
