"""Partitioned history (migrations/sql/0049, wallet.db.partitions) on a month boundary.

The monthly tables are partitioned by id, and an id carries the month it was drawn in,
from the clock. To cross midnight of the 1st without waiting for it, a test replaces
`history_next_id` in its own database with one that reads the clock from a table the
test sets (`clock_at`); everything else, the batched send path included, is the real
code.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.factories import make_user
from tests.ledger_helpers import wallet_account, wallet_cents
from wallet.db import partitions
from wallet.db.engine import connection, transaction
from wallet.idempotency import service as idempotency
from wallet.ledger import service as ledger
from wallet.ledger.models import Purpose
from wallet.money import Currency, Money
from wallet.outbox import service as outbox
from wallet.transactions import history
from wallet.transactions.history import HistoryFilter
from wallet.transfers.service import SendMoney, send_money

pytestmark = pytest.mark.usefixtures("database_url")

MONTHLY = (
    "journal_entry",
    "posting",
    "money_transaction",
    "transaction_transition",
    "outbox_event",
    "audit_log",
)


def month_index(at: datetime) -> int:
    return (at.year - 2000) * 12 + at.month - 1


def month_start(index: int) -> datetime:
    return datetime(2000 + index // 12, index % 12 + 1, 1, tzinfo=UTC)


THIS_MONTH = month_index(datetime.now(UTC))
# The last second of this month, and the first of the next.
BEFORE_MIDNIGHT = month_start(THIS_MONTH + 1) - timedelta(seconds=1)
AFTER_MIDNIGHT = month_start(THIS_MONTH + 1)


@pytest.fixture
async def owner(owner_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(owner_database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def clock(owner: asyncpg.Connection) -> AsyncIterator[ClockControl]:
    """Ids drawn at the time this sets (this test's database only)."""
    await owner.execute(
        """
        CREATE TABLE test_history_clock (at timestamptz);
        INSERT INTO test_history_clock VALUES (NULL);
        GRANT SELECT ON test_history_clock TO wallet_app;
        CREATE OR REPLACE FUNCTION history_next_id(seq regclass) RETURNS bigint
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            n bigint := nextval(seq);
        BEGIN
            RETURN history_id_floor(history_month(coalesce(
                (SELECT at FROM test_history_clock), clock_timestamp()))) | n;
        END $$;
        """
    )
    yield ClockControl(owner)


class ClockControl:
    def __init__(self, owner: asyncpg.Connection) -> None:
        self._owner = owner

    async def set(self, at: datetime) -> None:
        await self._owner.execute("UPDATE test_history_clock SET at = $1", at)


async def partition_of(table: str, row_id: int) -> str:
    async with connection() as conn:
        return str(
            await conn.fetchval(
                f"SELECT tableoid::regclass::text FROM {table} WHERE id = $1", row_id
            )
        )


def usd(minor: int) -> Money:
    return Money(minor, Currency.USD)


async def test_each_history_table_has_this_month_and_three_ahead() -> None:
    async with connection() as conn:
        for table in MONTHLY:
            kind = await conn.fetchval(
                "SELECT relkind FROM pg_class WHERE oid = $1::regclass", table
            )
            assert kind == b"p", table
            names = [p.name for p in await partitions.partitions(conn, table)]
            expected = [
                f"{table}_p{month_start(m):%Y_%m}" for m in range(THIS_MONTH, THIS_MONTH + 4)
            ]
            assert set(expected) <= set(names), table
            assert f"{table}_legacy" in names
        days = [p.name for p in await partitions.partitions(conn, "idempotency_key")]
        today = datetime.now(UTC).date()
        assert {f"idempotency_key_p{today + timedelta(days=d):%Y_%m_%d}" for d in range(8)} <= set(
            days
        )
        assert 7 <= await partitions.days_ahead(conn) <= 8
        # A new row lands in this month's partition, its id saying so.
        event = await outbox.emit(conn, outbox.Topic.NOTICE, {"probe": True})
    assert partitions.id_month(event) == THIS_MONTH
    assert (
        await partition_of("outbox_event", event)
        == f"outbox_event_p{month_start(THIS_MONTH):%Y_%m}"
    )


async def test_partitions_are_reached_only_through_their_table() -> None:
    part = f"posting_p{month_start(THIS_MONTH):%Y_%m}"
    async with connection() as conn:
        await conn.fetchval("SELECT count(*) FROM posting")  # the table: allowed
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval(f"SELECT count(*) FROM {part}")


@pytest.mark.usefixtures("assert_ledger_sound")
async def test_sends_either_side_of_midnight_on_the_first(clock: ClockControl) -> None:
    payer, payee = await make_user(balance="10.00"), await make_user()
    sent = []
    for at in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT):
        await clock.set(at)
        for _ in range(2):
            receipt = await send_money(
                SendMoney(payer.id, payee.username, usd(125), "", uuid.uuid4().hex)
            )
            sent.append(receipt.transaction_id)

    # The first two are in this month's partitions, the last two in next month's: the
    # transaction, its transitions, its entry and its postings.
    names = [f"{month_start(m):%Y_%m}" for m in (THIS_MONTH, THIS_MONTH + 1)]
    for i, txn in enumerate(sent):
        month = names[i // 2]
        assert await partition_of("money_transaction", txn) == f"money_transaction_p{month}"
        async with connection() as conn:
            entry = await conn.fetchval(
                "SELECT entry_id FROM transaction_entry WHERE transaction_id = $1", txn
            )
            posting_parts = await conn.fetch(
                "SELECT DISTINCT tableoid::regclass::text AS p FROM posting WHERE entry_id = $1",
                entry,
            )
            transition_parts = await conn.fetch(
                "SELECT DISTINCT tableoid::regclass::text AS p FROM transaction_transition "
                "WHERE transaction_id = $1",
                txn,
            )
        assert await partition_of("journal_entry", entry) == f"journal_entry_p{month}"
        assert [r["p"] for r in posting_parts] == [f"posting_p{month}"]
        assert [r["p"] for r in transition_parts] == [f"transaction_transition_p{month}"]

    # Balances and the running chain carry across; the history pages across the boundary,
    # newest first, one page then the next.
    assert await wallet_cents(payer.id) == 500
    assert await wallet_cents(payee.id) == 500
    first, more = await history.page(
        payer.id, first=3, after_id=None, history_filter=HistoryFilter()
    )
    rest, _ = await history.page(
        payer.id, first=3, after_id=first[-1].id, history_filter=HistoryFilter()
    )
    sends = [i.id for i in first + rest if i.id in sent]
    assert more and sends == sent[::-1]
    assert [i.running_balance for i in first[:2]] == [usd(500), usd(625)]


async def test_an_entry_whose_postings_fall_in_the_next_month_is_still_checked_whole(
    clock: ClockControl,
) -> None:
    """The entry drawn before midnight, its postings after: the deferred balance check
    reads them across the two partitions, and refuses the entry if they don't balance.
    (Raw rows, as tests/integration/test_ledger_database_guards.py writes them: they
    leave the accounts' totals behind, so no ledger check after this one.)"""
    user = await make_user()
    account = await wallet_account(user.id)
    async with connection() as conn:
        funding = await ledger.system_account_id(conn, Currency.USD, Purpose.PROMOTIONAL_FUNDING)
    postings = (
        "INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after)"
        " VALUES ($1, $2, 'USD', 'D', 100, 100), ($1, $3, 'USD', 'C', $4, $4) RETURNING id"
    )
    for credit in (90, 100):
        await clock.set(BEFORE_MIDNIGHT)
        try:
            async with transaction() as conn:
                entry = await conn.fetchval(
                    "INSERT INTO journal_entry (kind) VALUES ('raw') RETURNING id"
                )
                await clock.set(AFTER_MIDNIGHT)
                posted = await conn.fetch(postings, entry, funding, account, credit)
        except asyncpg.IntegrityConstraintViolationError as refused:
            assert credit == 90 and "does not balance" in str(refused)
            continue
        assert credit == 100
    assert partitions.id_month(entry) == THIS_MONTH
    assert {partitions.id_month(p["id"]) for p in posted} == {THIS_MONTH + 1}
    # The postings' foreign key found their entry in the other month's partition, and
    # the reads that look only in the entry's month and the next (0050) find them.
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM posting WHERE entry_id = $1", entry) == 2
        assert [p.amount.amount_minor for p in await ledger.entry_postings(conn, entry)] == [
            100,
            100,
        ]
        after = await conn.fetchval(
            "SELECT balance_after FROM ledger_entry_balance_after($1, 'user', $2, 'wallet', 'USD')",
            entry,
            user.id,
        )
    assert after == 100


async def test_an_entrys_postings_are_read_from_two_months_not_all() -> None:
    """The history page's running balance, once per row: pruned to the entry's month and
    the next, not a probe of every month's index (migrations/sql/0050)."""
    payer, payee = await make_user(balance="5.00"), await make_user()
    receipt = await send_money(SendMoney(payer.id, payee.username, usd(100), "", uuid.uuid4().hex))
    async with connection() as conn:
        entry = await conn.fetchval(
            "SELECT entry_id FROM transaction_entry WHERE transaction_id = $1",
            receipt.transaction_id,
        )
        months = len(await partitions.partitions(conn, "posting"))
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN SELECT * FROM ledger_entry_balance_after($1, 'user', $2, 'wallet', 'USD')",
                entry,
                payee.id,
            )
        )
        balance = await conn.fetchval(
            "SELECT * FROM ledger_entry_balance_after($1, 'user', $2, 'wallet', 'USD')",
            entry,
            payee.id,
        )
    assert balance == 100
    read = {m for m in re.findall(r" on (posting_\w+) p", plan)}
    assert months >= 5 and read == {
        f"posting_p{month_start(THIS_MONTH):%Y_%m}",
        f"posting_p{month_start(THIS_MONTH + 1):%Y_%m}",
    }, plan


