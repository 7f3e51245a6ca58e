"""Mobile sessions over GraphQL, through the real app: logIn with BEARER and a device
proof returns a short-lived access token and a refresh token; refreshSession rotates
them with a fresh proof from the same device key; a spent token signs the session out;
changing the password or logging out ends the refresh token too."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx

from tests.conftest import LiveServer, run_live_server
from tests.devices import TestDevice
from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_OUT, call, gql, step_up
from wallet.config import Settings
from wallet.db.engine import connection

LOG_IN = """
mutation($input: LogInInput!) {
  logIn(input: $input) {
    __typename
    ... on AuthPayload { token tokenExpiresAt refreshToken refreshTokenExpiresAt }
  }
}"""

REFRESH = """
mutation($input: RefreshSessionInput!) {
  refreshSession(input: $input) {
    __typename
    ... on SessionRefreshed {
      accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt
    }
    ... on UserError { code message }
    ... on ValidationError { fieldErrors { field code } }
  }
}"""

ME = "{ me { username } }"
SESSIONS = "{ sessions { id device current } }"
REVOKE = "mutation($id: ID!) { revokeSession(id: $id) { revoked } }"
CHANGE_PASSWORD = """mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    __typename ... on PasswordChangedPayload { signedOutSessions } } }"""


async def sign_in(live: LiveServer, username: str, device: TestDevice) -> dict[str, Any]:
    async with live.client() as http:
        http.headers["user-agent"] = "WalletApp/3.0"
        login = {
            "login": username,
            "password": PASSWORD,
            "sessionTransport": "BEARER",
            "device": await device.proof(http),
        }
        result = (await gql(http, LOG_IN, {"input": login}))["data"]["logIn"]
    assert result["__typename"] == "AuthPayload", result
    return result  # type: ignore[no-any-return]


async def refresh(
    live: LiveServer, refresh_token: str, device: TestDevice, http: httpx.AsyncClient | None = None
) -> dict[str, Any]:
    async with live.client() as own:
        client = http or own
        proof = await device.proof(client)
        body = await gql(
            client, REFRESH, {"input": {"refreshToken": refresh_token, "device": proof}}
        )
    assert "errors" not in body, body
    return body["data"]["refreshSession"]  # type: ignore[no-any-return]


async def me(live: LiveServer, token: str) -> str | None:
    found = await call(live, token, ME)
    return None if found is None else str(found["username"])


async def reuse_alerts(user_id: int) -> int:
    async with connection() as conn:
        found = await conn.fetchval(
            "SELECT count(*) FROM outbox_event WHERE topic = 'notice' "
            "AND payload->>'kind' = 'refresh_token_reused' "
            "AND (payload->>'user_id')::bigint = $1",
            user_id,
        )
    return int(found)


def seconds_from_now(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp() - time.time()


async def test_a_mobile_session_rotates_over_graphql_and_a_spent_token_signs_it_out(
    live_server: LiveServer,
) -> None:
    user, device = await make_user(), TestDevice()
    signed_in = await sign_in(live_server, user.username, device)
    assert signed_in["refreshToken"]
    assert 880 < seconds_from_now(signed_in["tokenExpiresAt"]) <= 900
    assert 30 * 86400 - 60 < seconds_from_now(signed_in["refreshTokenExpiresAt"]) <= 30 * 86400
    assert await me(live_server, signed_in["token"]) == user.username

    first = await refresh(live_server, signed_in["refreshToken"], device)
    assert first["__typename"] == "SessionRefreshed", first
    assert first["refreshToken"] != signed_in["refreshToken"]
    assert 880 < seconds_from_now(first["accessTokenExpiresAt"]) <= 900
    assert await me(live_server, first["accessToken"]) == user.username
    assert await me(live_server, signed_in["token"]) is None  # the previous access token

    second = await refresh(live_server, first["refreshToken"], device)
    assert second["__typename"] == "SessionRefreshed", second
    assert await me(live_server, second["accessToken"]) == user.username

    # The first refresh token again: someone holds a copy. The whole family ends.
    reused = await refresh(live_server, signed_in["refreshToken"], device)
    assert (reused["__typename"], reused["code"]) == ("RefreshTokenReused", "REFRESH_TOKEN_REUSED")
    assert "Sign in again" in reused["message"]
    assert await me(live_server, second["accessToken"]) is None
    assert await reuse_alerts(user.id) == 1  # the owner hears of it, on every channel
    gone = await refresh(live_server, second["refreshToken"], device)
    assert (gone["__typename"], gone["code"]) == ("RefreshTokenInvalid", "REFRESH_TOKEN_INVALID")


async def test_two_refreshes_at_once_over_http_let_one_win_and_sign_nobody_out(
    live_server: LiveServer,
) -> None:
    user, device = await make_user(), TestDevice()
    signed_in = await sign_in(live_server, user.username, device)
    async with live_server.client() as a, live_server.client() as b:
        proofs = [await device.proof(a), await device.proof(b)]
        answers = await asyncio.gather(
            *(
                gql(http, REFRESH, {"input": {"refreshToken": signed_in["refreshToken"], **p}})
                for http, p in ((a, {"device": proofs[0]}), (b, {"device": proofs[1]}))
            )
        )
    # One app renewing twice at once (two requests got 401): one wins, the other is told
    # to use the winner's pair; nobody is signed out and nobody is alerted.
    kinds = sorted(answer["data"]["refreshSession"]["__typename"] for answer in answers)
    assert kinds == ["RefreshInProgress", "SessionRefreshed"]
    winner = next(
        answer["data"]["refreshSession"]
        for answer in answers
        if answer["data"]["refreshSession"]["__typename"] == "SessionRefreshed"
    )
    assert await me(live_server, winner["accessToken"]) is not None
    assert await reuse_alerts(user.id) == 0
    renewed = await refresh(live_server, winner["refreshToken"], device)
    assert renewed["__typename"] == "SessionRefreshed"


async def test_a_refresh_needs_a_fresh_proof_from_the_same_device_key(
    live_server: LiveServer,
) -> None:
    user, device, thief = await make_user(), TestDevice(), TestDevice()
    signed_in = await sign_in(live_server, user.username, device)

    stolen = await refresh(live_server, signed_in["refreshToken"], thief)
    assert (stolen["__typename"], stolen["code"]) == ("DeviceMismatch", "DEVICE_MISMATCH")

    async with live_server.client() as http:
        replayed = await device.proof(http)
        await gql(  # the proof's challenge is used once
            http, REFRESH, {"input": {"refreshToken": "nope", "device": replayed}}
        )
        again = await gql(
            http,
            REFRESH,
            {"input": {"refreshToken": signed_in["refreshToken"], "device": replayed}},
        )
    refused = again["data"]["refreshSession"]
    assert refused["__typename"] == "ValidationError"
    assert refused["fieldErrors"] == [{"field": "device", "code": "DEVICE_PROOF_INVALID"}]

    # Neither refusal spent the token or ended the session.
    assert await me(live_server, signed_in["token"]) == user.username
    assert await reuse_alerts(user.id) == 0
    renewed = await refresh(live_server, signed_in["refreshToken"], device)
    assert renewed["__typename"] == "SessionRefreshed", renewed


async def test_an_expired_access_token_is_renewed_with_the_refresh_token(
    settings: Settings,
) -> None:
    settings = settings.replace(auth={"bearer_access_seconds": 1})
    user, device = await make_user(), TestDevice()
    async with run_live_server(settings) as live:
        signed_in = await sign_in(live, user.username, device)
        assert await me(live, signed_in["token"]) == user.username
        await asyncio.sleep(1.3)
        assert await me(live, signed_in["token"]) is None
        renewed = await refresh(live, signed_in["refreshToken"], device)
        assert renewed["__typename"] == "SessionRefreshed", renewed
        assert await me(live, renewed["accessToken"]) == user.username


async def test_changing_the_password_ends_the_other_devices_refresh_tokens(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    phone, tablet = TestDevice(), TestDevice()
    on_phone = await sign_in(live_server, user.username, phone)
    on_tablet = await sign_in(live_server, user.username, tablet)
    await step_up(live_server, on_tablet["token"])
    changed = await call(
        live_server,
        on_tablet["token"],
        CHANGE_PASSWORD,
        {"current": PASSWORD, "new": "a-much-newer-passphrase-77"},
    )
    assert changed == {"__typename": "PasswordChangedPayload", "signedOutSessions": 1}

    ended = await refresh(live_server, on_phone["refreshToken"], phone)
    assert ended["__typename"] == "RefreshTokenInvalid", ended
    assert await me(live_server, on_phone["token"]) is None
    # The device that changed it stays signed in, and keeps refreshing.
    kept = await refresh(live_server, on_tablet["refreshToken"], tablet)
    assert kept["__typename"] == "SessionRefreshed", kept


async def test_logging_out_ends_the_refresh_token(live_server: LiveServer) -> None:
    user, device = await make_user(), TestDevice()
    signed_in = await sign_in(live_server, user.username, device)
    assert (await call(live_server, signed_in["token"], LOG_OUT))["ok"] is True
    ended = await refresh(live_server, signed_in["refreshToken"], device)
    assert ended["__typename"] == "RefreshTokenInvalid", ended


async def test_cookie_and_unproven_sign_ins_get_no_refresh_token(live_server: LiveServer) -> None:
    user = await make_user()
    async with live_server.client() as http:
        cookie = (
            await gql(http, LOG_IN, {"input": {"login": user.username, "password": PASSWORD}})
        )["data"]["logIn"]
        assert (cookie["token"], cookie["refreshToken"]) == (None, None)
        assert http.cookies  # the web app's session cookie, as before
        unproven = (
            await gql(
                http,
                LOG_IN,
                {
                    "input": {
                        "login": user.username,
                        "password": PASSWORD,
                        "sessionTransport": "BEARER",
                    }
                },
            )
        )["data"]["logIn"]
    assert unproven["token"]
    assert (unproven["refreshToken"], unproven["tokenExpiresAt"]) == (None, None)


async def test_a_phone_whose_access_token_lapsed_is_listed_and_can_be_signed_out(
    settings: Settings,
) -> None:
    settings = settings.replace(auth={"bearer_access_seconds": 2})
    user, phone = await make_user(), TestDevice()
    async with run_live_server(settings) as live:
        on_phone = await sign_in(live, user.username, phone)
        await asyncio.sleep(2.2)  # the phone's access token lapsed; its refresh token lives
        async with live.client() as http:
            cookie_login = {"login": user.username, "password": PASSWORD}
            await gql(http, LOG_IN, {"input": cookie_login})  # the web app, by cookie
            listed = (await gql(http, SESSIONS))["data"]["sessions"]
            assert sorted((s["device"], s["current"]) for s in listed) == [
                ("A browser", True),
                ("Wallet app", False),
            ]
            phone_id = next(s["id"] for s in listed if not s["current"])
            revoked = await gql(http, REVOKE, {"id": phone_id})
            assert revoked["data"]["revokeSession"]["revoked"] is True
        ended = await refresh(live, on_phone["refreshToken"], phone)
        assert ended["__typename"] == "RefreshTokenInvalid", ended
