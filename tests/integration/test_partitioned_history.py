"""Partitioned history (migrations/sql/0049, wallet.db.partitions) on a month boundary.

The monthly tables are partitioned by id, and an id carries the month it was drawn in,
from the clock. To cross midnight of the 1st without waiting for it, a test replaces
`history_next_id` in its own database with one that reads the clock from a table the
test sets (`clock_at`); everything else, the batched send path included, is the real
code.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from redis.asyncio import Redis

from tests.factories import make_user
from tests.ledger_helpers import wallet_account, wallet_cents
from tests.subscriptions import _NoJobs
from wallet.db import partitions
from wallet.db.engine import connection, transaction
from wallet.idempotency import service as idempotency
from wallet.ledger import service as ledger
from wallet.ledger.models import Purpose
from wallet.money import Currency, Money
from wallet.outbox import service as outbox
from wallet.outbox.relay import OutboxRelay
from wallet.realtime.channels import Channels
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


month_index, month_start, floor = (
    partitions.month_index,
    partitions.month_start,
    partitions.first_id,
)


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
        CREATE OR REPLACE FUNCTION history_last_id(seq regclass) RETURNS bigint
        LANGUAGE sql VOLATILE AS $$
            SELECT history_id_floor(history_month(coalesce(
                       (SELECT at FROM test_history_clock), clock_timestamp())))
                   | coalesce(pg_sequence_last_value(seq), 0)
        $$;
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
        # Today's keys are in the legacy partition (it runs through the migration's day).
        assert {
            f"idempotency_key_p{today + timedelta(days=d):%Y_%m_%d}" for d in range(1, 8)
        } <= set(days)
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


async def test_expired_idempotency_keys_go_by_the_day_and_still_count_until_then(
    owner: asyncpg.Connection,
) -> None:
    today = await owner.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
    # The partitions of a table in service for a while: the days before the migration in
    # the legacy partition, then a partition a day (here: from three days ago).
    await owner.execute(
        f"""
        ALTER TABLE idempotency_key DETACH PARTITION idempotency_key_legacy;
        DROP TABLE idempotency_key_legacy;
        CREATE TABLE idempotency_key_legacy PARTITION OF idempotency_key
            FOR VALUES FROM (MINVALUE) TO ('{today - timedelta(days=3)}');
        """
    )
    for back in (3, 2, 1, 0):
        day = today - timedelta(days=back)
        await owner.execute(
            f"CREATE TABLE idempotency_key_p{day:%Y_%m_%d} PARTITION OF idempotency_key "
            f"FOR VALUES FROM ('{day}') TO ('{day + timedelta(days=1)}')"
        )
    # Retention must not delete rows: a DELETE would be refused.
    await owner.execute(
        """
        CREATE FUNCTION test_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'keys are dropped by partition, not deleted'; END $$;
        CREATE TRIGGER test_no_delete BEFORE DELETE ON idempotency_key
            FOR EACH ROW EXECUTE FUNCTION test_no_delete();
        """
    )
    async with transaction() as conn:
        for key, back in (("k-3d", 3), ("k-1d", 1)):
            await conn.execute(
                "INSERT INTO idempotency_key (principal, key, fingerprint, response, created_at,"
                " created_on) VALUES ('user:1', $1, 'f', $2, now() - make_interval(days => $3),"
                " $4)",
                key,
                json.dumps({"key": key}),
                back,
                today - timedelta(days=back),
            )
        await idempotency.remember(conn, "user:1", "k-now", "f", {"key": "k-now"})
    async with transaction() as conn:
        # A key from an earlier day's partition still answers a retry today ...
        assert await idempotency.claim(conn, "user:1", "k-1d", "f") == {"key": "k-1d"}
        with pytest.raises(idempotency.IdempotencyConflict):
            await idempotency.claim(conn, "user:1", "k-1d", "another request")
    # ... and the database refuses the same key twice in one day.
    with pytest.raises(asyncpg.UniqueViolationError):
        async with transaction() as conn:
            await idempotency.remember(conn, "user:1", "k-now", "f", {"again": True})

    async with transaction() as conn:
        # 48 hours: the legacy days and the day three days ago go, by DROP.
        assert await idempotency.purge_expired(conn) == 2
    async with transaction() as conn:
        # However little the caller asks to keep, a day is kept: the day before yesterday
        # goes, yesterday's keys stay.
        assert await conn.fetchval("SELECT idempotency_drop_expired(interval '-1 day')") == 1
    async with connection() as conn:
        keys = await conn.fetch("SELECT key FROM idempotency_key ORDER BY key")
        days = [p.name for p in await partitions.partitions(conn, "idempotency_key")]
    assert [k["key"] for k in keys] == ["k-1d", "k-now"]
    assert "idempotency_key_legacy" not in days
    assert f"idempotency_key_p{today - timedelta(days=3):%Y_%m_%d}" not in days
    assert f"idempotency_key_p{today - timedelta(days=2):%Y_%m_%d}" not in days
    assert f"idempotency_key_p{today - timedelta(days=1):%Y_%m_%d}" in days


async def test_published_outbox_events_go_by_the_month_once_the_relay_is_past(
    owner: asyncpg.Connection,
) -> None:
    # A table in service for a while: partitions for the last two months too.
    await owner.execute(
        f"""
        ALTER TABLE outbox_event DETACH PARTITION outbox_event_legacy;
        DROP TABLE outbox_event_legacy;
        CREATE TABLE outbox_event_legacy PARTITION OF outbox_event
            FOR VALUES FROM (MINVALUE) TO ({floor(THIS_MONTH - 2)});
        """
    )
    for month in (THIS_MONTH - 2, THIS_MONTH - 1):
        await owner.execute(
            f"CREATE TABLE outbox_event_p{month_start(month):%Y_%m} PARTITION OF outbox_event "
            f"FOR VALUES FROM ({floor(month)}) TO ({floor(month + 1)})"
        )
    old_ids = [
        await owner.fetchval(
            "INSERT INTO outbox_event (id, topic, payload) VALUES ($1, 'notice', '{}') "
            "RETURNING id",
            floor(THIS_MONTH - 2) + n,
        )
        for n in (1, 2)
    ]
    async with transaction() as conn:
        current = await outbox.emit(conn, outbox.Topic.NOTICE, {"now": True})

    async def drop(keep_months: int = 1) -> int:
        async with transaction() as conn:
            return await outbox.drop_published(conn, keep_months)

    # The relay is past them, but they are not published: only the (empty) legacy
    # partition goes.
    await owner.execute("UPDATE outbox_relay_cursor SET last_id = $1", floor(THIS_MONTH) - 1)
    assert await drop() == 1
    await owner.execute("UPDATE outbox_event SET published_at = now() WHERE id = ANY($1)", old_ids)
    # Published, but the relay is not past the month's last possible id: nothing goes.
    await owner.execute("UPDATE outbox_relay_cursor SET last_id = $1", max(old_ids))
    assert await drop() == 0
    await owner.execute("UPDATE outbox_relay_cursor SET last_id = $1", floor(THIS_MONTH - 1) - 1)
    # Two months kept: the one two months back is not older than that yet.
    assert await drop(keep_months=2) == 0
    # One month kept (the least: asking for none keeps one): the month two back goes;
    # last month and this one stay.
    assert await drop(keep_months=0) == 1
    async with connection() as conn:
        left = await conn.fetch("SELECT id FROM outbox_event ORDER BY id")
        names = [p.name for p in await partitions.partitions(conn, "outbox_event")]
    assert [r["id"] for r in left] == [current]
    assert "outbox_event_legacy" not in names
    assert f"outbox_event_p{month_start(THIS_MONTH - 2):%Y_%m}" not in names
    assert f"outbox_event_p{month_start(THIS_MONTH - 1):%Y_%m}" in names


async def test_the_relay_publishes_every_event_across_midnight_on_the_first(
    clock: ClockControl, redis: Redis
) -> None:
    channels = Channels("relay-boundary")
    relay = OutboxRelay(publisher=redis, jobs=_NoJobs(), channels=channels)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channels.balance(9))
    emitted = []
    for at in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT, AFTER_MIDNIGHT):
        await clock.set(at)
        async with transaction() as conn:
            emitted.append(
                await outbox.emit(
                    conn, outbox.Topic.BALANCE_CHANGED, {"user_id": 9, "currency": "USD"}
                )
            )
        assert await relay.drain() == 1
    await relay.advance_cursor()
    await relay.advance_cursor()
    received = []
    deadline = time.monotonic() + 10
    while len(received) < 3:
        assert time.monotonic() < deadline, received
        message = await pubsub.get_message(timeout=1)  # None for the subscribe's answer
        if message is not None:
            received.append(json.loads(message["data"])["event_id"])
    await pubsub.aclose()
    assert received == emitted
    assert [partitions.id_month(e) for e in emitted] == [THIS_MONTH] + [THIS_MONTH + 1] * 2
    async with connection() as conn:
        cursor = await conn.fetchval("SELECT last_id FROM outbox_relay_cursor")
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox_event WHERE published_at IS NULL") == 0
        )
    assert cursor >= emitted[-1]