@pytest.mark.usefixtures("assert_ledger_sound")
async def test_ledger_rows_stay_immutable_in_every_partition(
    clock: ClockControl, owner: asyncpg.Connection
) -> None:
    payer, payee = await make_user(balance="5.00"), await make_user()
    for at in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT):
        await clock.set(at)
        await send_money(SendMoney(payer.id, payee.username, usd(100), "", uuid.uuid4().hex))
    rows = await owner.fetch(
        "SELECT p.id, p.tableoid::regclass::text AS part FROM posting p "
        "JOIN ledger_account a ON a.id = p.account_id WHERE a.owner_id = $1",
        payee.id,
    )
    assert len({r["part"] for r in rows}) == 2
    for row in rows:
        # Even the owner: the row triggers live on every partition.
        for statement in (
            "UPDATE posting SET amount = amount + 1 WHERE id = $1",
            "DELETE FROM posting WHERE id = $1",
        ):
            with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
                await owner.execute(statement, row["id"])
    # A partition on its own refuses TRUNCATE as its table does (one no table refers to,
    # so that it is the guard that refuses, not a foreign key).
    for table in ("transaction_transition", "audit_log"):
        for month in (THIS_MONTH, THIS_MONTH + 1):
            with pytest.raises(asyncpg.PostgresError, match=r"immutable|append-only"):
                await owner.execute(f'TRUNCATE "{table}_p{month_start(month):%Y_%m}"')
    assert await owner.fetchval(
        "SELECT count(*) FROM posting WHERE id = ANY($1)", [r["id"] for r in rows]
    ) == len(rows)


