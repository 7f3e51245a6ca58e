"""Roles inside a merchant, found by the authorization review: a read-only API key or a
cashier could answer a dispute, keys that may not read payments could read disputes,
and a co-owner could demote the founding owner to cashier."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.integration.test_buyer_protection import OPEN, RESPOND, buy
from tests.integration.test_merchant_admin import ADD_STAFF
from tests.merchant_helpers import KEY, customer, shop

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

DISPUTES = "query($m: ID!) { merchantDisputes(merchantId: $m) { id } }"
DISPUTE = "query($d: ID!) { dispute(id: $d) { id status } }"


async def key(live: LiveServer, owner_token: str, merchant_id: str, *scopes: str) -> str:
    made = await call(live, owner_token, KEY, {"m": merchant_id, "scopes": list(scopes)})
    return str(made["key"])


async def test_only_owners_and_refund_keys_answer_disputes(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    sale = await buy(live_server, owner_token, merchant_id, buyer_token)
    opened = await call(live_server, buyer_token, OPEN, {"p": sale, "r": "The coffee was cold"})
    dispute = opened["dispute"]
    cashier = await make_user()
    await call(
        live_server,
        owner_token,
        ADD_STAFF,
        {"m": merchant_id, "u": "@" + cashier.username, "r": "CASHIER"},
    )
    refused = {
        "a read-only key": await key(live_server, owner_token, merchant_id, "PAYMENTS_READ"),
        "a payments key": await key(live_server, owner_token, merchant_id, "PAYMENTS_WRITE"),
        "a cashier": await token_for(live_server, cashier),
    }
    for who, token in refused.items():
        answer = await call(live_server, token, RESPOND, {"d": dispute["id"], "r": "Hot"})
        assert answer == {"__typename": "Forbidden", "code": "FORBIDDEN"}, who
    refunds = await key(live_server, owner_token, merchant_id, "REFUNDS_WRITE")
    answered = await call(live_server, refunds, RESPOND, {"d": dispute["id"], "r": "Hot"})
    assert answered["dispute"]["status"] == "RESPONDED"


async def test_reading_disputes_needs_the_payments_read_scope(live_server: LiveServer) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    sale = await buy(live_server, owner_token, merchant_id, buyer_token)
    opened = await call(live_server, buyer_token, OPEN, {"p": sale, "r": "The coffee was cold"})
    dispute = opened["dispute"]
    writer = await key(live_server, owner_token, merchant_id, "PAYMENTS_WRITE")
    assert await call(live_server, writer, DISPUTES, {"m": merchant_id}) is None
    assert await call(live_server, writer, DISPUTE, {"d": dispute["id"]}) is None
    reader = await key(live_server, owner_token, merchant_id, "PAYMENTS_READ")
    assert await call(live_server, reader, DISPUTES, {"m": merchant_id}) == [{"id": dispute["id"]}]
    assert (await call(live_server, reader, DISPUTE, {"d": dispute["id"]}))["id"] == dispute["id"]


async def test_a_co_owner_cannot_demote_the_founding_owner(live_server: LiveServer) -> None:
    founder, owner_token, merchant_id = await shop(live_server)
    partner = await make_user()
    await call(
        live_server,
        owner_token,
        ADD_STAFF,
        {"m": merchant_id, "u": "@" + partner.username, "r": "OWNER"},
    )
    partner_token = await token_for(live_server, partner)
    demoted = await call(
        live_server,
        partner_token,
        ADD_STAFF,
        {"m": merchant_id, "u": "@" + founder.username, "r": "CASHIER"},
    )
    assert demoted["code"] == "FORBIDDEN"
    # The founder is still an owner: they may still issue keys.
    assert (
        await call(live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_READ"]})
    )["__typename"] == "ApiKeyPayload"


KEYS = """query($m: ID!) { merchantApiKeys(merchantId: $m) {
  id prefix label scopes createdAt revokedAt } }"""
REVOKE = """mutation($m: ID!, $k: ID!) { revokeMerchantApiKey(merchantId: $m, keyId: $k) {
  __typename } }"""


async def test_the_owner_lists_api_keys_without_secrets_and_revokes_one(
    live_server: LiveServer,
) -> None:
    _, owner_token, merchant_id = await shop(live_server)
    reader = await call(
        live_server, owner_token, KEY, {"m": merchant_id, "scopes": ["PAYMENTS_READ"]}
    )
    till = await call(
        live_server,
        owner_token,
        KEY,
        {"m": merchant_id, "scopes": ["PAYMENTS_WRITE", "REFUNDS_WRITE"]},
    )
    listed = await call(live_server, owner_token, KEYS, {"m": merchant_id})
    assert [k["id"] for k in listed] == [till["id"], reader["id"]]  # newest first
    assert [(k["prefix"], k["label"], k["scopes"], k["revokedAt"]) for k in listed] == [
        (till["prefix"], "till server", ["PAYMENTS_WRITE", "REFUNDS_WRITE"], None),
        (reader["prefix"], "till server", ["PAYMENTS_READ"], None),
    ]
    assert all(till["key"] not in str(v) and reader["key"] not in str(v) for v in listed)

    revoked = await call(live_server, owner_token, REVOKE, {"m": merchant_id, "k": till["id"]})
    assert revoked["__typename"] == "ApiKeyRevokedPayload"
    after = {
        k["id"]: k["revokedAt"]
        for k in await call(live_server, owner_token, KEYS, {"m": merchant_id})
    }
    assert after[till["id"]] is not None and after[reader["id"]] is None
    # The revoked key no longer works; a key, a cashier or a stranger sees no list.
    assert await call(live_server, till["key"], KEYS, {"m": merchant_id}) is None
    assert await call(live_server, reader["key"], KEYS, {"m": merchant_id}) is None
    cashier = await make_user()
    await call(
        live_server,
        owner_token,
        ADD_STAFF,
        {"m": merchant_id, "u": "@" + cashier.username, "r": "CASHIER"},
    )
    assert (
        await call(live_server, await token_for(live_server, cashier), KEYS, {"m": merchant_id})
        is None
    )
