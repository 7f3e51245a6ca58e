"""Backup and point-in-time-recovery drill with pgBackRest (issue 17).

    .venv/bin/python bench/restore_drill.py [--users 1000] [--clients 16] [--before 20] \
        [--after 10] [--archive-timeout 10] [--keep]

Needs `pgbackrest` and PostgreSQL 15's server binaries (/usr/lib/postgresql/15/bin, or
--pg-bin). It touches no other server: everything runs in a throwaway folder, on free
loopback ports, as the `postgres` OS user when started as root. The steps:

  1. a primary cluster (initdb) archiving its WAL to a pgBackRest repository in that
     folder (archive-async, zstd, as deploy/pgbackrest/pgbackrest.conf); stanza-create
     and check; the app's schema migrated into its `wallet` database; users seeded;
  2. a full backup; then the bank workload: concurrent `send_money` through the domain
     service, as the app's role, keeping every acknowledged transfer's id; an
     incremental backup is taken while it runs;
  3. the target T: the writers pause, T is read from the primary's clock, the trial
     balance (per account: debits and credits from the postings, and the stored
     totals) is recorded, with the transfers acknowledged so far; one second later the
     writers go on;
  4. the primary keeps writing for a while, while the lag between a commit and the
     archiving of its WAL segment is sampled; when the writers stop, the last segment
     reaches the repository through `archive_timeout` (no pg_switch_wal); then the
     primary is stopped (immediate: it is lost);
  5. `pgbackrest restore --type=time --target=T --target-action=promote` into a new data
     directory, started on another port. The RTO clock runs from here to a promoted,
     writable database, and on to the end of the checks, which are the drill's verdict:
       - the trial balance equals the one recorded at T;
       - every transfer acknowledged before T is there, completed;
       - no transfer made after T is there;
       - `wallet.checks.check_all` finds nothing;
       - the cluster was promoted, on a new timeline, with archiving off.

RPO: a time target covered by archived WAL loses nothing (the drill counts what is
missing); if the primary itself is lost, what could be lost is the WAL not yet archived,
bounded by the archive lag the drill measures (at most `archive_timeout` plus a push).
`tests/integration/test_restore_drill.py` runs a small drill in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "backend") not in sys.path:
    sys.path.insert(0, str(REPO / "backend"))

from wallet.checks import check_all  # noqa: E402
from wallet.db import engine  # noqa: E402
from wallet.db.migrate import migrate  # noqa: E402
from wallet.db.roles import APP_ROLE, ensure_app_login, url_as  # noqa: E402
from wallet.errors import Refusal  # noqa: E402
from wallet.fraud.engine import forget_rules  # noqa: E402
from wallet.fraud.service import PaymentBlocked  # noqa: E402
from wallet.ledger import service as ledger  # noqa: E402
from wallet.money import Currency, Money  # noqa: E402
from wallet.transfers.service import SendMoney, send_money  # noqa: E402
from wallet.users.passwords import hash_password  # noqa: E402
from wallet.wallets.service import grant_promotional_credit, open_wallet  # noqa: E402

STANZA = "wallet"
DATABASE = "wallet"
SUPERUSER = "postgres"  # the clusters' superuser (initdb -U), whoever runs them
SERVER_OS_USER = "postgres"  # PostgreSQL refuses to run as root: root runs it as this user
DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")


def server_binaries() -> Path:
    """PostgreSQL 15's server binaries (Debian's), else the pgserver wheel's (dev boxes)."""
    if (DEFAULT_PG_BIN / "initdb").exists():
        return DEFAULT_PG_BIN
    with contextlib.suppress(ImportError):
        import pgserver

        return Path(pgserver.__file__).parent / "pginstall" / "bin"
    return DEFAULT_PG_BIN


class DrillError(RuntimeError):
    pass


def missing_tools(pg_bin: Path | None = None) -> list[str]:
    """What this machine lacks to run the drill (empty: it can)."""
    pg_bin = pg_bin or server_binaries()
    missing = []
    if shutil.which("pgbackrest") is None:
        missing.append("pgbackrest (apt-get install pgbackrest)")
    missing += [f"{pg_bin / name}" for name in ("initdb", "pg_ctl") if not (pg_bin / name).exists()]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            missing.append(f"an OS user {SERVER_OS_USER!r} (PostgreSQL does not run as root)")
    return missing


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_OS_USER, "--", *command]
    return command