@pytest.mark.usefixtures("assert_ledger_sound")
async def test_a_transaction_is_reversed_once_across_partitions(clock: ClockControl) -> None:
    payer, payee = await make_user(balance="5.00"), await make_user()
    receipt = await send_money(SendMoney(payer.id, payee.username, usd(100), "", uuid.uuid4().hex))
    insert = (
        "INSERT INTO money_transaction (type, status, currency, amount, reverses_id) "
        "VALUES ('reversal', 'initiated', 'USD', 100, $1) RETURNING id"
    )
    await clock.set(BEFORE_MIDNIGHT)
    async with transaction() as conn:
        first = await conn.fetchval(insert, receipt.transaction_id)
    await clock.set(AFTER_MIDNIGHT)
    with pytest.raises(asyncpg.UniqueViolationError, match="transaction_reversal"):
        async with transaction() as conn:
            await conn.fetchval(insert, receipt.transaction_id)
    async with connection() as conn:
        assert (
            await conn.fetchval(
                "SELECT reversal_id FROM transaction_reversal WHERE reversed_id = $1",
                receipt.transaction_id,
            )
            == first
        )


async def test_the_job_makes_partitions_ahead_and_is_idempotent() -> None:
    async with transaction() as conn:
        assert await partitions.make_ahead(conn) == 0  # the migration made them
        # Two more months for each of the six tables and two more days of keys.
        assert await partitions.make_ahead(conn, months_ahead=5, days_ahead=9) == 6 * 2 + 2
        assert await partitions.make_ahead(conn, months_ahead=5, days_ahead=9) == 0
        assert await partitions.days_ahead(conn) >= 9
        guarded = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass "
            "AND tgname LIKE '%no_truncate'",
            f"posting_p{month_start(THIS_MONTH + 5):%Y_%m}",
        )
    assert guarded == 1


