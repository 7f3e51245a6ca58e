"""Referrals (issue 18, item 8): a code and link per user, joining with it at sign-up or
later, the bonus both get once the newcomer qualifies, and the guards: the inviter's
own code, rings, a device or a payment method shared with the inviter's circle."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.devices import TestDevice
from tests.factories import PASSWORD, make_user
from tests.graphql_client import (
    ADD_CARD,
    ADD_MONEY,
    SIGN_UP,
    call,
    card_details,
    gql,
    send,
    step_up,
    token_for,
    tokenize,
)
from tests.ledger_helpers import wallet_cents
from wallet.config import Settings
from wallet.db.engine import connection, transaction
from wallet.rates import SandboxRates
from wallet.rewards import referrals
from wallet.rewards.referrals import ReferralRule, ReferralStatus
from wallet.users.models import User

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

RULE = ReferralRule.from_settings(Settings.from_env())
PROGRAM = """{ rewards { badges { code earned } referral { code invitedBy canEnterCode
  terms { referrerBonus { amount currency } referredBonus { amount currency }
          minimum { amount currency } days summary }
  friends { username status } } } }"""
APPLY = """mutation($code: String!) { applyReferralCode(code: $code) {
  __typename ... on ApplyReferralCodePayload { invitedBy }
  ... on ValidationError { fieldErrors { field code message } } ... on UserError { code } } }"""
SIGN_UP_NOTICE = SIGN_UP.replace("token user {", "token referralNotice user {")
TERMS = "{ referralTerms { summary days minimum { amount currency } } }"
IDENTITY = """mutation($input: IdentityInput!) { submitIdentity(input: $input) { __typename } }"""
PERSON = {
    "legalName": "Kim Newcomer",
    "dateOfBirth": "1990-12-10",
    "address": "1 Market Street, San Francisco",
    "country": "us",
}
_seq = iter(range(10_000))


async def rates() -> Any:
    return await SandboxRates().snapshot()


async def program(live: LiveServer, token: str) -> dict[str, Any]:
    rewards = await call(live, token, PROGRAM)
    return {**rewards["referral"], "badges": {b["code"]: b["earned"] for b in rewards["badges"]}}


async def sign_up(
    live: LiveServer, device: TestDevice, *, code: str | None = None, **extra: str
) -> tuple[int, str, dict[str, Any]]:
    """A newcomer signs up from `device` (bearer session); (id, token, payload)."""
    n = next(_seq)
    async with live.client() as http:
        body = await gql(
            http,
            SIGN_UP_NOTICE,
            {
                "input": {
                    "email": f"friend{n}@example.com",
                    "phone": f"+1415556{n:04d}",
                    "username": f"friend_{n}",
                    "password": PASSWORD,
                    "sessionTransport": "BEARER",
                    "device": await device.proof(http),
                    **({"referralCode": code} if code is not None else {}),
                    **extra,
                }
            },
        )
    payload = body["data"]["signUp"]
    assert payload["__typename"] == "AuthPayload", payload
    return int(payload["user"]["id"]), payload["token"], payload


async def verify(live: LiveServer, token: str) -> None:
    done = await call(live, token, IDENTITY, {"input": PERSON})
    assert done["__typename"] == "VerificationPayload", done


async def inviter(live: LiveServer, balance: str = "50.00") -> tuple[User, str, str]:
    """A user with a balance, signed in from the helpers' usual device; (user, token, code)."""
    user = await make_user(balance=balance)
    token = await token_for(live, user)
    return user, token, (await program(live, token))["code"]


