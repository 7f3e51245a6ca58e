"""GDPR: a user exports their data and erases their account; personal data is replaced,
the ledger and the audit log stay, and erasure waits until no money is left."""

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import call, send, token_for
from tests.integration.test_kyc_api import IDENTITY, person
from wallet.checks import check_all
from wallet.db.engine import connection
from wallet.kyc import service as kyc

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

ERASE = """mutation($p: String!) { eraseMyAccount(password: $p) { __typename
  ... on ErasurePayload { erased } ... on ValidationError { fieldErrors { field code } } } }"""


async def test_export_has_the_users_data_and_only_theirs(live_server: LiveServer) -> None:
    alice, bob = await make_user(balance="30.00"), await make_user(balance="5.00")
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "12.00", note="books")
    async with live_server.client() as http:
        response = await http.get(
            "/export/my-data.json", headers={"authorization": f"Bearer {token}"}
        )
        anonymous = await http.get("/export/my-data.json")
    assert (response.status_code, anonymous.status_code) == (200, 401)
    data = response.json()
    assert (data["profile"]["username"], data["profile"]["email"]) == (alice.username, alice.email)
    assert [(t["type"], t["amount"], t["note"]) for t in data["transactions"]] == [
        ("send", "12.00", "books"),
        ("promotional_credit", "30.00", "Promotional credit"),
    ]
    assert {(b["currency"], b["purpose"], b["posted"]) for b in data["balances"]} == {
        ("USD", "wallet", 1_800)
    }
    assert bob.email not in response.text


async def test_the_export_also_comes_as_csv_files_with_identity_details_decrypted(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="30.00"), await make_user()
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "12.00", note="books, and more")
    submitted = await call(live_server, token, IDENTITY, person("Ada Lovelace"))
    assert submitted["__typename"] == "VerificationPayload", submitted
    async with live_server.client() as http:
        response = await http.get(
            "/export/my-data.zip", headers={"authorization": f"Bearer {token}"}
        )
        anonymous = await http.get("/export/my-data.zip")
    assert (response.status_code, anonymous.status_code) == (200, 401)
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {"my-data.json", "profile.csv", "transactions.csv", "balances.csv"} <= names
    assert {"identity_details.csv", "identity_reviews.csv", "passkeys.csv"} <= names

    def table(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode())))

    assert [(r["username"], r["email"]) for r in table("profile.csv")] == [
        (alice.username, alice.email)
    ]
    assert [(r["type"], r["amount"], r["note"]) for r in table("transactions.csv")] == [
        ("send", "12.00", "books, and more"),
        ("promotional_credit", "30.00", "Promotional credit"),
    ]
    (details,) = table("identity_details.csv")
    assert (details["legal_name"], details["date_of_birth"], details["country"]) == (
        "Ada Lovelace",
        "1990-12-10",
        "GB",
    )
    assert [r["requested_level"] for r in table("identity_reviews.csv")] == ["basic"]
    data = json.loads(archive.read("my-data.json"))
    assert data["identity"]["details"]["address"] == "12 St James's Square, London"
    assert bob.email not in archive.read("my-data.json").decode()


