"""History latency and send throughput as the partitioned history grows (issue 17).

    .venv/bin/python bench/partitioned_history.py [--sizes 10000 100000 1000000] \
        [--per-user 50 | --users N] [--months 12] [--rounds 3] [--seconds 5] [--clients 8] \
        [--pages 500] [--keep]

One PostgreSQL (DATABASE_URL, or the embedded one), two databases: the wallet's, and
pgbench's for the baseline. The wallet's history tables are laid out as a year in
service looks: a partition per month for the last `--months` months and this one
(migrations/sql/0049 makes them from the month of the migration on; here the past
months are made by hand in the throwaway database). Then, for each size in turn:

  0. users grow with the history, one per `--per-user` transactions (a year of a user's
     transfers), at least `--min-users` (the bench's own sends spread over them); with
     `--users N` they stay N and each one's history deepens instead;
  1. bulk-load past transfers up to that many transactions with COPY, spread evenly
     over the months, oldest first: per transfer the transaction, its two transitions,
     its journal entry, two postings and the link between them (7 rows; the seed
     connection runs with session_replication_role = replica, as a bulk load does, so
     foreign keys and triggers don't fire per row), then VACUUM (ANALYZE) and a
     CHECKPOINT: the past months as they are after a year in service;
  2. `--rounds` times, each beside a pgbench tpcb-like run just before and after it:
       - the first history page (20 items, as the app asks) for `--pages` random users,
         one after the other, through `wallet.transactions.history.page`: p50 and p99;
       - `send_money` through the service layer from `--clients` clients for
         `--seconds`, random pairs: sends/s, and its ratio to pgbench's tps.
The report gives each size's medians and their ratio to the smallest size's: flat is
within ±15 %.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from transfers import (  # noqa: E402
    Result,
    init_pgbench,
    load,
    pgbench_binary,
    run_pgbench,
    seed_users,
    service_transfers,
    with_database,
)

from wallet.db import engine  # noqa: E402
from wallet.db.migrate import migrate  # noqa: E402
from wallet.db.partitions import ID_MONTH_SHIFT, month_index, month_start  # noqa: E402
from wallet.db.roles import ensure_app_login  # noqa: E402
from wallet.transactions import history  # noqa: E402
from wallet.transactions.history import HistoryFilter  # noqa: E402

MONTHLY = (
    "journal_entry",
    "posting",
    "money_transaction",
    "transaction_transition",
    "outbox_event",
    "audit_log",
)
PAGE = 20


async def lay_out_past_months(conn: asyncpg.Connection, months: int) -> None:
    """A partition per month for the last `months` months: the (empty) legacy partition
    of a fresh database is remade to end where the first of them begins."""
    now = month_index(datetime.now(UTC))
    for table in MONTHLY:
        await conn.execute(f"ALTER TABLE {table} DETACH PARTITION {table}_legacy")
        await conn.execute(f"DROP TABLE {table}_legacy")
        await conn.execute(
            f"CREATE TABLE {table}_legacy PARTITION OF {table} "
            f"FOR VALUES FROM (MINVALUE) TO ({(now - months) << ID_MONTH_SHIFT})"
        )
        for m in range(now - months, now):
            await conn.execute(
                f"CREATE TABLE {table}_p{month_start(m):%Y_%m} PARTITION OF {table} "
                f"FOR VALUES FROM ({m << ID_MONTH_SHIFT}) TO ({(m + 1) << ID_MONTH_SHIFT})"
            )


@dataclass
class Loader:
    """Past transfers between the bench users, written with COPY."""

    users: list[int]
    accounts: dict[int, int]  # user id -> wallet account id
    months: int
    target: int = 1  # the largest size: the months are spread over it
    loaded: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(17))
    balances: dict[int, int] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)

    async def load_to(self, conn: asyncpg.Connection, total: int, chunk: int = 100_000) -> float:
        started = time.perf_counter()
        await conn.execute("SET session_replication_role = replica")
        try:
            while self.loaded < total:
                await self._chunk(conn, min(chunk, total - self.loaded))
        finally:
            await conn.execute("SET session_replication_role = origin")
        # As a year in service looks: past months vacuumed (hint bits set, visibility
        # map made), statistics fresh, and the load's WAL checkpointed before timing.
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
        return time.perf_counter() - started

    async def _next_values(self, conn: asyncpg.Connection, count: int) -> dict[str, int]:
        """The first of `count` sequence values of each table, reserved with setval."""
        firsts = {}
        for table in ("money_transaction", "transaction_transition", "journal_entry", "posting"):
            per = {"transaction_transition": 2, "posting": 2}.get(table, 1)
            seq = f"{table}_id_seq"
            last = await conn.fetchval(f"SELECT last_value FROM {seq}")
            await conn.execute("SELECT setval($1, $2)", seq, last + count * per)
            firsts[table] = last + 1
        return firsts

    async def _chunk(self, conn: asyncpg.Connection, count: int) -> None:
        first = await self._next_values(conn, count)
        now = month_index(datetime.now(UTC))
        transactions, transitions, entries, postings, links = [], [], [], [], []
        for i in range(count):
            # Oldest first across the months, so that ids and times rise together.
            place = (self.loaded + i) / max(1, self.target)
            month = now - self.months + min(self.months - 1, int(place * self.months))
            at = month_start(month) + timedelta(seconds=(place * self.months % 1) * 27 * 86400 + 1)
            base = month << ID_MONTH_SHIFT
            txn = base | (first["money_transaction"] + i)
            entry = base | (first["journal_entry"] + i)
            sender, recipient = self.rng.sample(self.users, 2)
            amount = self.rng.randint(1, 100)
            transactions.append(
                (txn, "send", "completed", sender, recipient, "USD", amount, entry, at, at)
            )
            for k, (before, after) in enumerate(((None, "initiated"), ("initiated", "completed"))):
                transitions.append(
                    (base | (first["transaction_transition"] + 2 * i + k), txn, before, after, at)
                )
            entries.append((entry, "transfer", "", at))
            links.append((entry, txn))
            for k, (user, side) in enumerate(((sender, "D"), (recipient, "C"))):
                account = self.accounts[user]
                change = -amount if side == "D" else amount
                self.balances[account] = self.balances.get(account, 1_000_000) + change
                self.positions[account] = self.positions.get(account, 1_000_000) + 1
                postings.append(
                    (
                        base | (first["posting"] + 2 * i + k),
                        entry,
                        account,
                        "USD",
                        side,
                        amount,
                        self.balances[account],
                        self.positions[account],
                        at,
                        at,
                    )
                )
        await conn.copy_records_to_table(
            "journal_entry", records=entries, columns=["id", "kind", "description", "created_at"]
        )
        await conn.copy_records_to_table(
            "posting",
            records=postings,
            columns=[
                "id",
                "entry_id",
                "account_id",
                "currency",
                "side",
                "amount",
                "balance_after",
                "account_seq",
                "posted_at",
                "created_at",
            ],
        )
        await conn.copy_records_to_table(
            "money_transaction",
            records=transactions,
            columns=[
                "id",
                "type",
                "status",
                "initiator_user_id",
                "counterparty_user_id",
                "currency",
                "amount",
                "entry_id",
                "created_at",
                "updated_at",
            ],
        )
        await conn.copy_records_to_table(
            "transaction_transition",
            records=transitions,
            columns=["id", "transaction_id", "from_status", "to_status", "created_at"],
        )
        await conn.copy_records_to_table(
            "transaction_entry", records=links, columns=["entry_id", "transaction_id"]
        )
        self.loaded += count


async def history_pages(users: list[int], pages: int, warm_up: int = 100) -> Result:
    """`pages` first pages of random users, timed, after `warm_up` untimed ones (each
    pooled connection prepares the query once)."""
    rng = random.Random(5)
    for _ in range(warm_up):
        await history.page(
            rng.choice(users), first=PAGE, after_id=None, history_filter=HistoryFilter()
        )
    latencies = []
    started = time.perf_counter()
    for _ in range(pages):
        user = rng.choice(users)
        began = time.perf_counter()
        items, _ = await history.page(
            user, first=PAGE, after_id=None, history_filter=HistoryFilter()
        )
        latencies.append((time.perf_counter() - began) * 1000)
        assert items, "every bench user has history"
    return Result("history first page", pages, time.perf_counter() - started, latencies)


@dataclass
class Round:
    history_p50: float
    history_p99: float
    sends_per_second: float
    send_p50: float
    send_p99: float
    pgbench_tps: float
    load: str

    @property
    def send_ratio(self) -> float:
        return self.sends_per_second / self.pgbench_tps


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(sizes: dict[int, list[Round]], rows: dict[int, int], people: dict[int, int]) -> None:
    print(
        f"\n{'transactions':>12} {'users':>6} {'rows':>10} {'hist p50':>8} {'hist p99':>8} "
        f"{'sends/s':>8} "
        f"{'x pg':>6} {'send p50':>8} {'send p99':>8}   vs smallest: "
        f"{'p50':>5} {'p99':>5} {'x pg':>5}  load per round"
    )
    first = None
    for size, rounds in sizes.items():
        h50 = median([r.history_p50 for r in rounds])
        h99 = median([r.history_p99 for r in rounds])
        rate = median([r.sends_per_second for r in rounds])
        ratio = median([r.send_ratio for r in rounds])
        s50 = median([r.send_p50 for r in rounds])
        s99 = median([r.send_p99 for r in rounds])
        if first is None:
            first = (h50, h99, ratio)
        print(
            f"{size:12} {people[size]:6} {rows[size]:10} {h50:8.2f} {h99:8.2f} {rate:8.1f} "
            f"{ratio:6.3f} "
            f"{s50:8.1f} {s99:8.1f}   {'':13}{h50 / first[0]:5.2f} {h99 / first[1]:5.2f} "
            f"{ratio / first[2]:5.2f}  " + " | ".join(r.load for r in rounds)
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--users", type=int, default=0, help="a fixed number of users (default: --per-user)"
    )
    parser.add_argument(
        "--per-user",
        type=int,
        default=50,
        help="users grow with the size: one per this many transactions (a year's history)",
    )
    parser.add_argument(
        "--min-users",
        type=int,
        default=2_000,
        help="at least this many (the bench's own sends spread over them)",
    )
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the wallet database")
    args = parser.parse_args()

    base_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    embedded = None
    if not base_url or not redis_url:
        from wallet.db.embedded import start_embedded

        embedded = start_embedded(Path(tempfile.mkdtemp(prefix="wallet-bench-")), "postgres")
        base_url = embedded.database_url
    admin = await asyncpg.connect(with_database(base_url, "postgres"))
    databases = (f"wallet_history_{os.getpid()}", f"wallet_history_pgbench_{os.getpid()}")
    for name in databases:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
    bench_url = with_database(base_url, databases[0])
    pgbench_url = with_database(base_url, databases[1])
    binary = pgbench_binary(embedded is not None)
    try:
        init_pgbench(binary, pgbench_url)
        await engine.connect(bench_url, pool_size=args.clients + 2)
        await migrate()
        seeder = await asyncpg.connect(bench_url)
        await ensure_app_login(seeder)
        await lay_out_past_months(seeder, args.months)
        named: list[tuple[int, str]] = []
        loader = Loader([], {}, args.months, target=max(args.sizes))

        async def more_users(total: int) -> None:
            """Seed users up to `total`, each with a wallet and $10,000."""
            if total > len(named):
                named.extend(await seed_users(total - len(named), start=len(named)))
            loader.users = [user_id for user_id, _ in named]
            loader.accounts = {
                r["owner_id"]: r["id"]
                for r in await seeder.fetch(
                    "SELECT owner_id, id FROM ledger_account WHERE owner_type = 'user' "
                    "AND purpose = 'wallet' AND currency = 'USD'"
                )
            }

        async def pgbench_beside() -> float:
            await engine.disconnect()
            try:
                return run_pgbench(binary, pgbench_url, args.clients, args.seconds).rate
            finally:
                await engine.connect(bench_url, pool_size=args.clients + 2)

        measured: dict[int, list[Round]] = {}
        rows: dict[int, int] = {}
        people: dict[int, int] = {}
        for size in sorted(args.sizes):
            wanted = args.users or max(args.min_users, size // args.per_user)
            print(f"{wanted} users ...", flush=True)
            await more_users(wanted)
            users = loader.users
            people[size] = len(users)
            took = await loader.load_to(seeder, size)
            rows[size] = await seeder.fetchval(
                "SELECT (SELECT count(*) FROM money_transaction) + (SELECT count(*) FROM posting)"
                " + (SELECT count(*) FROM journal_entry)"
                " + (SELECT count(*) FROM transaction_transition)"
            )
            print(f"{size} transactions loaded ({took:.1f} s of COPY and ANALYZE)", flush=True)
            for round_ in range(args.rounds):
                before = await pgbench_beside()
                pages = await history_pages(users, args.pages)
                sends = await service_transfers(named, args.clients, args.seconds, hot=False)
                after = await pgbench_beside()
                done = Round(
                    history_p50=pages.quantile(0.5),
                    history_p99=pages.quantile(0.99),
                    sends_per_second=sends.rate,
                    send_p50=sends.quantile(0.5),
                    send_p99=sends.quantile(0.99),
                    pgbench_tps=(before + after) / 2,
                    load=load(),
                )
                measured.setdefault(size, []).append(done)
                print(
                    f"  round {round_ + 1}: history p50 {done.history_p50:.2f} ms "
                    f"p99 {done.history_p99:.2f} ms; {done.sends_per_second:.0f} sends/s "
                    f"(x{done.send_ratio:.3f} pgbench {before:.0f}/{after:.0f})",
                    flush=True,
                )
        report(measured, rows, people)
        await seeder.close()
    finally:
        await engine.disconnect()
        for name in databases[1:] if args.keep else databases:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if args.keep:
            print(f"kept: {bench_url}")
        await admin.close()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
