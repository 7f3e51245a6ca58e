"""The app's own database role cannot rewrite history (issue 14, finding 5): it owns
nothing, is not a superuser, cannot switch triggers off, and has no UPDATE, DELETE or
TRUNCATE on the audit log or the ledger's append-only tables."""

import asyncio
import os

import asyncpg
import pytest

from tests.factories import make_user
from wallet.config import Settings
from wallet.db.engine import connection
from wallet.db.roles import (
    APP_ROLE,
    PrivilegedDatabaseRole,
    ensure_app_login,
    privilege_problems,
    refuse_privileged_role,
)
from wallet.security import audit

# Each with a column to "change".
APPEND_ONLY = {
    "journal_entry": "description",
    "posting": "amount",
    "transaction_transition": "reason",
    "posting_snapshot": "balance_after",
    "transaction_entry": "transaction_id",
    "dispute_event": "detail",
    "gateway_event": "outcome",
}


async def test_the_app_connects_as_its_own_role_which_owns_nothing(database_url: str) -> None:
    async with connection() as conn:
        assert await conn.fetchval("SELECT current_user") == APP_ROLE
        assert await privilege_problems(conn) == []
    await refuse_privileged_role()  # the production start-up check lets it run


async def test_the_reviewers_rewrite_is_refused_to_the_app(settings: Settings) -> None:
    """Finding 5 as reported: `SET session_replication_role = replica`, then UPDATE, then
    re-hash the following rows. The app's role gets no further than the first step."""
    for n in range(3):
        await audit.record(audit.AuditEvent("user", n, "sendMoney", "SendMoneyPayload"))
    await audit.seal(settings.audit.key_bytes)
    async with connection() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SET session_replication_role = replica")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit_log SET outcome = 'forged' WHERE seq = 2")
        # The chain columns are the sealer's, once: a sealed row's are not rewritten.
        with pytest.raises(asyncpg.RaiseError, match="cannot be changed"):
            await conn.execute("UPDATE audit_log SET hash = prev_hash WHERE seq = 3")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit_log WHERE seq = 3")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE audit_log")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 3
    assert (await audit.verify(settings.audit.key_bytes)).intact


@pytest.mark.parametrize("table", APPEND_ONLY)
async def test_ledger_history_is_out_of_the_apps_reach_too(table: str, database_url: str) -> None:
    column = APPEND_ONLY[table]
    """The same route against the ledger's append-only history: the triggers that guard
    it are skipped by `session_replication_role = replica`, so the role must not be able
    to set it, nor to change, delete or truncate the rows itself."""
    await make_user(balance="10.00")  # an entry, its postings, a transaction and its history
    async with connection() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SET session_replication_role = replica")
        for statement in (
            f"UPDATE {table} SET {column} = {column}",
            f"DELETE FROM {table}",
            f"TRUNCATE {table} CASCADE",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)


async def test_no_table_can_be_truncated_by_the_app_and_none_is_its_own(
    database_url: str,
) -> None:
    async with connection() as conn:
        truncatable = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
            "AND (has_table_privilege(current_user, c.oid, 'TRUNCATE') "
            "OR has_table_privilege(current_user, c.oid, 'TRIGGER') "
            "OR has_table_privilege(current_user, c.oid, 'REFERENCES') "
            "OR pg_has_role(current_user, c.relowner, 'MEMBER'))"
        )
        assert [r["relname"] for r in truncatable] == []
        # Piccolo's record of migrations is the owner's business only.
        assert not await conn.fetchval("SELECT has_table_privilege('migration', 'SELECT')")


async def test_the_start_up_check_refuses_a_superuser_and_an_owner(
    owner_database_url: str, database_url: str
) -> None:
    conn = await asyncpg.connect(owner_database_url)  # the test server's superuser
    try:
        problems = await privilege_problems(conn)
        assert any("is a superuser" in p for p in problems)
        # A role that owns one table could switch its triggers off: refused too.
        await conn.execute("CREATE TABLE owned_by_app (id int)")
        await conn.execute(f"ALTER TABLE owned_by_app OWNER TO {APP_ROLE}")
    finally:
        await conn.close()
    with pytest.raises(PrivilegedDatabaseRole, match=r"owns tables: public\.owned_by_app"):
        await refuse_privileged_role()


async def test_making_the_login_role_is_idempotent_when_runs_race(
    owner_database_url: str,
) -> None:
    """Roles are cluster-wide: several test runs (or `wallet dev`s) make the same one at
    the same moment. Here under a name of this test's own, dropped afterwards."""
    role = f"wallet_app_race_{os.getpid()}"
    sessions = [await asyncpg.connect(owner_database_url) for _ in range(6)]
    login = "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1"
    try:
        await asyncio.gather(*(ensure_app_login(c, role) for c in sessions))
        assert await sessions[0].fetchval(login, role) is True
        # Made by a migration without LOGIN: all of them turn it on at once.
        await sessions[0].execute(f"ALTER ROLE {role} NOLOGIN")
        await asyncio.gather(*(ensure_app_login(c, role) for c in sessions))
        assert await sessions[0].fetchval(login, role) is True
    finally:
        await sessions[0].execute(f"DROP ROLE IF EXISTS {role}")
        for session in sessions:
            await session.close()