async def test_both_are_paid_once_when_the_friend_is_verified_and_moves_the_minimum(
    live_server: LiveServer,
) -> None:
    referrer, referrer_token, code = await inviter(live_server)
    stranger = await make_user()
    assert len(code) == 10
    terms = await call(live_server, None, TERMS)
    assert terms["minimum"] == {"amount": "10.00", "currency": "USD"} and terms["days"] == 30

    # The link's code, typed the way people do (lower case, a dash, O for 0).
    typed = (code[:5] + "-" + code[5:]).lower().replace("0", "o")
    kim, kim_token, joined = await sign_up(live_server, TestDevice(), code=typed)
    assert joined["referralNotice"] is None
    mine = await program(live_server, kim_token)
    assert (mine["invitedBy"], mine["canEnterCode"]) == (referrer.username, False)
    theirs = await program(live_server, referrer_token)
    assert theirs["friends"] == [{"username": joined["user"]["username"], "status": "PENDING"}]

    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.PENDING
    await verify(live_server, kim_token)
    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.PENDING
    # Money from the inviter, sent straight back to them, does not qualify...
    await send(live_server, referrer_token, joined["user"]["username"], "40.00")
    assert (await send(live_server, kim_token, referrer.username, "15.00"))["transfer"]
    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.PENDING
    # ... less than the minimum to someone else neither; the minimum does.
    sent = await send(live_server, kim_token, stranger.username, "9.99")
    assert sent["__typename"] == "SendMoneyPayload", sent
    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.PENDING
    sent = await send(live_server, kim_token, stranger.username, "10.00")
    assert sent["__typename"] == "SendMoneyPayload", sent
    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.PAID
    assert await referrals.settle(kim, RULE, await rates()) is None

    assert await wallet_cents(referrer.id) == 5_000 - 4_000 + 1_500 + 1_000
    assert await wallet_cents(kim) == 4_000 - 1_500 - 999 - 1_000 + 500
    theirs = await program(live_server, referrer_token)
    assert theirs["friends"][0]["status"] == "PAID"
    assert theirs["badges"]["connector"] is True
    async with connection() as conn:
        notes = await conn.fetch(
            "SELECT note, amount FROM money_transaction WHERE type = 'reward' ORDER BY id"
        )
    assert [(r["note"], r["amount"]) for r in notes] == [
        (f"Referral bonus: @{joined['user']['username']} joined", 1_000),
        (f"Welcome bonus: invited by @{referrer.username}", 500),
    ]


async def test_a_code_that_cannot_be_used_never_stops_the_sign_up(
    live_server: LiveServer,
) -> None:
    referrer = await make_user()
    kim, _, joined = await sign_up(live_server, TestDevice(), code="ZZZZZZZZZZ")
    assert "not applied: No one has that invitation code" in joined["referralNotice"]
    # The username the API used to take still works, and an unknown one is said too.
    _, _, old_style = await sign_up(live_server, TestDevice(), referredBy=f"@{referrer.username}")
    assert old_style["referralNotice"] is None
    _, _, unknown = await sign_up(live_server, TestDevice(), referredBy="@nobody_at_all")
    assert "No one has that invitation code" in unknown["referralNotice"]
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM referral") == 1
        told = await conn.fetchval(
            "SELECT payload->>'title' FROM outbox_event WHERE topic = 'notice' "
            "AND (payload->>'user_id')::bigint = $1",
            kim,
        )
    assert told == "Invitation not applied"


async def test_entering_a_code_later_refuses_own_codes_rings_and_second_invitations(
    live_server: LiveServer,
) -> None:
    ann, ann_token, ann_code = await inviter(live_server)
    bob, bob_token, bob_code = await inviter(live_server)
    cid, cid_token, _ = await sign_up(live_server, TestDevice())
    joined = await call(live_server, bob_token, APPLY, {"code": ann_code})
    assert joined == {"__typename": "ApplyReferralCodePayload", "invitedBy": ann.username}

    async def refused(token: str, code: str) -> str:
        result = await call(live_server, token, APPLY, {"code": code})
        (error,) = result["fieldErrors"]
        assert error["field"] == "code"
        return str(error["code"])

    assert await refused(ann_token, ann_code) == "OWN_CODE"
    assert await refused(ann_token, bob_code) == "REFERRAL_RING"  # bob joined with ann's
    assert await refused(bob_token, ann_code) == "ALREADY_REFERRED"
    assert await refused(cid_token, "not a code") == "UNKNOWN"
    # cid invites dan, dan invites erin: erin's chain leads back to cid.
    _, dan_token, _ = await sign_up(
        live_server, TestDevice(), code=(await program(live_server, cid_token))["code"]
    )
    _, erin_token, _ = await sign_up(
        live_server, TestDevice(), code=(await program(live_server, dan_token))["code"]
    )
    assert await refused(cid_token, (await program(live_server, erin_token))["code"]) == (
        "REFERRAL_RING"
    )
    async with transaction() as conn:
        await conn.execute(
            "UPDATE app_user SET created_at = now() - interval '31 days' WHERE id = $1", cid
        )
    assert (await program(live_server, cid_token))["canEnterCode"] is False
    assert await refused(cid_token, bob_code) == "TOO_LATE"
    anonymous = await call(live_server, None, APPLY, {"code": ann_code})
    assert anonymous == {"__typename": "NotAuthenticated", "code": "NOT_AUTHENTICATED"}
    async with connection() as conn:
        rows = await conn.fetch("SELECT referred_user_id, referrer_id FROM referral ORDER BY 1")
    assert [(r["referred_user_id"], r["referrer_id"]) for r in rows][:1] == [(bob.id, ann.id)]
    assert len(rows) == 3  # bob, dan, erin