async def test_erasure_waits_for_an_empty_wallet_then_pseudonymizes(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="10.00"), await make_user()
    token = await token_for(live_server, alice)
    wrong = await call(live_server, token, ERASE, {"p": "not my password"})
    assert wrong["fieldErrors"] == [{"field": "password", "code": "WRONG_PASSWORD"}]
    money_left = await call(live_server, token, ERASE, {"p": PASSWORD})
    assert money_left["fieldErrors"] == [{"field": "balance", "code": "NOT_EMPTY"}]

    sent = (await send(live_server, token, bob.username, "10.00"))["transfer"]["id"]
    async with connection() as conn:
        await conn.execute(
            "INSERT INTO user_passkey (user_id, credential_id, public_key, label) "
            "VALUES ($1, $2, $3, 'Phone')",
            alice.id,
            b"credential-" + str(alice.id).encode(),
            b"key",
        )
        await conn.execute(
            "INSERT INTO push_subscription (user_id, endpoint, p256dh, auth) "
            "VALUES ($1, $2, 'k', 'a')",
            alice.id,
            f"https://push.example/{alice.id}",
        )
    assert (await call(live_server, token, ERASE, {"p": PASSWORD}))["erased"] is True
    assert await call(live_server, token, "{ me { username } }") is None  # signed out
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT email, phone, username, status, pin_hash FROM app_user WHERE id = $1",
            alice.id,
        )
        kept = await conn.fetchval(
            "SELECT count(*) FROM money_transaction WHERE initiator_user_id = $1", alice.id
        )
        passkeys = await conn.fetchval(
            "SELECT count(*) FROM user_passkey WHERE user_id = $1", alice.id
        )
        passkeys += await conn.fetchval(  # nor pushes to its browsers
            "SELECT count(*) FROM push_subscription WHERE user_id = $1", alice.id
        )
        erased_audit = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'erasure' AND actor_id = $1",
            alice.id,
        )
        assert await check_all(conn) == []
    assert dict(row) == {
        "email": f"erased-{alice.id}@erased.invalid",
        "phone": f"+000{alice.id:012d}",
        "username": f"erased_{alice.id}",
        "status": "closed",
        "pin_hash": None,
    }
    assert (kept, erased_audit, passkeys) == (1, 1, 0)  # the ledger and audit trail stay
    # Bob still sees the transfer, from a pseudonym; the old username is free again.
    bob_token = await token_for(live_server, bob)
    node = await call(
        live_server,
        bob_token,
        "query($id: ID!) { transaction(id: $id) { amount counterparty } }",
        {"id": sent},
    )
    assert node == {"amount": "10.00", "counterparty": f"erased_{alice.id}"}
    again = await make_user(username=alice.username)
    assert again.username == alice.username


async def test_erasure_forgets_the_contacts_others_typed_to_reach_them(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(), await make_user(balance="5.00")
    a_token, b_token = await token_for(live_server, alice), await token_for(live_server, bob)
    asked = await call(
        live_server,
        a_token,
        """mutation($input: RequestMoneyInput!) { requestMoney(input: $input) {
          ... on MoneyRequestPayload { request { id } } } }""",
        {"input": {"payer": bob.email, "amount": "5.00", "idempotencyKey": "ask-bob"}},
    )
    paid = await call(
        live_server,
        b_token,
        """mutation($input: PayMoneyRequestInput!) { payMoneyRequest(input: $input) {
          __typename } }""",
        {"input": {"requestId": asked["request"]["id"], "idempotencyKey": "pay"}},
    )
    assert paid["__typename"] == "MoneyRequestPayload"
    await call(
        live_server,
        a_token,
        """mutation($input: CreateSplitGroupInput!) { createSplitGroup(input: $input) {
          __typename } }""",
        {"input": {"name": "Flat", "members": [bob.phone]}},
    )
    assert (await call(live_server, b_token, ERASE, {"p": PASSWORD}))["erased"] is True
    async with connection() as conn:
        kept = await conn.fetchval(
            "SELECT count(*) FROM money_request WHERE payer_contact = $1", bob.email
        )
        invited = await conn.fetchval(
            "SELECT count(*) FROM split_invitation WHERE contact = $1", bob.phone
        )
    assert (kept, invited) == (0, 0)


async def test_verification_records_of_closed_accounts_go_after_the_retention_period(
    live_server: LiveServer,
) -> None:
    long_gone, lately_gone, still_here = await make_user(), await make_user(), await make_user()
    for user in (long_gone, lately_gone, still_here):
        token = await token_for(live_server, user)
        assert (await call(live_server, token, IDENTITY, person()))["__typename"] == (
            "VerificationPayload"
        )
        if user is not still_here:
            assert (await call(live_server, token, ERASE, {"p": PASSWORD}))["erased"] is True
    async with connection() as conn:
        await conn.execute(
            "UPDATE app_user SET closed_at = now() - interval '6 years' WHERE id = $1",
            long_gone.id,
        )
    assert await kyc.purge_closed_accounts(datetime.now(UTC), timedelta(days=5 * 365)) == 1
    async with connection() as conn:
        kept = await conn.fetch("SELECT user_id FROM kyc_profile ORDER BY user_id")
        reviews = await conn.fetchval(
            "SELECT count(*) FROM kyc_review WHERE user_id = $1", long_gone.id
        )
    assert [int(r["user_id"]) for r in kept] == [lately_gone.id, still_here.id]
    assert reviews == 1  # who decided what stays; the personal details do not
    assert await kyc.purge_closed_accounts(datetime.now(UTC), timedelta(days=5 * 365)) == 0
