"""The batch's statements read by key, whatever the planner believes about table sizes.

A batch's statements run as prepared statements and ledger functions with generic plans:
planned once per connection, without the arrays' lengths, and with whatever statistics
the tables had then (none, in a new database or before autovacuum's first ANALYZE).
Two of them hashed a whole table that way: `ledger_post_transfers` joined its legs to
every ledger account (0045; 5.7 ms of a 16-send batch at 10,000 accounts, growing with
them), and `idempotency.claim_many` scanned every stored key. Seen with auto_explain in
the benchmark (bench/README.md); here the same plans are read back from auto_explain,
run as the batch runs them, and must reach those tables by their primary keys.
"""

import asyncpg
import pytest

from tests.factories import make_user
from tests.ledger_helpers import usd, wallet_account
from wallet.idempotency import service as idempotency
from wallet.ledger import service as ledger

pytestmark = pytest.mark.usefixtures("database_url")


async def _plans(conn: asyncpg.Connection) -> list[str]:
    """Every plan auto_explain logs on this connection from now on (nested ones too).
    Loading auto_explain takes a superuser: the connection is the database owner's, and
    the plans are the ones the app's role gets (plans do not depend on the role)."""
    plans: list[str] = []
    conn.add_log_listener(lambda _conn, message: plans.append(message.message))
    await conn.execute("LOAD 'auto_explain'")
    await conn.execute(
        "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; "
        "SET plan_cache_mode = force_generic_plan; SET client_min_messages = log"
    )
    return plans


def _scans(plans: list[str], table: str) -> list[str]:
    return [p for p in plans if f"Seq Scan on {table}" in p]


async def test_a_batch_posts_its_entries_without_scanning_every_account(
    owner_database_url: str,
) -> None:
    users = [await make_user(balance="10.00") for _ in range(4)]
    accounts = [await wallet_account(u.id) for u in users]
    conn = await asyncpg.connect(owner_database_url)
    try:
        # A ledger the size of a small wallet's, its statistics known (this test's own
        # database): a plan that hashes the table now costs what it does in production.
        await conn.execute(
            "INSERT INTO ledger_account (code, owner_type, currency, purpose, account_type, "
            "normal_side) SELECT 'plan-test:' || g, 'system', 'USD', 'plan-test-' || g, "
            "'asset', 'D' FROM generate_series(1, 20000) g; ANALYZE ledger_account"
        )
        plans = await _plans(conn)
        async with conn.transaction():
            ids = await ledger.post_transfers(
                conn,
                "p2p",
                [
                    ledger.Transfer(accounts[0], accounts[1], usd(100), "one"),
                    ledger.Transfer(accounts[2], accounts[3], usd(200), "two"),
                    ledger.Transfer(accounts[1], accounts[2], usd(50), "three"),
                ],
            )
            assert len(ids) == 3
            read = [p for p in plans if "ledger_account" in p]
            assert read, "auto_explain logged the function's statements"
            assert _scans(plans, "ledger_account") == []
    finally:
        await conn.close()


async def test_a_batch_looks_up_its_idempotency_keys_by_key(owner_database_url: str) -> None:
    conn = await asyncpg.connect(owner_database_url)
    try:
        plans = await _plans(conn)
        async with conn.transaction():
            taken = await idempotency.claim_many(conn, [("user:1", "plan-a"), ("user:2", "plan-b")])
        assert taken == {}
        assert any("idempotency_key" in p for p in plans)
        assert _scans(plans, "idempotency_key") == []
    finally:
        await conn.close()
