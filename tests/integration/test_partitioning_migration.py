"""Migration 0049 on a database in use: its rows, today's included, come along.

A database is migrated up to 0048 (in a process of its own, as a deployment would be),
given the rows a day of service leaves (a ledger entry, a reversal, a chargeback's
gateway reference, an outbox event, an audit row, and idempotency keys made today), and
then migrated to the end. Nothing is lost, the keys still hold, and the ledger is sound.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import TestServers, with_database
from wallet.checks import check_all

REPO = Path(__file__).resolve().parents[2]
BEFORE_PARTITIONING = "2026-12-06T10:00:00:000000"  # 0048, reconciliation

MIGRATE = """
import asyncio, sys
from wallet.db import engine
from piccolo.apps.migrations.commands.forwards import run_forwards

async def main(url, target):
    await engine.connect(url, pool_size=2)
    result = await run_forwards(app_name="wallet", migration_id=target)
    await engine.disconnect()
    assert result.success, result.message

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def migrate(url: str, target: str = "all") -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        MIGRATE,
        url,
        target,
        cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO / "backend"),
            "PICCOLO_CONF": "wallet.piccolo_conf",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]


@pytest.fixture
async def old_database(servers: TestServers) -> AsyncIterator[str]:
    name = f"wallet_upgrade_{os.getpid()}"
    admin = await asyncpg.connect(with_database(servers.database_url, "postgres"))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(servers.database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_database_in_use_is_partitioned_with_all_its_rows(old_database: str) -> None:
    await migrate(old_database, BEFORE_PARTITIONING)
    conn = await asyncpg.connect(old_database)
    try:
        assert await conn.fetchval("SELECT relkind FROM pg_class WHERE relname = 'posting'") == b"r"
        funding, fees = [
            await conn.fetchval(
                "SELECT id FROM ledger_account WHERE code = $1", f"system:USD:{purpose}"
            )
            for purpose in ("promotional_funding", "fee_revenue")
        ]
        entry = await conn.fetchval(
            "SELECT ledger_post_entry('raw', 'before', ARRAY[$1, $2]::bigint[], "
            "ARRAY['D', 'C']::char(1)[], ARRAY[500, 500]::bigint[], "
            "ARRAY['USD', 'USD']::char(3)[])",
            funding,
            fees,
        )
        original = await conn.fetchval(
            "INSERT INTO money_transaction (type, status, currency, amount, gateway_ref) "
            "VALUES ('add', 'failed', 'USD', 500, 'wtx_before') RETURNING id"
        )
        reversal = await conn.fetchval(
            "INSERT INTO money_transaction (type, status, currency, amount, reverses_id, "
            "gateway_ref) VALUES ('reversal', 'failed', 'USD', 500, $1, "
            "'wtx_before:chargeback') RETURNING id",
            original,
        )
        await conn.execute(
            "INSERT INTO outbox_event (topic, payload) VALUES ('notice', '{}');"
            "INSERT INTO audit_log (actor_type, action, outcome) VALUES ('system', 'probe', 'ok');"
            "INSERT INTO idempotency_key (principal, key, fingerprint, response) "
            "VALUES ('user:1', 'made-today', 'f', '{\"ok\": true}'),"
            "       ('user:1', 'made-yesterday', 'f', '{}');"
            "UPDATE idempotency_key SET created_at = now() - interval '1 day' "
            "WHERE key = 'made-yesterday';"
        )
        counts = {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in (
                "journal_entry",
                "posting",
                "money_transaction",
                "outbox_event",
                "audit_log",
                "idempotency_key",
            )
        }
    finally:
        await conn.close()

    await migrate(old_database)

    conn = await asyncpg.connect(old_database)
    try:
        for table, count in counts.items():
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == count, table
            assert (
                await conn.fetchval("SELECT relkind FROM pg_class WHERE relname = $1", table)
                == b"p"
            )
        # The rows from before sit in the legacy partitions; today's keys too.
        assert (
            await conn.fetchval(
                "SELECT DISTINCT tableoid::regclass::text FROM posting WHERE entry_id = $1", entry
            )
            == "posting_legacy"
        )
        days = {
            r["key"]: r["created_on"]
            for r in await conn.fetch("SELECT key, created_on FROM idempotency_key")
        }
        today = await conn.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
        assert days["made-today"] == today
        assert (today - days["made-yesterday"]).days == 1
        # The keys that moved out of money_transaction came with their rows, and hold.
        assert (
            await conn.fetchval(
                "SELECT reversal_id FROM transaction_reversal WHERE reversed_id = $1", original
            )
            == reversal
        )
        refs = await conn.fetch(
            "SELECT gateway_ref FROM transaction_gateway_ref ORDER BY gateway_ref"
        )
        assert [r["gateway_ref"] for r in refs] == ["wtx_before", "wtx_before:chargeback"]
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO money_transaction (type, status, currency, amount, gateway_ref) "
                "VALUES ('add', 'initiated', 'USD', 1, 'wtx_before:chargeback')"
            )
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO idempotency_key (principal, key, fingerprint, response) "
                "VALUES ('user:1', 'made-today', 'f', '{}')"
            )
        # New rows go to this month's partition; the ledger is sound.
        after = await conn.fetchval(
            "SELECT ledger_post_entry('raw', 'after', ARRAY[$1, $2]::bigint[], "
            "ARRAY['D', 'C']::char(1)[], ARRAY[300, 300]::bigint[], "
            "ARRAY['USD', 'USD']::char(3)[])",
            funding,
            fees,
        )
        assert after >= 1 << 40
        assert await conn.fetchval("SELECT history_partitions_ahead_days()") >= 7
        assert await check_all(conn) == []
        assert json.loads(
            await conn.fetchval("SELECT response FROM idempotency_key WHERE key = 'made-today'")
        ) == {"ok": True}
    finally:
        await conn.close()
