"""The audit log: every mutation recorded with who, what, outcome and where, secrets
redacted; append-only; the hash chain finds a changed or deleted row."""

import json

import asyncpg
import pytest

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, call, gql, send, token_for
from wallet.db.engine import connection
from wallet.security import audit

AUDIT = """query($action: String) { auditLog(first: 20, action: $action) {
  actorType actorId action outcome ip details sealed } }"""
CHAIN = "{ auditChain { intact checked brokenAtSeq } }"
SET_PIN = "mutation($pin: String!) { setTransactionPin(pin: $pin) { __typename } }"


async def admin_token(live: LiveServer) -> str:
    admin = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", admin.id)
    return await token_for(live, admin)


async def test_mutations_are_recorded_with_secrets_redacted(live_server: LiveServer) -> None:
    alice, bob = await make_user(balance="20.00"), await make_user()
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "5.00", note="rent")
    await call(live_server, token, SET_PIN, {"pin": "8642"})
    async with live_server.client() as http:
        wrong = {"login": alice.username, "password": "not-it-at-all", "sessionTransport": "BEARER"}
        await gql(http, LOG_IN, {"input": wrong})
    admin = await admin_token(live_server)

    (sent,) = await call(live_server, admin, AUDIT, {"action": "sendMoney"})
    assert (sent["actorType"], sent["actorId"], sent["outcome"], sent["ip"]) == (
        "user",
        str(alice.id),
        "SendMoneyPayload",
        "127.0.0.1",
    )
    assert sent["details"]["variables"]["input"]["note"] == "rent"
    (pin,) = await call(live_server, admin, AUDIT, {"action": "setTransactionPin"})
    assert pin["details"]["variables"] == {"pin": "[redacted]"}
    # An operator's own actions are marked as an operator's.
    await call(live_server, admin, SET_PIN, {"pin": "1470"})
    latest = await call(live_server, admin, AUDIT, {"action": "setTransactionPin"})
    assert [e["actorType"] for e in latest] == ["operator", "user"]
    failed = [
        e
        for e in await call(live_server, admin, AUDIT, {"action": "logIn"})
        if e["outcome"] == "InvalidCredentials"
    ]
    assert failed[0]["actorType"] == "anonymous"
    assert failed[0]["details"]["variables"]["input"]["password"] == "[redacted]"
    assert failed[0]["details"]["variables"]["input"]["login"] == alice.username
    async with connection() as conn:
        raw = await conn.fetchval("SELECT string_agg(details::text, ' ') FROM audit_log")
    assert "8642" not in raw and "not-it-at-all" not in raw and PASSWORD not in raw

    # Only compliance and admins read it.
    assert await call(live_server, token, AUDIT, {"action": None}) is None


async def test_the_log_is_append_only(live_server: LiveServer) -> None:
    await audit.record(audit.AuditEvent("system", None, "test", "ok"))
    await audit.seal()
    async with connection() as conn:
        with pytest.raises(asyncpg.RaiseError, match="cannot be changed"):
            await conn.execute("UPDATE audit_log SET outcome = 'forged'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log")


async def tamper(sql: str) -> None:
    """What someone with the database superuser could do behind the app's back."""
    async with connection() as conn:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute(sql)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


async def test_the_chain_finds_a_changed_row_and_a_deleted_one(live_server: LiveServer) -> None:
    for n in range(6):
        await audit.record(
            audit.AuditEvent(
                "user", n, "sendMoney", "SendMoneyPayload", details={"amount": f"{n}.00"}
            )
        )
    assert await audit.seal() == 6
    await audit.record(audit.AuditEvent("user", 9, "logOut", "LogOutPayload"))
    assert await audit.seal() == 1
    admin = await admin_token(live_server)
    # The admin's own log-in is audited too: 8 rows.
    assert await call(live_server, admin, CHAIN) == {
        "intact": True,
        "checked": 8,
        "brokenAtSeq": None,
    }

    await tamper('UPDATE audit_log SET details = \'{"amount": "500.00"}\' WHERE seq = 3')
    check = await audit.verify()
    assert (check.intact, check.broken_at_seq) == (False, 3)
    await tamper('UPDATE audit_log SET details = \'{"amount": "2.00"}\' WHERE seq = 3')
    assert (await audit.verify()).intact  # put back exactly: the chain agrees again

    await tamper("DELETE FROM audit_log WHERE seq = 5")
    check = await audit.verify()
    assert (check.intact, check.broken_at_seq) == (False, 6)


def test_redaction_keeps_what_is_useful() -> None:
    details = {
        "input": {
            "pin": "1234",
            "password": "x",
            "cardNumber": "4242",
            "cvc": "1",
            "amount": "5.00",
            "idempotencyKey": "k",
            "recipient": "@bob",
            "recoveryCode": "ab-cd",
            "totpCode": "123456",
            "email": "a@example.com",
            "phone": "+14155550100",
            "newContact": "b@example.com",
        }
    }
    assert json.loads(json.dumps(audit.redact(details))) == {
        "input": {
            "pin": "[redacted]",
            "password": "[redacted]",
            "cardNumber": "[redacted]",
            "cvc": "[redacted]",
            "amount": "5.00",
            "idempotencyKey": "k",
            "recipient": "@bob",
            "recoveryCode": "[redacted]",
            "totpCode": "[redacted]",
            # Erasure must be able to remove them, and the log is never edited.
            "email": "[redacted]",
            "phone": "[redacted]",
            "newContact": "[redacted]",
        }
    }
