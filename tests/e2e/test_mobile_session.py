"""A mobile app's session against the running `wallet dev` server (issue 19): sign in
with a device key, rotate the refresh token, a spent one refused, logging out ends it.
The app here is an HTTP client holding a device key, as the phone app would be."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.devices import TestDevice
from tests.e2e.conftest import PASSWORD, WebApp, registered_user
from tests.graphql_client import LOG_OUT, gql

pytestmark = pytest.mark.e2e

LOG_IN = """mutation($input: LogInInput!) { logIn(input: $input) { __typename
  ... on AuthPayload { token refreshToken } } }"""
REFRESH = """mutation($input: RefreshSessionInput!) { refreshSession(input: $input) {
  __typename ... on SessionRefreshed { accessToken refreshToken } ... on UserError { code } } }"""
ME = "{ me { username } }"


async def rotate(http: httpx.AsyncClient, device: TestDevice, token: str) -> dict[str, Any]:
    proof = await device.proof(http)
    body = await gql(http, REFRESH, {"input": {"refreshToken": token, "device": proof}})
    return body["data"]["refreshSession"]  # type: ignore[no-any-return]


async def test_a_phone_signs_in_rotates_its_refresh_token_and_signs_out(web_app: WebApp) -> None:
    username = await registered_user(web_app)
    device = TestDevice()
    async with httpx.AsyncClient(
        base_url=web_app.url, headers={"user-agent": "WalletApp/3.0"}
    ) as http:
        login = {
            "login": username,
            "password": PASSWORD,
            "sessionTransport": "BEARER",
            "device": await device.proof(http),
        }
        signed_in = (await gql(http, LOG_IN, {"input": login}))["data"]["logIn"]
        assert signed_in["__typename"] == "AuthPayload" and signed_in["refreshToken"]
        me = await gql(http, ME, token=signed_in["token"])
        assert me["data"]["me"]["username"] == username

        renewed = await rotate(http, device, signed_in["refreshToken"])
        assert renewed["__typename"] == "SessionRefreshed"
        # The old access token ended with the rotation; the new one works.
        assert (await gql(http, ME, token=signed_in["token"]))["data"]["me"] is None
        assert (await gql(http, ME, token=renewed["accessToken"]))["data"]["me"] is not None
        again = await rotate(http, device, renewed["refreshToken"])
        assert again["__typename"] == "SessionRefreshed"

        # Another device key cannot use it.
        stolen = await rotate(http, TestDevice(), again["refreshToken"])
        assert stolen == {"__typename": "DeviceMismatch", "code": "DEVICE_MISMATCH"}

        await gql(http, LOG_OUT, token=again["accessToken"])
        ended = await rotate(http, device, again["refreshToken"])
        assert ended == {"__typename": "RefreshTokenInvalid", "code": "REFRESH_TOKEN_INVALID"}