async def test_expired_idempotency_keys_go_by_the_day_and_still_count_until_then() -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    async with transaction() as conn:
        # A key remembered yesterday (the partition of the days before the migration) ...
        await conn.execute(
            "INSERT INTO idempotency_key (principal, key, fingerprint, response, created_at) "
            "VALUES ('user:1', 'k-old', 'f', '{\"ok\": 1}', $1)",
            yesterday,
        )
        await idempotency.remember(conn, "user:1", "k-new", "f", {"ok": 2})
    async with transaction() as conn:
        # ... still answers a retry today, from another day's partition.
        assert await idempotency.claim(conn, "user:1", "k-old", "f") == {"ok": 1}
        assert await idempotency.claim(conn, "user:1", "k-new", "f") == {"ok": 2}
        with pytest.raises(idempotency.IdempotencyConflict):
            await idempotency.claim(conn, "user:1", "k-old", "other request")
    async with transaction() as conn:
        # Within the retention window: nothing goes.
        assert await idempotency.purge_expired(conn) == 0
        # With none: every partition wholly in the past goes (yesterday's), by DROP.
        dropped = await conn.fetchval("SELECT idempotency_drop_expired(interval '0')")
    assert dropped == 1
    async with connection() as conn:
        keys = await conn.fetch("SELECT key FROM idempotency_key ORDER BY key")
        deleted = await conn.fetchval(
            "SELECT coalesce(sum(n_tup_del), 0) FROM pg_stat_user_tables "
            "WHERE relname LIKE 'idempotency_key%'"
        )
    assert [k["key"] for k in keys] == ["k-new"]
    assert deleted == 0


async def test_published_outbox_events_go_by_the_month_once_the_relay_is_past(
    owner: asyncpg.Connection,
) -> None:
    # Events of an earlier month: the rows the partitioning found (the legacy partition).
    old_ids = [
        await owner.fetchval(
            "INSERT INTO outbox_event (id, topic, payload) VALUES ($1, 'notice', '{}') "
            "RETURNING id",
            n,
        )
        for n in (1, 2)
    ]
    async with transaction() as conn:
        current = await outbox.emit(conn, outbox.Topic.NOTICE, {"now": True})
    last_old = max(old_ids)

    async def drop(keep_months: int = 0) -> int:
        async with transaction() as conn:
            return await outbox.drop_published(conn, keep_months)

    await owner.execute("UPDATE outbox_relay_cursor SET last_id = $1", last_old)
    assert await drop() == 0  # unpublished
    await owner.execute("UPDATE outbox_event SET published_at = now() WHERE id = ANY($1)", old_ids)
    assert await drop(keep_months=1) == 0  # not a whole month older than the one kept
    await owner.execute("UPDATE outbox_relay_cursor SET last_id = 0")
    assert await drop() == 0  # the relay is not past them
    await owner.execute("UPDATE outbox_relay_cursor SET last_id = $1", last_old)
    # The bound: the cursor must be past the partition's last possible id.
    first_of_month = month_start(THIS_MONTH)
    await owner.execute(
        "UPDATE outbox_relay_cursor SET last_id = $1",
        (month_index(first_of_month) << partitions.ID_MONTH_SHIFT) - 1,
    )
    assert await drop() == 1
    async with connection() as conn:
        left = await conn.fetch("SELECT id FROM outbox_event ORDER BY id")
        names = [p.name for p in await partitions.partitions(conn, "outbox_event")]
    assert [r["id"] for r in left] == [current]
    assert "outbox_event_legacy" not in names