async def qualify(live: LiveServer, token: str, to: str) -> None:
    await verify(live, token)
    assert (await send(live, token, to, "10.00"))["__typename"] == "SendMoneyPayload"


async def test_no_bonus_for_a_friend_who_joins_from_the_inviters_device(
    live_server: LiveServer,
) -> None:
    phone = TestDevice()
    referrer = await make_user(balance="50.00")
    referrer_token = await token_for(live_server, referrer, phone)
    code = (await program(live_server, referrer_token))["code"]
    stranger = await make_user()
    kim, kim_token, joined = await sign_up(live_server, phone, code=code)
    assert joined["referralNotice"] is None  # quietly: the answer teaches nothing
    await send(live_server, referrer_token, joined["user"]["username"], "20.00")
    await qualify(live_server, kim_token, stranger.username)
    assert await referrals.settle(kim, RULE, await rates()) is None  # decided when joining
    friends = (await program(live_server, referrer_token))["friends"]
    assert friends == [{"username": joined["user"]["username"], "status": "NOT_ELIGIBLE"}]
    assert await wallet_cents(referrer.id) == 3_000
    async with connection() as conn:
        row = await conn.fetchrow("SELECT status, refusal FROM referral")
        assert await conn.fetchval("SELECT count(*) FROM referral_bonus") == 0
    assert dict(row) == {"status": "refused", "refusal": "shared_device"}


async def add_card(live: LiveServer, token: str, number: str) -> str:
    await step_up(live, token)
    card = await tokenize(live, card_details(number))
    result = await call(live, token, ADD_CARD, {"input": {"token": card}})
    assert result["__typename"] == "AddPaymentMethodPayload", result
    return str(result["paymentMethod"]["id"])


async def top_up(live: LiveServer, token: str, method: str, amount: str) -> None:
    variables = {
        "input": {
            "paymentMethodId": method,
            "amount": amount,
            "currency": "USD",
            "idempotencyKey": uuid.uuid4().hex,
        }
    }
    result = await call(live, token, ADD_MONEY, variables)
    assert result["transaction"]["status"] == "COMPLETED", result


async def test_no_bonus_for_a_friend_who_pays_with_a_card_the_inviter_uses(
    live_server: LiveServer,
) -> None:
    referrer, referrer_token, code = await inviter(live_server)
    await add_card(live_server, referrer_token, "4242424242424242")
    kim, kim_token, _ = await sign_up(live_server, TestDevice(), code=code)
    lee, lee_token, _ = await sign_up(live_server, TestDevice(), code=code)
    for token, number in ((kim_token, "4242424242424242"), (lee_token, "5555555555554444")):
        await verify(live_server, token)
        await top_up(live_server, token, await add_card(live_server, token, number), "20.00")
    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.REFUSED
    assert await referrals.settle(lee, RULE, await rates()) is ReferralStatus.PAID
    assert await wallet_cents(referrer.id) == 5_000 + 1_000  # for lee only
    assert await wallet_cents(kim) == 2_000
    assert await wallet_cents(lee) == 2_000 + 500
    async with connection() as conn:
        refusal = await conn.fetchval(
            "SELECT refusal FROM referral WHERE referred_user_id = $1", kim
        )
    assert refusal == "shared_payment_method"


