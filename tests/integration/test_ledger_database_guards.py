"""The database itself refuses ledger corruption, whatever the application does."""

import asyncpg
import pytest

from tests.factories import make_user
from tests.ledger_helpers import wallet_account
from wallet.db.engine import connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.models import EntryDraft, Purpose
from wallet.money import Currency, Money

pytestmark = pytest.mark.usefixtures("database_url")


async def _posted_entry() -> int:
    user = await make_user(balance="10.00")
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT entry_id FROM posting WHERE account_id = $1", await wallet_account(user.id)
            )
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE posting SET amount = amount + 1 WHERE entry_id = $1",
        "DELETE FROM posting WHERE entry_id = $1",
        "UPDATE journal_entry SET description = 'edited' WHERE id = $1",
        "DELETE FROM journal_entry WHERE id = $1",
    ],
)
async def test_ledger_rows_cannot_be_updated_or_deleted(
    statement: str, owner_database_url: str
) -> None:
    # As the owner: the app's role has no UPDATE or DELETE here at all
    # (test_database_roles.py); the triggers hold even for the owner.
    entry_id = await _posted_entry()
    conn = await asyncpg.connect(owner_database_url)
    try:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
            await conn.execute(statement, entry_id)
        assert (
            await conn.fetchval("SELECT count(*) FROM posting WHERE entry_id = $1", entry_id) == 2
        )
    finally:
        await conn.close()


@pytest.mark.parametrize("table", ["posting", "journal_entry"])
async def test_ledger_tables_cannot_be_truncated(table: str, owner_database_url: str) -> None:
    await _posted_entry()
    conn = await asyncpg.connect(owner_database_url)
    try:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
            await conn.execute(f"TRUNCATE {table} CASCADE")
    finally:
        await conn.close()


async def test_unbalanced_entry_is_rejected_at_commit() -> None:
    user = await make_user()
    account = await wallet_account(user.id)
    async with connection() as conn:
        funding = await ledger.system_account_id(conn, Currency.USD, Purpose.PROMOTIONAL_FUNDING)
        before = await conn.fetchval("SELECT count(*) FROM journal_entry")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="does not balance"):
        async with transaction() as conn:
            entry = await conn.fetchval(
                "INSERT INTO journal_entry (kind) VALUES ('raw') RETURNING id"
            )
            await conn.execute(
                "INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after)"
                " VALUES ($1, $2, 'USD', 'D', 100, 100), ($1, $3, 'USD', 'C', 90, 90)",
                entry,
                funding,
                account,
            )
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM journal_entry") == before


async def test_posting_for_an_entry_committed_earlier_is_refused() -> None:
    # Balanced, so only the entry's age refuses it: the balance check runs once per
    # entry, at the COMMIT of the transaction that wrote it (migration 0043).
    entry = await _posted_entry()
    user = await make_user()
    account = await wallet_account(user.id)
    async with connection() as conn:
        funding = await ledger.system_account_id(conn, Currency.USD, Purpose.PROMOTIONAL_FUNDING)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="committed earlier"):
        async with transaction() as conn:
            await conn.execute(
                "INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after)"
                " VALUES ($1, $2, 'USD', 'D', 100, 100), ($1, $3, 'USD', 'C', 100, 100)",
                entry,
                funding,
                account,
            )
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM posting WHERE entry_id = $1", entry) == 2


async def test_entry_checked_once_at_commit_not_once_per_posting() -> None:
    async with connection() as conn:
        triggers = await conn.fetch(
            "SELECT tgrelid::regclass::text AS tbl, tgname, tgdeferrable FROM pg_trigger "
            "WHERE tgfoid = 'ledger_check_entry_balanced'::regproc AND tgparentid = 0"
        )
        # The table is partitioned by month: each partition runs its parent's trigger.
        unchecked = await conn.fetch(
            "SELECT i.inhrelid::regclass::text AS part FROM pg_inherits i "
            "WHERE i.inhparent = 'journal_entry'::regclass AND NOT EXISTS ("
            "SELECT 1 FROM pg_trigger t WHERE t.tgrelid = i.inhrelid "
            "AND t.tgfoid = 'ledger_check_entry_balanced'::regproc AND t.tgdeferrable)"
        )
    assert [(t["tbl"], t["tgname"], t["tgdeferrable"]) for t in triggers] == [
        ("journal_entry", "journal_entry_balanced", True)
    ]
    assert unchecked == []


