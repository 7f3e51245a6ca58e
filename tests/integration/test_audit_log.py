"""The audit log: every mutation recorded with who, what, outcome and where, its arguments
kept only by the allow-list; append-only; the keyed chain and its anchors find a changed,
re-hashed, deleted or truncated row (issue 14, findings 2 and 5)."""

import asyncio
import contextlib
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from graphql import (
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.graphql_client import (
    LOG_IN,
    bank_details,
    call,
    card_details,
    gql,
    send,
    step_up,
    token_for,
    tokenize,
)
from wallet.config import REPO_ROOT, Settings
from wallet.db import coalesce
from wallet.db.engine import connection
from wallet.security import audit
from wallet.security.audit_scrub import scrub

AUDIT = """query($action: String) { auditLog(first: 20, action: $action) {
  actorType actorId action outcome ip details sealed } }"""
CHAIN = "{ auditChain { intact checked brokenAtSeq } }"
CHAIN_DETAIL = "{ auditChain { intact checked brokenAtSeq problem anchoredSeq } }"
SET_PIN = "mutation($pin: String!) { setTransactionPin(pin: $pin) { __typename } }"


async def admin_token(live: LiveServer) -> str:
    admin = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", admin.id)
    return await token_for(live, admin)


async def raw_details() -> str:
    async with connection() as conn:
        return str(await conn.fetchval("SELECT string_agg(details::text, ' ') FROM audit_log"))


def web_app_operation(name: str) -> str:
    """The web app's own operation `name` (graphql/operations), with the fragments it uses."""
    documents = [parse(p.read_text()) for p in (REPO_ROOT / "graphql" / "operations").iterdir()]
    definitions = [d for doc in documents for d in doc.definitions]
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    (operation,) = [d for d in definitions if getattr(d, "name", None) and d.name.value == name]
    needed: dict[str, Any] = {}

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            if node.name.value not in needed:
                needed[node.name.value] = fragments[node.name.value]
                visit(fragments[node.name.value], self)

    visit(operation, Spreads())
    return "\n".join(print_ast(d) for d in [operation, *needed.values()])


async def test_mutations_are_recorded_with_only_allow_listed_arguments(
    live_server: LiveServer,
) -> None:
    alice, bob = await make_user(balance="20.00"), await make_user()
    token = await token_for(live_server, alice)
    await send(live_server, token, bob.username, "5.00", key="key-rent-1", note="rent for may")
    await call(live_server, token, SET_PIN, {"pin": "8642"})
    async with live_server.client() as http:
        wrong = {"login": alice.username, "password": "not-it-at-all", "sessionTransport": "BEARER"}
        await gql(http, LOG_IN, {"input": wrong})
    raw = await raw_details()
    for secret in ("8642", "not-it-at-all", PASSWORD, "rent for may", bob.username):
        assert secret not in raw
    admin = await admin_token(live_server)

    (sent,) = await call(live_server, admin, AUDIT, {"action": "sendMoney"})
    assert (sent["actorType"], sent["actorId"], sent["outcome"], sent["ip"]) == (
        "user",
        str(alice.id),
        "SendMoneyPayload",
        "127.0.0.1",
    )
    # Amount and idempotency key are on the allow-list; the note (free text) and the
    # recipient (a username, email or phone) are not.
    assert sent["details"]["arguments"]["input"] == {
        "recipient": "[redacted]",
        "amount": "5.00",
        "idempotencyKey": "key-rent-1",
        "note": "[redacted]",
    }
    (pin,) = await call(live_server, admin, AUDIT, {"action": "setTransactionPin"})
    assert pin["details"]["arguments"] == {"pin": "[redacted]"}
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
    assert failed[0]["details"]["arguments"]["input"] == {
        "login": "[redacted]",
        "password": "[redacted]",
        "sessionTransport": "BEARER",
    }

    # Only compliance and admins read it.
    assert await call(live_server, token, AUDIT, {"action": None}) is None


async def test_the_web_apps_own_card_and_bank_operations_leave_no_numbers_in_the_log(
    live_server: LiveServer,
) -> None:
    """Finding 2 as reported: the web app's AddCard sent {"number": "4242…"}, and the
    bank form the account and routing numbers and the holder's name. The app now
    tokenises them at the gateway first; whatever reaches the API is logged by the
    allow-list, so neither the numbers nor the tokens' details are in the log."""
    user = await make_user()
    token = await token_for(live_server, user)
    await step_up(live_server, token)
    card = await tokenize(live_server, card_details())
    added = await call(live_server, token, web_app_operation("AddCard"), {"input": {"token": card}})
    assert added["__typename"] == "AddPaymentMethodPayload", added
    bank = await tokenize(live_server, bank_details())
    added = await call(
        live_server, token, web_app_operation("AddBankAccount"), {"input": {"token": bank}}
    )
    assert added["__typename"] == "AddPaymentMethodPayload", added

    raw = await raw_details()
    for number in ("4242424242424242", "000123456789", "110000000", "Test Holder"):
        assert number not in raw
    admin = await admin_token(live_server)
    (card_row,) = await call(live_server, admin, AUDIT, {"action": "addCard"})
    assert card_row["details"]["arguments"]["input"] == {"token": "[redacted]"}


async def test_inline_arguments_and_fragments_are_recorded_like_variables(
    live_server: LiveServer,
) -> None:
    """Arguments written in the query itself went unrecorded, and a mutation inside a
    fragment left no row at all."""
    alice, bob = await make_user(balance="20.00"), await make_user()
    token = await token_for(live_server, alice)
    inline = (
        f'mutation {{ sendMoney(input: {{recipient: "@{bob.username}", amount: "2.00", '
        'idempotencyKey: "inline-key-1", note: "4111111111111111"}) { __typename } }'
    )
    assert (await call(live_server, token, inline))["__typename"] == "SendMoneyPayload"
    hidden = (
        "mutation($amount: String!) { ...Pay } fragment Pay on Mutation { "
        f'sendMoney(input: {{recipient: "@{bob.username}", amount: $amount, '
        'idempotencyKey: "fragment-key-1"}) { __typename } }'
    )
    assert (await call(live_server, token, hidden, {"amount": "3.00"}))[
        "__typename"
    ] == "SendMoneyPayload"

    admin = await admin_token(live_server)
    rows = await call(live_server, admin, AUDIT, {"action": "sendMoney"})
    assert len(rows) == 2  # the one inside the fragment too
    raw = await raw_details()
    assert "inline-key-1" in raw and "fragment-key-1" in raw
    assert [r["details"]["arguments"]["input"] for r in rows] == [
        {"recipient": "[redacted]", "amount": "3.00", "idempotencyKey": "fragment-key-1"},
        {
            "recipient": "[redacted]",
            "amount": "2.00",
            "idempotencyKey": "inline-key-1",
            "note": "[redacted]",
        },
    ]
    assert "4111111111111111" not in raw


async def test_the_log_is_append_only(live_server: LiveServer, owner_database_url: str) -> None:
    await audit.record(audit.AuditEvent("system", None, "test", "ok"))
    assert (await call(live_server, await admin_token(live_server), CHAIN))["checked"] == 2
    # Even the owner, whose role is not the app's: the triggers refuse.
    async with owner(owner_database_url) as conn:
        with pytest.raises(asyncpg.RaiseError, match="cannot be changed"):
            await conn.execute("UPDATE audit_log SET outcome = 'forged'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("TRUNCATE audit_log")
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 2


@contextlib.asynccontextmanager
async def owner(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def tamper(owner_url: str, *statements: str) -> None:
    """What the database's owner (a DBA) can do behind the app's back: switch off the
    table's own triggers, and each monthly partition's, and change it."""
    async with owner(owner_url) as conn, conn.transaction():
        tables = [
            "audit_log",
            *await conn.fetchval(
                "SELECT array_agg(inhrelid::regclass::text) FROM pg_inherits "
                "WHERE inhparent = 'audit_log'::regclass"
            ),
        ]
        for table in tables:
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for sql in statements:
            await conn.execute(sql)
        for table in tables:
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def unkeyed_hash(prev_hash: bytes, row: Any) -> bytes:
    """The chain's old rule: SHA-256 with no key, which anyone can recompute."""
    canonical = json.dumps(
        [
            int(row["seq"]),
            row["at"].isoformat(),
            row["actor_type"],
            row["actor_id"],
            row["action"],
            row["outcome"],
            row["subject"],
            row["ip"],
            row["user_agent"],
            json.loads(row["details"]),
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(prev_hash + canonical.encode()).digest()


async def write_six_sends() -> None:
    for n in range(6):
        await audit.record(
            audit.AuditEvent(
                "user", n, "sendMoney", "SendMoneyPayload", details={"amount": f"{n}.00"}
            )
        )


EDIT_SEQ_3 = """UPDATE audit_log SET details = '{{"amount": "{amount}"}}' WHERE seq = 3"""


async def test_the_chain_finds_a_changed_row_and_a_deleted_one(
    live_server: LiveServer, owner_database_url: str
) -> None:
    key = live_server.settings.audit.key_bytes
    await write_six_sends()
    assert await audit.seal(key) == 6
    await audit.record(audit.AuditEvent("user", 9, "logOut", "LogOutPayload"))
    assert await audit.seal(key) == 1
    admin = await admin_token(live_server)
    # The admin's own log-in is audited too: 8 rows.
    assert await call(live_server, admin, CHAIN_DETAIL) == {
        "intact": True,
        "checked": 8,
        "brokenAtSeq": None,
        "problem": None,
        "anchoredSeq": None,
    }

    await tamper(owner_database_url, EDIT_SEQ_3.format(amount="500.00"))
    chain = await call(live_server, admin, CHAIN)
    assert (chain["intact"], chain["brokenAtSeq"]) == (False, 3)
    await tamper(owner_database_url, EDIT_SEQ_3.format(amount="2.00"))
    assert (await call(live_server, admin, CHAIN))["intact"]  # put back exactly: it agrees

    await tamper(owner_database_url, "DELETE FROM audit_log WHERE seq = 5")
    chain = await call(live_server, admin, CHAIN)
    assert (chain["intact"], chain["brokenAtSeq"]) == (False, 6)


async def test_a_row_rewritten_and_rehashed_without_the_key_is_found(
    live_server: LiveServer, owner_database_url: str
) -> None:
    """Finding 5, first route: change a row, then re-hash it and every row after it, as
    anyone could with a hash that has no key. Verification passed that."""
    await write_six_sends()
    admin = await admin_token(live_server)
    assert (await call(live_server, admin, CHAIN))["intact"]  # seals the 7 rows

    async with owner(owner_database_url) as conn:
        rows = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
    statements, prev = [], bytes(rows[1]["hash"])
    for row in rows[2:]:
        forged = dict(row)
        if row["seq"] == 3:
            forged["details"] = json.dumps({"amount": "900.00"})
        digest = unkeyed_hash(prev, forged)
        statements.append(
            f"UPDATE audit_log SET details = '{forged['details']}', "
            f"prev_hash = '\\x{prev.hex()}', hash = '\\x{digest.hex()}' WHERE id = {row['id']}"
        )
        prev = digest
    await tamper(owner_database_url, *statements)

    chain = await call(live_server, admin, CHAIN)
    assert (chain["intact"], chain["brokenAtSeq"]) == (False, 3)
    detail = await call(live_server, admin, CHAIN_DETAIL)
    assert detail["problem"] == "row seq 3 does not match its hash"


async def test_a_deleted_tail_is_found_against_the_anchor(
    live_server: LiveServer, owner_database_url: str
) -> None:
    """Finding 5, second route: deleting the last rows left a shorter chain that verified."""
    settings = live_server.settings
    await write_six_sends()
    await audit.seal(settings.audit.key_bytes)
    anchored = await audit.anchor(settings.audit.key_bytes, settings.audit_anchor_dir)
    assert anchored is not None and anchored.seq == 6
    # Nothing new: no second anchor.
    assert await audit.anchor(settings.audit.key_bytes, settings.audit_anchor_dir) is None

    await tamper(owner_database_url, "DELETE FROM audit_log WHERE seq >= 5")
    admin = await admin_token(live_server)
    chain = await call(live_server, admin, CHAIN_DETAIL)
    # The admin's log-in is sealed as seq 5, where the deleted rows were: a valid chain
    # of 5 rows, shorter than the anchor's 6.
    assert (chain["intact"], chain["brokenAtSeq"], chain["anchoredSeq"]) == (False, 6, 6)
    assert chain["problem"].startswith("the chain ends at seq 5 but the anchor of ")
    # The anchor job refuses to bless the shortened chain with a new anchor.
    assert await audit.anchor(settings.audit.key_bytes, settings.audit_anchor_dir) is None


async def test_a_truncated_log_is_broken_not_intact_with_zero_rows(
    live_server: LiveServer, owner_database_url: str
) -> None:
    """Finding 5, third route: TRUNCATE, and `wallet audit verify` said "intact: 0 rows"."""
    settings = live_server.settings
    await write_six_sends()
    await audit.seal(settings.audit.key_bytes)
    assert await audit.anchor(settings.audit.key_bytes, settings.audit_anchor_dir) is not None

    await tamper(owner_database_url, "TRUNCATE audit_log")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wallet.cli",
        "audit",
        "verify",
        env={
            **os.environ,
            "DATABASE_URL": settings.database_url or "",
            "REDIS_URL": settings.redis_url or "",
            "WALLET_AUDIT_ANCHOR_DIR": str(settings.audit_anchor_dir),
        },
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 1
    assert out.decode().strip() == (
        "audit chain BROKEN at seq 1 (row id None): the chain ends at seq 0 but the anchor "
        f"of {anchored_at(settings.audit_anchor_dir)} records seq 6"
    )


def anchored_at(directory: Path) -> str:
    (path,) = directory.glob("anchor-*.json")
    return str(json.loads(path.read_text())["at"])


async def test_a_forged_or_edited_anchor_file_is_reported(live_server: LiveServer) -> None:
    settings = live_server.settings
    await write_six_sends()
    await audit.seal(settings.audit.key_bytes)
    await audit.anchor(settings.audit.key_bytes, settings.audit_anchor_dir)
    (path,) = settings.audit_anchor_dir.glob("anchor-*.json")
    edited = json.loads(path.read_text()) | {"seq": 3}
    path.write_text(json.dumps(edited))
    check = await audit.verify(settings.audit.key_bytes, settings.audit_anchor_dir)
    assert (check.intact, check.problem) == (
        False,
        f"anchor {path.name} has an invalid signature",
    )
    # And with another key, no row matches: the key is what the chain rests on.
    other = await audit.verify(b"another key", None)
    assert (other.intact, other.broken_at_seq) == (False, 1)


async def test_the_scrub_redacts_old_rows_and_the_chain_is_resealed_with_the_key(
    settings: Settings, owner_database_url: str
) -> None:
    """Migration 0026: rows written the old way (every variable kept but `cvc`, sealed
    with the unkeyed hash) are redacted by the allow-list and re-sealed."""
    old_rows = [
        {"variables": {"input": {"number": "4242424242424242", "cvc": "[redacted]"}}},
        {
            "variables": {
                "input": {
                    "accountNumber": "000123456789",
                    "routingNumber": "110000000",
                    "holderName": "Ann Example",
                }
            }
        },
        {"variables": {"input": {"amount": "5.00", "idempotencyKey": "k1", "note": "rent"}}},
    ]
    ids = []
    async with owner(owner_database_url) as conn:
        prev = audit.GENESIS
        for seq, details in enumerate(old_rows, start=1):
            row = await conn.fetchrow(
                "INSERT INTO audit_log (actor_type, actor_id, action, outcome, details) "
                "VALUES ('user', 1, 'addCard', 'ok', $1::jsonb) RETURNING *",
                json.dumps(details),
            )
            ids.append(row["id"])
            digest = unkeyed_hash(prev, dict(row) | {"seq": seq})
            await conn.execute(
                "UPDATE audit_log SET seq = $2, prev_hash = $3, hash = $4 WHERE id = $1",
                row["id"],
                seq,
                prev,
                digest,
            )
            prev = digest

        async with conn.transaction():
            done = await scrub(conn)
        assert (done.changed, done.unsealed) == (3, 3)

    raw = await raw_details()
    for gone in ("4242424242424242", "000123456789", "110000000", "Ann Example", "rent"):
        assert gone not in raw
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE seq IS NOT NULL") == 0
        kept = await conn.fetchval("SELECT details FROM audit_log WHERE id = $1", ids[2])
        recorded = await conn.fetchrow(
            "SELECT actor_type, outcome, details FROM audit_log WHERE action = 'auditScrub'"
        )
    assert json.loads(kept) == {
        "variables": {"input": {"amount": "5.00", "idempotencyKey": "k1", "note": "[redacted]"}}
    }
    scrub_details = json.loads(recorded["details"])
    assert (recorded["actor_type"], scrub_details["scrubbed_rows"]) == ("system", 3)
    assert scrub_details["resealed_rows"] == 3
    assert "finding 2" in scrub_details["reason"]

    # The worker's sealer re-seals the whole table in id order, with the key.
    assert await audit.seal_all(settings.audit.key_bytes) == 4
    check = await audit.verify(settings.audit.key_bytes, settings.audit_anchor_dir)
    assert (check.intact, check.checked) == (True, 4)


async def test_events_recorded_together_share_one_insert_and_each_waits_for_its_commit(
    database_url: str,
) -> None:
    """Requests finishing in the same turn of the event loop write their audit rows with
    one INSERT (issue 15: the audit row batched); each caller returns only once its row
    is committed, and a failed write fails every caller in it (none is lost quietly)."""
    user = await make_user()
    events = [
        audit.AuditEvent(None, user.id, f"gathered_{n}", "ok", ip="127.0.0.1") for n in range(20)
    ]
    gathered = coalesce.per_loop(audit._record_many, audit._record_many)
    writes = gathered.writes
    await asyncio.gather(*(audit.record_gathered(e) for e in events))
    assert gathered.writes - writes == 1
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT action, actor_type, actor_id FROM audit_log WHERE action LIKE 'gathered_%' "
            "ORDER BY id"
        )
    assert [(r["action"], r["actor_type"], r["actor_id"]) for r in rows] == [
        (f"gathered_{n}", "user", user.id) for n in range(20)
    ]
    broken = audit.AuditEvent(None, user.id, None, "ok")  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        audit.record_gathered(events[0]), audit.record_gathered(broken), return_exceptions=True
    )
    assert all(isinstance(o, asyncpg.NotNullViolationError) for o in outcomes)