async def test_accounts_made_on_one_phone_with_a_friends_code_earn_nothing(
    live_server: LiveServer,
) -> None:
    """A farm: one person signs up twice on one phone with a friend's code. The second
    account is refused as it joins; the first when it qualifies (its sibling shares its
    phone)."""
    referrer, referrer_token, code = await inviter(live_server)
    stranger = await make_user()
    farm = TestDevice()
    first, first_token, first_payload = await sign_up(live_server, farm, code=code)
    second, second_token, second_payload = await sign_up(live_server, farm, code=code)
    for payload in (first_payload, second_payload):
        await send(live_server, referrer_token, payload["user"]["username"], "10.00")
    for token in (first_token, second_token):
        await qualify(live_server, token, stranger.username)
    outcomes = [await referrals.settle(u, RULE, await rates()) for u in (first, second)]
    assert outcomes == [ReferralStatus.REFUSED, None]
    friends = (await program(live_server, referrer_token))["friends"]
    assert {f["status"] for f in friends} == {"NOT_ELIGIBLE"}
    assert await wallet_cents(referrer.id) == 3_000


async def test_the_bonus_is_paid_once_under_concurrent_qualifying_events(
    live_server: LiveServer,
) -> None:
    referrer, referrer_token, code = await inviter(live_server)
    stranger = await make_user()
    kim, kim_token, joined = await sign_up(live_server, TestDevice(), code=code)
    await send(live_server, referrer_token, joined["user"]["username"], "30.00")
    await verify(live_server, kim_token)
    # Three qualifying sends at once, each settled by many workers at once.
    await asyncio.gather(
        *(send(live_server, kim_token, stranger.username, "10.00") for _ in range(3))
    )
    snapshot = await rates()
    outcomes = await asyncio.gather(*(referrals.settle(kim, RULE, snapshot) for _ in range(16)))
    assert outcomes.count(ReferralStatus.PAID) == 1
    assert set(outcomes) == {ReferralStatus.PAID, None}
    assert await wallet_cents(referrer.id) == 5_000 - 3_000 + 1_000
    assert await wallet_cents(kim) == 3_000 - 3_000 + 500
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM referral_bonus") == 1
        assert (
            await conn.fetchval("SELECT count(*) FROM money_transaction WHERE type = 'reward'") == 2
        )


async def test_a_verification_decision_settles_a_friend_who_already_moved_money(
    live_server: LiveServer,
) -> None:
    referrer, referrer_token, code = await inviter(live_server)
    stranger = await make_user()
    kim, kim_token, joined = await sign_up(live_server, TestDevice(), code=code)
    await send(live_server, referrer_token, joined["user"]["username"], "20.00")
    await send(live_server, kim_token, stranger.username, "12.00")
    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.PENDING
    await verify(live_server, kim_token)
    async with connection() as conn:
        event = await conn.fetchval(
            "SELECT id FROM outbox_event WHERE topic = 'notice' AND payload->>'kind' = 'kyc' "
            "AND (payload->>'user_id')::bigint = $1",
            kim,
        )
    assert await referrals.settle_on_notice(event, RULE, await rates()) is True
    assert await wallet_cents(kim) == 2_000 - 1_200 + 500
    assert await wallet_cents(referrer.id) == 5_000 - 2_000 + 1_000


async def test_a_friend_who_does_not_qualify_in_time_expires(live_server: LiveServer) -> None:
    referrer, referrer_token, code = await inviter(live_server)
    kim, kim_token, joined = await sign_up(live_server, TestDevice(), code=code)
    await verify(live_server, kim_token)
    async with transaction() as conn:
        await conn.execute(
            "UPDATE referral SET qualify_by = now() - interval '1 second' "
            "WHERE referred_user_id = $1",
            kim,
        )
    friends = (await program(live_server, referrer_token))["friends"]
    assert friends == [{"username": joined["user"]["username"], "status": "EXPIRED"}]
    await send(live_server, referrer_token, joined["user"]["username"], "20.00")
    assert await referrals.settle(kim, RULE, await rates()) is ReferralStatus.EXPIRED
    assert await wallet_cents(referrer.id) == 3_000