async def test_entry_written_inside_a_savepoint_takes_its_postings() -> None:
    # A savepoint (a batched send's) or a PL/pgSQL exception block is a subtransaction:
    # the entry is still the transaction's own.
    user = await make_user()
    account = await wallet_account(user.id)
    async with transaction() as conn:
        funding = await ledger.system_account_id(conn, Currency.USD, Purpose.PROMOTIONAL_FUNDING)
        async with conn.transaction():
            entry = await conn.fetchval(
                "INSERT INTO journal_entry (kind) VALUES ('raw') RETURNING id"
            )
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after)"
                " VALUES ($1, $2, 'USD', 'D', 100, 100), ($1, $3, 'USD', 'C', 100, 100)",
                entry,
                funding,
                account,
            )
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM posting WHERE entry_id = $1", entry) == 2


async def test_entry_without_postings_is_rejected_at_commit() -> None:
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="at least 2"):
        async with transaction() as conn:
            await conn.execute("INSERT INTO journal_entry (kind) VALUES ('empty')")


async def test_posting_currency_must_match_its_account() -> None:
    user = await make_user()
    account = await wallet_account(user.id)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with transaction() as conn:
            entry = await conn.fetchval(
                "INSERT INTO journal_entry (kind) VALUES ('raw') RETURNING id"
            )
            await conn.execute(
                "INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after)"
                " VALUES ($1, $2, 'EUR', 'C', 100, 100)",
                entry,
                account,
            )


async def test_no_overdraft_wallet_cannot_go_negative_even_by_direct_update() -> None:
    user = await make_user(balance="5.00")
    account = await wallet_account(user.id)
    async with connection() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="no_overdraft"):
            await conn.execute(
                "UPDATE ledger_account SET posted_debits = posted_credits + 1 WHERE id = $1",
                account,
            )
        with pytest.raises(asyncpg.CheckViolationError, match="no_overdraft"):
            await conn.execute(
                "UPDATE ledger_account SET pending_debits = 501 WHERE id = $1", account
            )


async def test_system_chart_of_accounts_exists_for_every_currency() -> None:
    async with connection() as conn:
        for currency in Currency:
            for purpose in (
                Purpose.GATEWAY_CLEARING_SANDBOX,
                Purpose.FEE_REVENUE,
                Purpose.UNCLAIMED_TRANSFERS,
                Purpose.CHARGEBACK_RESERVE,
                Purpose.PROMOTIONAL_FUNDING,
            ):
                assert await ledger.system_account_id(conn, currency, purpose) > 0


async def test_entry_with_two_postings_to_the_same_account_keeps_running_balances() -> None:
    user = await make_user(balance="10.00")
    account = await wallet_account(user.id)
    async with transaction() as conn:
        funding = await ledger.system_account_id(conn, Currency.USD, Purpose.PROMOTIONAL_FUNDING)
        from wallet.ledger.models import PostingDraft, Side

        await ledger.post_entry(
            conn,
            EntryDraft(
                "split",
                (
                    PostingDraft(funding, Side.DEBIT, Money(300, Currency.USD)),
                    PostingDraft(account, Side.CREDIT, Money(100, Currency.USD)),
                    PostingDraft(account, Side.CREDIT, Money(200, Currency.USD)),
                ),
            ),
        )
        afters = [
            r["balance_after"]
            for r in await conn.fetch(
                "SELECT balance_after FROM posting WHERE account_id = $1 ORDER BY id", account
            )
        ]
    assert afters == [1000, 1100, 1300]


async def test_failed_commit_releases_the_connection_and_the_next_command_works() -> None:
    """A commit refused by a deferred trigger must not leave a dead transaction behind."""
    from wallet.db.engine import DB

    for _ in range(3):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError):
            async with transaction() as conn:
                await conn.execute("INSERT INTO journal_entry (kind) VALUES ('empty')")
        assert DB.current_transaction.get() is None
    user = await make_user(balance="1.00")
    assert await wallet_account(user.id) > 0


async def test_ledger_functions_keep_generic_plans() -> None:
    """Migration 0025: the write path's by-id lookups are not re-planned on every call. A
    later CREATE OR REPLACE of one of these functions drops the setting; this catches it."""
    async with connection() as conn:
        settings = dict(
            await conn.fetch(
                "SELECT proname, proconfig FROM pg_proc WHERE proname = ANY($1::text[])",
                [
                    "ledger_post_entry",
                    "ledger_check_entry_balanced",
                    "ledger_roll_up_locked",
                    "ledger_roll_up",
                    "ledger_post_transfers",
                ],
            )
        )
    assert len(settings) == 5
    for name, config in settings.items():
        assert config == ["plan_cache_mode=force_generic_plan"], name