def run(command: list[str], cwd: Path, timeout: float = 900) -> str:
    """Run `command` as the server's OS user; its stdout, or DrillError with its output."""
    done = subprocess.run(
        _as_server_user(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise DrillError(
            f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the folder, the clusters, pgBackRest --------------------------------------------------


@dataclass(frozen=True)
class Workdir:
    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "pgbackrest.conf"

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    def __truediv__(self, name: str) -> Path:
        return self.root / name


def make_workdir(parent: Path | None = None) -> Workdir:
    """A fresh folder for the drill, owned by the server's OS user."""
    root = Path(tempfile.mkdtemp(prefix="wallet-drill-", dir=parent))
    for sub in ("repo", "spool", "log", "lock", "sockets"):
        (root / sub).mkdir()
    if os.geteuid() == 0:
        for path in (root, *root.iterdir()):
            shutil.chown(path, SERVER_OS_USER, SERVER_OS_USER)
    return Workdir(root)


def remove_workdir(work: Workdir) -> None:
    shutil.rmtree(work.root, ignore_errors=True)


@dataclass
class Cluster:
    data: Path
    port: int
    sockets: Path
    pg_bin: Path = field(default_factory=server_binaries)

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.data.name}.log"

    def url(self, user: str = SUPERUSER, database: str = DATABASE) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 600) -> None:
        run(
            [
                str(self.pg_bin / "pg_ctl"),
                *("-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout))),
                *("-o", f"-p {self.port} -k {self.sockets}"),
                "start",
            ],
            self.data.parent,
            timeout=timeout + 30,
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            run(
                [str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                self.data.parent,
            )


def pgbackrest_conf(work: Workdir, primary: Cluster) -> str:
    """The drill's pgBackRest configuration: deploy/pgbackrest/pgbackrest.conf's choices,
    with every path in the drill's folder (and its own lock path: drills may run side by
    side, and their stanzas share a name)."""
    return f"""\
[global]
repo1-path={work.repo}
repo1-retention-full=2
compress-type=zst
compress-level=3
process-max=2
start-fast=y
archive-async=y
spool-path={work / "spool"}
lock-path={work / "lock"}
log-path={work / "log"}
log-level-console=warn
log-level-file=info

[{STANZA}]
pg1-path={primary.data}
pg1-port={primary.port}
pg1-socket-path={primary.sockets}
pg1-user={SUPERUSER}
"""


def pgbackrest(work: Workdir, *args: str, timeout: float = 900) -> str:
    return run(
        ["pgbackrest", f"--config={work.conf}", f"--stanza={STANZA}", *args],
        work.root,
        timeout=timeout,
    )


def init_primary(work: Workdir, archive_timeout: int, pg_bin: Path) -> Cluster:
    """initdb a primary that archives to the drill's repository, start it, and create
    (and check) the stanza."""
    primary = Cluster(work / "primary", free_port(), work / "sockets", pg_bin)
    run(
        [
            str(pg_bin / "initdb"),
            *("-D", str(primary.data), "-U", SUPERUSER, "--auth=trust"),
            *("--encoding=UTF8", "--locale=C.UTF-8", "--data-checksums"),
        ],
        work.root,
    )
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(primary.port),
        "unix_socket_directories": f"'{primary.sockets}'",
        "max_connections": "60",
        "shared_buffers": "64MB",
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"'pgbackrest --config={work.conf} --stanza={STANZA} archive-push %p'",
        "archive_timeout": f"{archive_timeout}s",
        "max_wal_size": "1GB",
    }
    conf = primary.data / "postgresql.conf"
    # (Appending keeps the file's owner, the server's user, when root writes it.)
    with conf.open("a") as f:
        f.write("\n# restore drill (bench/restore_drill.py)\n")
        f.writelines(f"{name} = {value}\n" for name, value in settings.items())
    work.conf.write_text(pgbackrest_conf(work, primary))
    if os.geteuid() == 0:
        shutil.chown(work.conf, SERVER_OS_USER, SERVER_OS_USER)
    primary.start()
    pgbackrest(work, "stanza-create")
    pgbackrest(work, "check")
    return primary


def backup(work: Workdir, kind: str) -> float:
    """A pgBackRest backup (`full`, `diff` or `incr`); its wall time in seconds."""
    started = time.perf_counter()
    pgbackrest(work, f"--type={kind}", "backup")
    return time.perf_counter() - started


def repository_info(work: Workdir) -> dict[str, object]:
    (info,) = json.loads(pgbackrest(work, "--output=json", "info"))
    return dict(info)


def pg_time(moment: datetime) -> str:
    """A timestamp as recovery_target_time takes it (and pgBackRest parses it), in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def restore(work: Workdir, target: datetime, pg_bin: Path, name: str = "restored") -> Cluster:
    """Restore the stanza to `target` into a new data directory (pg1-path overridden);
    the cluster is returned unstarted. Archiving is off in it: a drill's copy must not
    push WAL into the production repository (a real recovery keeps `preserve`)."""
    restored = Cluster(work / name, free_port(), work / "sockets", pg_bin)
    pgbackrest(
        work,
        f"--pg1-path={restored.data}",
        "--type=time",
        f"--target={pg_time(target)}",
        "--target-action=promote",
        "--archive-mode=off",
        "restore",
    )
    return restored


# --- the app: schema, users, the workload -------------------------------------------------


async def prepare_database(primary: Cluster) -> None:
    """The `wallet` database, migrated by its owner, and the app's login role."""
    admin = await asyncpg.connect(primary.url(database="postgres"))
    try:
        await ensure_app_login(admin)
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    await engine.connect(primary.url(), pool_size=2)
    try:
        await migrate()
    finally:
        await engine.disconnect()


async def seed_users(primary: Cluster, count: int, balance_minor: int) -> list[tuple[int, str]]:
    """`count` premium users, each with `balance_minor` US cents; (id, username) by id."""
    password_hash = hash_password("drill-password-not-secret")
    users: list[tuple[int, str]] = []
    await engine.connect(primary.url(), pool_size=2)
    try:
        async with engine.transaction() as conn:
            for n in range(count):
                username = f"drill_{n}"
                user_id = int(
                    await conn.fetchval(
                        "INSERT INTO app_user (email, phone, username, password_hash,"
                        " verification_level) VALUES ($1, $2, $3, $4, 'premium') RETURNING id",
                        f"{username}@example.com",
                        f"+1415{n:07d}",
                        username,
                        password_hash,
                    )
                )
                await open_wallet(conn, user_id)
                await grant_promotional_credit(conn, user_id, Money(balance_minor, Currency.USD))
                users.append((user_id, username))
        # The promotional-funding account is hot: the worker folds its queued postings.
        async with engine.transaction() as conn:
            await ledger.roll_up_hot_accounts(conn)
    finally:
        await engine.disconnect()
    return users


@dataclass
class Workload:
    """The bank workload: `clients` concurrent senders between random pairs of `users`
    through `send_money` (the domain service, batched as in the API), and what the
    worker does meanwhile: fold hot accounts' queued postings every `roll_up_every`
    seconds. It can pause (nothing in flight, nothing starting) so that a target time
    falls between commits."""

    users: list[tuple[int, str]]
    clients: int
    seed: int = 17
    roll_up_every: float = 1.0
    phase: str = "before"
    acked: dict[str, list[int]] = field(default_factory=lambda: {"before": [], "after": []})
    refused: int = 0
    _open: asyncio.Event = field(default_factory=asyncio.Event)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _in_flight: int = 0
    _stopping: bool = False
    _task: asyncio.Task[list[None]] | None = None

    def start(self) -> None:
        self._open.set()
        self._task = asyncio.ensure_future(
            asyncio.gather(self._roll_up(), *(self._client(n) for n in range(self.clients)))
        )

    async def _may_start(self) -> bool:
        """Wait until writes may start; False when stopping. True counts one in flight
        (the caller calls `_landed` when it is done)."""
        while not self._stopping:
            await self._open.wait()
            # Paused again while this task was waking up: wait again. (No await between
            # this check and the count: `pause` cannot slip in.)
            if self._open.is_set() and not self._stopping:
                self._in_flight += 1
                self._idle.clear()
                return True
        return False

    def _landed(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def _roll_up(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.roll_up_every)
            if not await self._may_start():
                return
            try:
                async with engine.transaction() as conn:
                    await ledger.roll_up_hot_accounts(conn)
            finally:
                self._landed()

    async def _client(self, n: int) -> None:
        rng = random.Random(self.seed * 1000 + n)
        while await self._may_start():
            phase = self.phase
            try:
                first, second = rng.sample(range(len(self.users)), 2)
                receipt = await send_money(
                    SendMoney(
                        self.users[first][0],
                        self.users[second][1],
                        Money(rng.randint(1, 100), Currency.USD),
                        "drill",
                        uuid.uuid4().hex,
                    )
                )
                self.acked[phase].append(receipt.transaction_id)
            except (Refusal, PaymentBlocked):
                self.refused += 1
            finally:
                self._landed()

    async def pause(self) -> None:
        """Return once no send is in flight and none will start until `resume`."""
        self._open.clear()
        if self._in_flight:
            await self._idle.wait()

    def resume(self, phase: str) -> None:
        self.phase = phase
        self._open.set()

    async def stop(self) -> None:
        self._stopping = True
        self._open.set()
        if self._task is not None:
            await self._task


# --- what is compared ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalance:
    """Per (account, currency): the postings' debits and credits; per account: the stored
    totals (posted and pending, debits and credits); per currency: the postings' sums."""

    postings: dict[tuple[int, str], tuple[int, int]]
    totals: dict[int, tuple[int, int, int, int]]
    currencies: dict[str, tuple[int, int]]


async def trial_balance(conn: asyncpg.Connection) -> TrialBalance:
    postings = {
        (int(r["account_id"]), r["currency"].strip()): (int(r["debits"]), int(r["credits"]))
        for r in await conn.fetch(
            "SELECT account_id, currency,"
            " coalesce(sum(amount) FILTER (WHERE side = 'D'), 0) AS debits,"
            " coalesce(sum(amount) FILTER (WHERE side = 'C'), 0) AS credits"
            " FROM posting GROUP BY account_id, currency"
        )
    }
    totals = {
        int(r["id"]): (
            int(r["posted_debits"]),
            int(r["posted_credits"]),
            int(r["pending_debits"]),
            int(r["pending_credits"]),
        )
        for r in await conn.fetch(
            "SELECT id, posted_debits, posted_credits, pending_debits, pending_credits"
            " FROM ledger_account"
        )
    }
    currencies: dict[str, tuple[int, int]] = {}
    for (_, currency), (debits, credits) in postings.items():
        d, c = currencies.get(currency, (0, 0))
        currencies[currency] = (d + debits, c + credits)
    return TrialBalance(postings, totals, currencies)


@dataclass(frozen=True)
class Target:
    time: datetime
    balance: TrialBalance
    acked: frozenset[int]  # transfers acknowledged before `time`


async def note_target(primary: Cluster, workload: Workload, gap: float = 1.0) -> Target:
    """Pause the writers, read T from the primary's clock, record the trial balance and
    the transfers acknowledged so far, wait `gap` seconds (T lies strictly between the
    last commit before it and the first after), and let the writers go on."""
    await workload.pause()
    conn = await asyncpg.connect(primary.url())
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            moment: datetime = await conn.fetchval("SELECT clock_timestamp()")
            balance = await trial_balance(conn)
    finally:
        await conn.close()
    acked = frozenset(workload.acked["before"])
    await asyncio.sleep(gap)
    workload.resume("after")
    return Target(moment, balance, acked)


class ArchiveWatch:
    """Samples how long a commit waits for its WAL segment to reach the repository: now
    and then, the segment holding the newest WAL (so every commit acknowledged so far)
    is noted, and the time at which `pg_stat_archiver` reports it archived."""

    def __init__(self, primary: Cluster) -> None:
        self.primary = primary
        self.samples: list[tuple[float, str]] = []  # (when, segment)
        self.archived: list[tuple[float, str]] = []  # (when first seen, last archived)
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> ArchiveWatch:
        self._conn = await asyncpg.connect(self.primary.url())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def sample(self, commit: bool = False) -> str:
        """Note the segment the newest WAL is in; with `commit`, commit a transaction of
        its own first (a commit record: the segment then holds something to archive,
        even right after a switch)."""
        assert self._conn is not None
        if commit:
            await self._conn.execute("SELECT pg_current_xact_id()")
        segment = str(
            await self._conn.fetchval("SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
        )
        self.samples.append((time.monotonic(), segment))
        return segment

    async def poll(self) -> None:
        assert self._conn is not None
        last = await self._conn.fetchval("SELECT last_archived_wal FROM pg_stat_archiver")
        if last and (not self.archived or self.archived[-1][1] != last):
            self.archived.append((time.monotonic(), str(last)[:24]))

    async def watch(self, stop: asyncio.Event, every: float = 1.0) -> None:
        """Sample every `every` seconds and poll the archiver every 50 ms until `stop`."""
        next_sample = time.monotonic()
        while not stop.is_set():
            if time.monotonic() >= next_sample:
                await self.sample()
                next_sample += every
            await self.poll()
            await asyncio.sleep(0.05)

    async def wait_archived(self, segment: str, within: float) -> None:
        deadline = time.monotonic() + within
        while not self.archived or self.archived[-1][1] < segment:
            if time.monotonic() > deadline:
                raise DrillError(f"WAL segment {segment} not archived within {within:.0f} s")
            await self.poll()
            await asyncio.sleep(0.05)

    def lags(self) -> list[float]:
        """Per sample: seconds until its segment was archived (unarchived ones left out)."""
        found = []
        for when, segment in self.samples:
            later = [seen for seen, wal in self.archived if wal >= segment and seen >= when]
            if later:
                found.append(min(later) - when)
        return found


@dataclass
class Verdict:
    balance_equal: bool
    missing: list[int]  # acknowledged before T, absent (or not completed) after restore
    after_target: list[int]  # made after T, present after restore
    breaches: list[str]  # check_all's findings
    promoted: bool
    timeline: int
    archive_mode: str

    @property
    def passed(self) -> bool:
        return (
            self.balance_equal
            and not self.missing
            and not self.after_target
            and not self.breaches
            and self.promoted
            and self.timeline > 1
            and self.archive_mode == "off"
        )


async def wait_promoted(cluster: Cluster, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(cluster.url(database="postgres"))
            try:
                if not await conn.fetchval("SELECT pg_is_in_recovery()"):
                    return
            finally:
                await conn.close()
        if time.monotonic() > deadline:
            raise DrillError(f"the restored cluster was not promoted within {within:.0f} s")
        await asyncio.sleep(0.1)


async def verify(restored: Cluster, target: Target, after: list[int]) -> Verdict:
    conn = await asyncpg.connect(restored.url())
    try:
        balance = await trial_balance(conn)
        wanted = sorted(target.acked | set(after))
        present = {
            int(r["id"]): r["status"]
            for r in await conn.fetch(
                "SELECT id, status FROM money_transaction WHERE id = ANY($1::bigint[])", wanted
            )
        }
        breaches = [f"{b.check}: {b.detail}" for b in await check_all(conn)]
        in_recovery = await conn.fetchval("SELECT pg_is_in_recovery()")
        timeline = await conn.fetchval("SELECT timeline_id FROM pg_control_checkpoint()")
        archive_mode = await conn.fetchval("SHOW archive_mode")
    finally:
        await conn.close()
    return Verdict(
        balance_equal=balance == target.balance,
        missing=sorted(i for i in target.acked if present.get(i) != "completed"),
        after_target=sorted(i for i in after if i in present),
        breaches=breaches,
        promoted=not in_recovery,
        timeline=int(timeline),
        archive_mode=str(archive_mode),
    )


# --- the drill ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillOptions:
    users: int = 1000
    clients: int = 16
    before: float = 20.0  # seconds of writes before T (the incremental backup midway)
    after: float = 10.0  # seconds of writes after T
    archive_timeout: int = 10
    balance_minor: int = 1_000_000
    pg_bin: Path = field(default_factory=server_binaries)
    parent: Path | None = None  # where the drill's folder goes (default: the temp dir)
    keep: bool = False  # leave the folder (clusters stopped) for a look


@dataclass
class DrillReport:
    options: DrillOptions
    target: Target
    verdict: Verdict
    sends_before: int
    sends_after: int
    refused: int
    write_seconds: float
    timings: dict[str, float]  # seconds: backups, restore, start, promote, verify
    archive_lags: list[float]  # seconds, sampled while writing after T
    tail_lag: float  # seconds from the last commit to its segment in the repository
    sizes: dict[str, int]  # bytes
    backups: list[dict[str, object]]  # label, type, size, delta, repo size
    restored_from: str  # the backup the restore started from
    wal_segments: int  # WAL segments archived by the primary
    workdir: Path | None = None

    @property
    def rto(self) -> float:
        """Seconds from the restore's start to a promoted, writable database."""
        return sum(self.timings[k] for k in ("restore", "start", "promote"))

    @property
    def rto_checked(self) -> float:
        """The same, and the checks done (what reopening after them waits for)."""
        return self.rto + self.timings["verify"]

    @property
    def rpo_lost(self) -> int:
        return len(self.verdict.missing)

    def lines(self) -> list[str]:
        mib = 1024 * 1024
        lags = self.archive_lags or [float("nan")]
        out = [
            f"workload: {self.options.users} users, {self.options.clients} senders; "
            f"{self.sends_before} transfers before T, {self.sends_after} after "
            f"({(self.sends_before + self.sends_after) / self.write_seconds:.0f}/s), "
            f"{self.refused} refused",
            f"T = {pg_time(self.target.time)}",
            "sizes: database {:.1f} MiB, repository {:.1f} MiB, WAL archived {} segments".format(
                self.sizes["database"] / mib, self.sizes["repository"] / mib, self.wal_segments
            ),
            f"setup (initdb, stanza-create, check, schema, users): {self.timings['setup']:.1f} s",
        ]
        for b in self.backups:
            out.append(
                "backup {label} ({type}): {seconds:.1f} s, size {size:.1f} MiB,"
                " changed {delta:.1f} MiB, stored {stored:.1f} MiB".format(
                    label=b["label"],
                    type=b["type"],
                    seconds=b["seconds"],
                    size=float(b["size"]) / mib,  # type: ignore[arg-type]
                    delta=float(b["delta"]) / mib,  # type: ignore[arg-type]
                    stored=float(b["stored"]) / mib,  # type: ignore[arg-type]
                )
            )
        v = self.verdict
        out += [
            f"restored from: {self.restored_from}",
            f"RPO (time target T): {self.rpo_lost} of {len(self.target.acked)} acknowledged "
            f"transfers lost; {len(v.after_target)} of {self.sends_after} later ones present",
            f"RPO (primary lost): WAL archive lag p50 {statistics.median(lags):.1f} s, "
            f"max {max(lags):.1f} s over {len(self.archive_lags)} samples while writing; "
            f"last commit to repository {self.tail_lag:.1f} s "
            f"(archive_timeout {self.options.archive_timeout} s)",
            "RTO: writable after {:.1f} s (restore {restore:.1f} + start {start:.1f} + "
            "recovery to T and promotion {promote:.1f}), checked after {:.1f} s (checks "
            "{verify:.1f})".format(self.rto, self.rto_checked, **self.timings),
            f"checks: trial balance equal: {v.balance_equal}; acknowledged before T present: "
            f"{not v.missing}; none after T: {not v.after_target}; check_all: "
            f"{v.breaches or 'clean'}; promoted: {v.promoted} (timeline {v.timeline}, "
            f"archive_mode {v.archive_mode})",
            "PASS" if v.passed else "FAIL",
        ]
        return out


async def _write_for(seconds: float, watch: ArchiveWatch | None = None) -> None:
    if watch is None:
        await asyncio.sleep(seconds)
        return
    stop = asyncio.Event()
    task = asyncio.create_task(watch.watch(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task


async def run_drill(options: DrillOptions) -> DrillReport:
    """The whole drill (module docstring); the clusters are stopped and, unless
    `options.keep`, the folder removed, whatever happens."""
    missing = missing_tools(options.pg_bin)
    if missing:
        raise DrillError("cannot run the drill, missing: " + ", ".join(missing))
    work = make_workdir(options.parent)
    clusters: list[Cluster] = []
    try:
        return await _drill(options, work, clusters)
    finally:
        await engine.disconnect()
        for cluster in clusters:
            with contextlib.suppress(DrillError, subprocess.TimeoutExpired):
                cluster.stop("immediate")
        if not options.keep:
            remove_workdir(work)


async def _drill(options: DrillOptions, work: Workdir, clusters: list[Cluster]) -> DrillReport:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    primary = init_primary(work, options.archive_timeout, options.pg_bin)
    clusters.append(primary)
    await prepare_database(primary)
    users = await seed_users(primary, options.users, options.balance_minor)
    forget_rules()  # the fraud rules cached are another database's (a test's)
    timings["setup"] = time.perf_counter() - clock
    timings["full backup"] = backup(work, "full")

    # The workload, as the app's role; an incremental backup midway.
    await engine.connect(url_as(primary.url(), APP_ROLE), pool_size=options.clients + 2)
    workload = Workload(users, options.clients)
    started = time.perf_counter()
    workload.start()
    await asyncio.sleep(options.before / 2)
    incremental_started = time.perf_counter()
    incremental = asyncio.create_task(asyncio.to_thread(backup, work, "incr"))
    await asyncio.sleep(options.before / 2)
    timings["incremental backup"] = await incremental
    # pgBackRest restores from the newest backup that stopped before the target, in
    # whole seconds: T comes at least 1.5 s after the incremental's end.
    ended = incremental_started + timings["incremental backup"]
    await asyncio.sleep(max(0.0, ended + 1.5 - time.perf_counter()))
    target = await note_target(primary, workload)

    async with ArchiveWatch(primary) as watch:
        await _write_for(options.after, watch)
        await workload.stop()
        write_seconds = time.perf_counter() - started
        await engine.disconnect()
        # The last commit's segment reaches the repository through archive_timeout.
        last_commit = time.monotonic()
        segment = await watch.sample(commit=True)
        await watch.wait_archived(segment, within=options.archive_timeout * 3 + 60)
        tail_lag = time.monotonic() - last_commit
        lags = watch.lags()[:-1]  # the last sample is the tail's
        conn = await asyncpg.connect(primary.url())
        try:
            database_size = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
            wal_segments = int(await conn.fetchval("SELECT archived_count FROM pg_stat_archiver"))
        finally:
            await conn.close()
    primary.stop("immediate")  # the primary is lost

    info = repository_info(work)
    backups = [
        {
            "label": b["label"],
            "type": b["type"],
            "size": b["info"]["size"],
            "delta": b["info"]["delta"],
            "stored": b["info"]["repository"]["delta"],
            "seconds": timings[f"{'full' if b['type'] == 'full' else 'incremental'} backup"],
        }
        for b in info["backup"]  # type: ignore[attr-defined]
    ]

    # The RTO clock: restore, start, recover to T and promote, check.
    clock = time.perf_counter()
    restored = restore(work, target.time, options.pg_bin)
    clusters.append(restored)
    timings["restore"] = time.perf_counter() - clock
    clock = time.perf_counter()
    restored.start()
    timings["start"] = time.perf_counter() - clock
    clock = time.perf_counter()
    await wait_promoted(restored, within=600)
    timings["promote"] = time.perf_counter() - clock
    clock = time.perf_counter()
    verdict = await verify(restored, target, workload.acked["after"])
    timings["verify"] = time.perf_counter() - clock

    return DrillReport(
        options=options,
        target=target,
        verdict=verdict,
        sends_before=len(workload.acked["before"]),
        sends_after=len(workload.acked["after"]),
        refused=workload.refused,
        write_seconds=write_seconds,
        timings=timings,
        archive_lags=lags,
        tail_lag=tail_lag,
        sizes={"database": database_size, "repository": _tree_size(work.repo)},
        backups=backups,
        restored_from=_restored_from(work),
        wal_segments=wal_segments,
        workdir=work.root if options.keep else None,
    )


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _restored_from(work: Workdir) -> str:
    """The backup set pgBackRest restored, from its restore log."""
    log = work / "log" / f"{STANZA}-restore.log"
    with contextlib.suppress(OSError):
        for line in reversed(log.read_text().splitlines()):
            if "restore backup set" in line:
                return line.rsplit("restore backup set", 1)[1].split(",")[0].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16, help="concurrent senders")
    parser.add_argument("--before", type=float, default=20, help="seconds of writes before T")
    parser.add_argument("--after", type=float, default=10, help="seconds of writes after T")
    parser.add_argument("--archive-timeout", type=int, default=10, help="seconds")
    parser.add_argument("--pg-bin", type=Path, default=server_binaries())
    parser.add_argument("--keep", action="store_true", help="leave the drill's folder")
    args = parser.parse_args()
    options = DrillOptions(
        users=args.users,
        clients=args.clients,
        before=args.before,
        after=args.after,
        archive_timeout=args.archive_timeout,
        pg_bin=args.pg_bin,
        keep=args.keep,
    )
    started = time.perf_counter()
    report = asyncio.run(run_drill(options))
    print(f"machine: {os.cpu_count()} CPUs, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in report.lines():
        print(line)
    print(f"drill wall time: {time.perf_counter() - started:.0f} s")
    if report.workdir is not None:
        print(f"kept: {report.workdir}")
    sys.exit(0 if report.verdict.passed else 1)


if __name__ == "__main__":
    main()
