"""Finding 19 of the security review, replayed: a device used to be only the SHA-256 of
its User-Agent, so copying the victim's browser string made a stolen password look
like the victim's own device. Devices are now bound by a key pair: only the holder of
the private key is that device, and a device is trusted only once a second factor was
proven on it."""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import LiveServer
from tests.devices import TestDevice, b64url
from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, call, gql
from tests.integration.test_devices_sessions import CHROME, log_in, new_device_events
from tests.ledger_helpers import wallet_cents

SEND = """mutation($input: SendMoneyInput!) { sendMoney(input: $input) { __typename
  ... on StepUpRequired { methods } } }"""
STEP_UP = """mutation($c: String!) { verifyStepUp(method: PIN, code: $c) { __typename } }"""
DEVICES = "{ devices { label bound trusted } }"


async def send_one(live: LiveServer, token: str, to: str) -> dict:  # type: ignore[type-arg]
    variables = {
        "input": {"recipient": f"@{to}", "amount": "1.00", "idempotencyKey": uuid.uuid4().hex}
    }
    return await call(live, token, SEND, {"input": variables["input"]})


async def log_in_without_proof(live: LiveServer, username: str, agent: str) -> str:
    async with live.client() as http:
        http.headers["user-agent"] = agent
        result = await gql(
            http,
            LOG_IN,
            {"input": {"login": username, "password": PASSWORD, "sessionTransport": "BEARER"}},
        )
    return str(result["data"]["logIn"]["token"])


async def test_copying_the_victims_user_agent_does_not_make_a_known_device(
    live_server: LiveServer,
) -> None:
    victim, friend = await make_user(balance="50.00", pin="7391"), await make_user()
    usual = await log_in(live_server, victim.username, CHROME)  # the victim's own browser
    assert (await send_one(live_server, usual, friend.username))["__typename"] == (
        "SendMoneyPayload"
    )
    # The attacker has the password and the exact same User-Agent string.
    for attacker in (
        await log_in_without_proof(live_server, victim.username, CHROME),
        await log_in(live_server, victim.username, CHROME, TestDevice()),  # its own key
    ):
        refused = await send_one(live_server, attacker, friend.username)
        assert (refused["__typename"], refused["methods"]) == ("StepUpRequired", ["PIN"])
    assert await wallet_cents(victim.id) == 4_900
    assert len(await new_device_events(victim.id)) == 2  # the victim is told of both


async def test_a_device_is_trusted_once_a_second_factor_is_proven_on_it(
    live_server: LiveServer,
) -> None:
    user, friend = await make_user(balance="50.00", pin="7391"), await make_user()
    await log_in(live_server, user.username, CHROME)
    phone = TestDevice()
    first = await log_in(live_server, user.username, "WalletApp/2.1", phone)
    assert (await send_one(live_server, first, friend.username))["__typename"] == "StepUpRequired"
    assert (await call(live_server, first, STEP_UP, {"c": "7391"}))["__typename"] == (
        "StepUpPayload"
    )
    assert (await send_one(live_server, first, friend.username))["__typename"] == (
        "SendMoneyPayload"
    )
    again = await log_in(live_server, user.username, "WalletApp/2.1", phone)
    assert (await send_one(live_server, again, friend.username))["__typename"] == (
        "SendMoneyPayload"
    )
    listed = await call(live_server, again, DEVICES)
    assert {(d["label"], d["bound"], d["trusted"]) for d in listed} == {
        ("Chrome on Linux", True, True),
        ("Wallet app", True, True),
    }


async def test_a_sign_in_without_a_proof_is_never_recognised_after_the_first(
    live_server: LiveServer,
) -> None:
    user, friend = await make_user(balance="50.00", pin="7391"), await make_user()
    first = await log_in_without_proof(live_server, user.username, CHROME)
    assert (await send_one(live_server, first, friend.username))["__typename"] == (
        "SendMoneyPayload"
    )  # where the account was made
    later = await log_in_without_proof(live_server, user.username, CHROME)
    assert (await call(live_server, later, STEP_UP, {"c": "7391"}))["__typename"] == (
        "StepUpPayload"
    )
    again = await log_in_without_proof(live_server, user.username, CHROME)
    assert (await send_one(live_server, again, friend.username))["__typename"] == (
        "StepUpRequired"  # an unbound device cannot be trusted: anyone could claim it
    )


DEVICE_ERROR = "__typename ... on ValidationError { fieldErrors { field code } }"


async def test_device_proofs_are_checked_and_work_once(live_server: LiveServer) -> None:
    user = await make_user()
    device = TestDevice()
    query = f"mutation($input: LogInInput!) {{ logIn(input: $input) {{ {DEVICE_ERROR} }} }}"
    async with live_server.client() as http:
        proof = await device.proof(http)
        login = {"login": user.username, "password": PASSWORD, "device": proof}
        assert (await gql(http, query, {"input": login}))["data"]["logIn"]["__typename"] == (
            "AuthPayload"
        )
        replayed = (await gql(http, query, {"input": login}))["data"]["logIn"]
        assert replayed["fieldErrors"] == [{"field": "device", "code": "DEVICE_PROOF_INVALID"}]

        forged = await device.proof(http)
        forged["signature"] = b64url(TestDevice().sign(b"something else"))
        refused = (await gql(http, query, {"input": {**login, "device": forged}}))["data"]["logIn"]
        assert refused["fieldErrors"] == [{"field": "device", "code": "DEVICE_PROOF_INVALID"}]

        other_curve = (
            ec.generate_private_key(ec.SECP384R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        wrong_key = {**(await device.proof(http)), "publicKey": b64url(other_curve)}
        refused = (await gql(http, query, {"input": {**login, "device": wrong_key}}))["data"][
            "logIn"
        ]
        assert refused["fieldErrors"] == [{"field": "device", "code": "DEVICE_PROOF_INVALID"}]
