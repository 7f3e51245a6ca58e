"""A user's transactions are read through one (user, created_at, id) index per side
(migration 0043): the history pages through it in (created_at, id) order, and the limits'
sums use it, on a table large enough that a sequential scan would show."""

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.factories import make_user
from wallet.db.engine import connection, transaction
from wallet.fraud.engine import Attempt, Rule, features_of
from wallet.limits.service import usage
from wallet.money import Currency, Money
from wallet.rates import SandboxRates
from wallet.transactions.history import HistoryFilter, page

pytestmark = pytest.mark.usefixtures("database_url")

SEED = """
INSERT INTO app_user (email, phone, username, password_hash)
SELECT 'seed' || g || '@x.test', '+1444' || lpad(g::text, 7, '0'), 'seed' || g, 'x'
  FROM generate_series(1, 2000) g;
INSERT INTO money_transaction (type, status, initiator_user_id, counterparty_user_id,
                               currency, amount, created_at)
SELECT 'send', 'completed', u.lo + g % 2000, u.lo + (g * 7 + 1) % 2000, 'USD', 100,
       now() - g * interval '1 minute'
  FROM generate_series(1, 40000) g, (SELECT min(id) AS lo FROM app_user
                                      WHERE username LIKE 'seed%') u;
ANALYZE money_transaction;
"""


async def _seed(owner_database_url: str) -> None:
    conn = await asyncpg.connect(owner_database_url)
    try:
        await conn.execute(SEED)
    finally:
        await conn.close()


async def _scans(conn: asyncpg.Connection) -> tuple[int, dict[str, int]]:
    """This transaction's sequential scans of money_transaction, and its index scans
    (the table is partitioned by month: the sums over its partitions)."""
    scanned = await conn.fetch(
        "SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE seq_scan > 0 AND relid IN "
        "(SELECT inhrelid FROM pg_inherits WHERE inhparent = 'money_transaction'::regclass)"
    )
    # An empty partition (a month ahead) may be read by a scan of nothing at all; a
    # partition with rows may not.
    holding = set(
        await conn.fetchval(
            "SELECT coalesce(array_agg(DISTINCT tableoid::regclass::text), '{}') "
            "FROM money_transaction"
        )
    )
    seq = sum(int(row["seq_scan"]) for row in scanned if row["relname"] in holding)
    rows = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, "
        "coalesce(sum(pg_stat_get_xact_numscans(p.inhrelid)), 0) AS scans FROM pg_index i "
        "LEFT JOIN pg_inherits p ON p.inhparent = i.indexrelid "
        "WHERE i.indrelid = 'money_transaction'::regclass GROUP BY 1"
    )
    return int(seq), {r["name"]: int(r["scans"]) for r in rows}


async def test_party_indexes_are_one_per_side() -> None:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'money_transaction' "
            "AND (indexdef LIKE '%initiator_user_id%' OR indexdef LIKE '%counterparty_user_id%')"
        )
    defs = {r["indexname"]: r["indexdef"].split(" USING ")[1] for r in rows}
    assert defs == {
        "money_transaction_initiator_idx": "btree (initiator_user_id, created_at, id)",
        "money_transaction_counterparty_idx": "btree (counterparty_user_id, created_at, id)",
        "money_transaction_initiator_unbooked_idx": (
            "btree (initiator_user_id, created_at, id) WHERE (entry_id IS NULL)"
        ),
        "money_transaction_counterparty_unbooked_idx": (
            "btree (counterparty_user_id, created_at, id) WHERE (entry_id IS NULL)"
        ),
    }


async def test_history_and_limits_read_through_the_party_indexes(
    owner_database_url: str,
) -> None:
    await _seed(owner_database_url)
    async with connection() as conn:
        user_id = int(await conn.fetchval("SELECT id FROM app_user WHERE username = 'seed5'"))
    async with transaction() as conn:
        items, more = await page(user_id, first=10, after_id=None, history_filter=HistoryFilter())
        assert len(items) == 10 and more
        await page(user_id, first=10, after_id=items[-1].id, history_filter=HistoryFilter())
        await usage(conn, user_id, await SandboxRates().snapshot())
        seq, indexes = await _scans(conn)
    assert seq == 0
    assert indexes["money_transaction_initiator_idx"] >= 3
    assert indexes["money_transaction_counterparty_idx"] >= 2


async def test_history_pages_in_created_at_order_when_ids_were_drawn_in_another() -> None:
    # Ids are drawn at insert, created_at is the transaction's start: a transaction that
    # began first may draw a later id. The pages follow (created_at, id), each row once.
    alice, bob = await make_user(), await make_user()
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    offsets = [5, 1, 4, 2, 3, 3, 0]  # minutes after start, in id order (one tie)
    async with transaction() as conn:
        ids = [
            int(
                await conn.fetchval(
                    "INSERT INTO money_transaction (type, status, initiator_user_id, "
                    "counterparty_user_id, currency, amount, created_at) "
                    "VALUES ('send', 'failed', $1, $2, 'USD', 100, $3) RETURNING id",
                    alice.id if n % 2 else bob.id,
                    bob.id if n % 2 else alice.id,
                    start + timedelta(minutes=m),
                )
            )
            for n, m in enumerate(offsets)
        ]
    expected = [i for _, i in sorted(zip(offsets, ids, strict=True), reverse=True)]
    seen: list[int] = []
    after: int | None = None
    while True:
        items, more = await page(alice.id, first=2, after_id=after, history_filter=HistoryFilter())
        seen += [i.id for i in items]
        if not more:
            break
        after = items[-1].id
    assert seen == expected


async def test_a_payments_fraud_features_read_the_payers_rows_not_a_hot_payees(
    owner_database_url: str,
) -> None:
    """One payee with a row for each of 30,000 payments: scoring another payment to them
    reads the payer's few rows, not the payee's many (the generic plan used to AND both
    indexes, 6 ms a payment, growing with the payee)."""
    await _seed(owner_database_url)
    conn = await asyncpg.connect(owner_database_url)
    try:
        payee = int(await conn.fetchval("SELECT id FROM app_user WHERE username = 'seed1'"))
        await conn.execute(
            "INSERT INTO money_transaction (type, status, initiator_user_id, "
            "counterparty_user_id, currency, amount, created_at) "
            "SELECT 'send', 'completed', u.lo + g % 2000, $1, 'USD', 100, now() "
            "FROM generate_series(1, 30000) g, (SELECT min(id) AS lo FROM app_user "
            "WHERE username LIKE 'seed%') u",
            payee,
        )
        await conn.execute("ANALYZE money_transaction")
        payer = int(await conn.fetchval("SELECT id FROM app_user WHERE username = 'seed5'"))
    finally:
        await conn.close()
    rules = [Rule("new_recipient", "new_recipient", {"min_usd": 1}, 20, "")]
    attempt = Attempt(payer, payee, Money(500, Currency.USD), None, datetime.now(UTC))
    async with transaction() as conn:
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        for _ in range(3):
            (features,) = await features_of(conn, [attempt], rules)
        seq, indexes = await _scans(conn)
    assert features.paid_before  # seed5 paid seed1 in the seed
    assert seq == 0
    assert indexes["money_transaction_counterparty_idx"] == 0, indexes
