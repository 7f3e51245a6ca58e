"""Failover drill: Patroni + etcd, the primary killed under a stream of sends (issue 17).

    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/failover_drill.py \
        [--users 200] [--senders 32] [--clients 16] [--before 5] [--after 5] \
        [--cost-seconds 4] [--cost-rounds 2] [--cost-clients 4 16] [--pgbench-seconds 3] \
        [--stall 0.5] [--replication sync|async] [--no-rejoin] [--json out.json]

Runs as root (it starts PostgreSQL as the `postgres` user) or as a user that can run
PostgreSQL. Leaves the machine's own PostgreSQL alone: everything it starts listens on
free loopback ports, with data in a temporary folder removed at the end.

  1. etcd (one member) and two Patroni members (`pg1`, `pg2`) with
     `synchronous_mode: true` and `synchronous_commit = on`: every COMMIT the app is
     told of is on the synchronous standby too;
  2. the app's schema migrated into the cluster (through the multi-host DSN), the app's
     role made, users seeded with $10,000 each, and the real API (uvicorn, production
     settings) started with `DATABASE_URL` the multi-host DSN
     `postgresql://wallet_app@h1,h2/wallet?target_session_attrs=read-write`;
  3. what synchronous replication costs: sends/s through the API (and pgbench
     tpcb-like beside it) with a synchronous standby and without (Patroni's
     `synchronous_mode` switched off through its REST API), in ABBA order;
  4. the drill: clients stream sendMoney over HTTP, recording every acknowledged
     transfer id; the primary's WAL senders are stopped for `--stall` seconds (the
     standby falls behind), then the primary's node is killed (SIGKILL to its Patroni
     and to every PostgreSQL process: a machine lost); Patroni promotes the standby
     (`--replication async`: with synchronous_mode off, to show what is lost); the drill
     measures the time to the promotion and to the first acknowledged send after the
     kill, with the same API process (no restart);
  5. the killed member started again: it rejoins as a replica (pg_rewind), and
     becomes the synchronous standby again;
  6. checks on the new primary: every acknowledged transfer is there (COMPLETED), the
     ledger's invariants hold (`wallet.checks.check_all`), and the users' balances sum
     to what was seeded (P2P sends move money, never make or lose it).

Exits non-zero if a check fails. `--json` writes the figures for a test to read.
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
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "backend"))
sys.path.insert(0, str(BENCH))

from transfers import (  # noqa: E402
    SEND,
    free_port,
    login_tokens,
    seed_users,
    start_server,
    stop_server,
)

from wallet.checks import check_all  # noqa: E402
from wallet.db import engine  # noqa: E402
from wallet.db.migrate import migrate  # noqa: E402
from wallet.db.roles import ensure_app_login  # noqa: E402

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "wallet"
PGBENCH_DATABASE = "pgbench"
SEEDED_MINOR = 1_000_000  # each seeded user's promotional credit, in cents
# Patroni's timing for the drill: the leader key lives `TTL` seconds unless renewed; a
# member runs its HA loop every `LOOP_WAIT`. (Production: deploy/patroni/, ttl 30.)
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 1, 4


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found (apt-get install patroni etcd-server)")
    return found


@dataclass
class Member:
    name: str
    pg_port: int
    rest_port: int
    data_dir: Path
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ")".
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@dataclass
class Cluster:
    """etcd and Patroni members on loopback, data under `root`."""

    root: Path
    members: list[Member] = field(default_factory=list)
    etcd: subprocess.Popen[bytes] | None = None
    etcd_port: int = 0
    scope: str = ""
    user: str | None = None  # the OS user PostgreSQL runs as (None: this one)

    @classmethod
    def create(cls, root: Path, names: list[str]) -> Cluster:
        user = "postgres" if os.geteuid() == 0 else None
        cluster = cls(root=root, etcd_port=free_port(), scope=f"wallet-drill-{os.getpid()}")
        cluster.user = user
        for name in names:
            cluster.members.append(
                Member(
                    name,
                    free_port(),
                    free_port(),
                    root / name,
                    root / f"{name}.yml",
                    root / f"{name}.log",
                )
            )
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        return cluster

    def _popen(self, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                user=self.user,
                cwd=self.root,
                env={**os.environ, "HOME": str(self.root)},
                start_new_session=True,
            )

    # etcd --------------------------------------------------------------------------
    def start_etcd(self) -> None:
        peer = free_port()
        self.etcd = self._popen(
            [
                tool("etcd"),
                "--name=drill",
                f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=drill=http://127.0.0.1:{peer}",
                "--log-level=warn",
            ],
            self.root / "etcd.log",
        )
        wait_for(
            lambda: _http_json(f"http://127.0.0.1:{self.etcd_port}/health").get("health") == "true",
            30,
            "etcd did not start",
            self.root / "etcd.log",
        )

    # Patroni -----------------------------------------------------------------------
    def member_config(self, member: Member) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "namespace": "/wallet-drill/",
            "name": member.name,
            "log": {"level": "INFO"},
            "restapi": {
                "listen": f"127.0.0.1:{member.rest_port}",
                "connect_address": f"127.0.0.1:{member.rest_port}",
            },
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd_port}"]},
            "bootstrap": {
                "dcs": {
                    "ttl": TTL,
                    "loop_wait": LOOP_WAIT,
                    "retry_timeout": RETRY_TIMEOUT,
                    "maximum_lag_on_failover": 1048576,
                    "synchronous_mode": True,
                    # Two members: a primary left alone keeps taking writes (strict mode
                    # would stop them until a standby is back). See deploy/patroni/.
                    "synchronous_mode_strict": False,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "parameters": {
                            "synchronous_commit": "on",
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "wal_log_hints": "on",
                            "max_connections": 100,
                            "max_wal_senders": 5,
                            "max_replication_slots": 5,
                            "wal_keep_size": "256MB",
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, "data-checksums"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{member.pg_port}",
                "connect_address": f"127.0.0.1:{member.pg_port}",
                "data_dir": str(member.data_dir),
                "bin_dir": str(PG_BIN),
                "pgpass": str(self.root / f"pgpass-{member.name}"),
                "authentication": {
                    "superuser": {"username": "postgres", "password": "drill"},
                    "replication": {"username": "replicator", "password": "drill"},
                    "rewind": {"username": "postgres", "password": "drill"},
                },
                # Loopback only, trusted: a drill. Production: deploy/patroni/ (scram).
                "pg_hba": [
                    "local all all trust",
                    "host all all 127.0.0.1/32 trust",
                    "host replication replicator 127.0.0.1/32 trust",
                ],
                "parameters": {
                    "unix_socket_directories": str(self.root),
                    "shared_buffers": "64MB",
                },
            },
            "watchdog": {"mode": "off"},  # no /dev/watchdog here; see deploy/patroni/
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False},
        }

    def start_member(self, member: Member) -> None:
        member.config.write_text(yaml.safe_dump(self.member_config(member)))
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(member.config, entry.pw_uid, entry.pw_gid)
        member.process = self._popen([tool("patroni"), str(member.config)], member.log)

    def role(self, member: Member) -> str | None:
        """'primary', 'replica' or None (down, starting), from the member's REST API."""
        for role in ("primary", "replica"):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{member.rest}/{role}", timeout=1).status_code == 200:
                    return role
        return None

    def leader(self) -> Member | None:
        for member in self.members:
            if member.process is not None and self.role(member) == "primary":
                return member
        return None

    def dsn(self, user: str = "postgres", database: str = DATABASE) -> str:
        """The multi-host DSN the app uses: whichever member takes writes."""
        hosts = ",".join(f"127.0.0.1:{m.pg_port}" for m in self.members)
        return f"postgresql://{user}@{hosts}/{database}?target_session_attrs=read-write"

    def member_dsn(self, member: Member, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{member.pg_port}/{database}"

    def patch_config(self, change: dict[str, Any]) -> None:
        """Change the cluster's dynamic configuration (kept in etcd), as
        `patronictl edit-config` does."""
        member = self.leader() or self.members[0]
        response = httpx.patch(f"{member.rest}/config", json=change, timeout=10)
        response.raise_for_status()

    def walsenders(self, member: Member) -> list[int]:
        postmaster = member.postmaster_pid()
        found = []
        for pid in children_of(postmaster) if postmaster else []:
            with contextlib.suppress(OSError):
                if b"walsender" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
        return found

    def kill_node(self, member: Member) -> list[int]:
        """A machine lost: SIGKILL to its Patroni and to every PostgreSQL process."""
        pids = []
        if member.process is not None:
            pids.append(member.process.pid)
        postmaster = member.postmaster_pid()
        if postmaster is not None:
            pids += [postmaster, *children_of(postmaster)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if member.process is not None:
            member.process.wait()
            member.process = None
        return pids

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    member.process.terminate()
        for member in self.members:
            if member.process is not None:
                try:
                    member.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    member.process.kill()
                    member.process.wait()
                member.process = None
            # Patroni stops its PostgreSQL; one left behind (a killed member's) goes too.
            postmaster = member.postmaster_pid()
            if postmaster is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(postmaster, signal.SIGQUIT)
        if self.etcd is not None:
            self.etcd.terminate()
            self.etcd.wait(timeout=30)
            self.etcd = None


def _http_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=1)
        return dict(response.json())
    except (httpx.HTTPError, ValueError):
        return {}


def wait_for(check: Any, seconds: float, what: str, log: Path | None = None) -> float:
    """Poll `check()` until true; the seconds it took. Raises SystemExit on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"{what} within {seconds} s{tail}")


async def sql_value(dsn: str, query: str) -> Any:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def wait_sync_standby(cluster: Cluster, want: bool, seconds: float = 60) -> None:
    """Until the leader has a synchronous standby (want) or none."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        leader = cluster.leader()
        if leader is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                names = await sql_value(
                    cluster.member_dsn(leader, "postgres"), "SHOW synchronous_standby_names"
                )
                sync = await sql_value(
                    cluster.member_dsn(leader, "postgres"),
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                )
                if (bool(names) and sync == 1) == want:
                    return
        await asyncio.sleep(0.2)
    raise SystemExit(f"the leader's synchronous standby did not become {want}")


# The send stream ------------------------------------------------------------------


@dataclass
class Attempt:
    started: float
    finished: float
    transfer_id: int | None  # set when acknowledged
    key: str = ""  # the idempotency key, also the transfer's note
    amount_minor: int = 0
    error: str = ""


@dataclass
class Stream:
    attempts: list[Attempt] = field(default_factory=list)

    def acknowledged(self) -> list[Attempt]:
        return [a for a in self.attempts if a.transfer_id is not None]


async def stream_sends(
    url: str,
    senders: list[tuple[str, str]],
    recipients: list[str],
    clients: int,
    stop: asyncio.Event,
    stream: Stream,
) -> None:
    """`clients` concurrent clients sending $0.01-$1.00 until `stop`, every attempt
    recorded; after a failure a client pauses 50 ms (users retry; not a busy loop)."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=15, limits=limits) as http:

        async def client(n: int) -> None:
            rng = random.Random(n)
            while not stop.is_set():
                token, name = rng.choice(senders)
                recipient = rng.choice(recipients)
                if recipient == name:
                    continue
                # The key is the note too: a transfer found after the failover is this
                # one, not another that took its id (a promoted standby that missed
                # commits hands their ids out again).
                key, cents = uuid.uuid4().hex, rng.randint(1, 100)
                variables = {
                    "input": {
                        "recipient": recipient,
                        "amount": f"{cents / 100:.2f}",
                        "currency": "USD",
                        "note": key,
                        "idempotencyKey": key,
                    }
                }
                started = time.monotonic()
                transfer_id, error = None, ""
                try:
                    response = await http.post(
                        "/graphql",
                        json={"query": SEND, "variables": variables},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    body = response.json()
                    result = (body.get("data") or {}).get("sendMoney") or {}
                    if result.get("__typename") == "SendMoneyPayload":
                        transfer_id = int(result["transfer"]["id"])
                    elif result:
                        error = str(result.get("__typename"))  # a typed refusal
                    else:
                        error = "; ".join(e.get("message", "") for e in body.get("errors") or [])
                        error = error or f"HTTP {response.status_code}"
                except (httpx.HTTPError, ValueError) as exc:
                    error = type(exc).__name__
                stream.attempts.append(
                    Attempt(started, time.monotonic(), transfer_id, key, cents, error)
                )
                if transfer_id is None:
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(client(n) for n in range(clients)))


async def sends_per_second(
    url: str, senders: list[tuple[str, str]], recipients: list[str], clients: int, seconds: float
) -> tuple[float, float]:
    """Acknowledged sends/s over `seconds` (after a 1 s warm-up), and their p50 in ms."""
    stop, stream = asyncio.Event(), Stream()
    task = asyncio.create_task(stream_sends(url, senders, recipients, clients, stop, stream))
    await asyncio.sleep(1)
    start = time.monotonic()
    await asyncio.sleep(seconds)
    end = time.monotonic()
    stop.set()
    await task
    acked = [a for a in stream.acknowledged() if start <= a.finished <= end]
    p50 = statistics.median((a.finished - a.started) * 1000 for a in acked) if acked else 0.0
    return len(acked) / (end - start), p50


def pgbench_init(dsn: str) -> None:
    subprocess.run(
        [str(PG_BIN / "pgbench"), "-i", "-q", "-s", "4", dsn], check=True, capture_output=True
    )


def pgbench_tps(dsn: str, clients: int, seconds: int) -> float:
    """pgbench tpcb-like on the cluster (blocks: nothing else runs meanwhile)."""
    options = ["-b", "tpcb-like", "-c", str(clients), "-j", "2", "-T", str(seconds)]
    out = subprocess.run(
        [str(PG_BIN / "pgbench"), *options, dsn],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise SystemExit(f"unexpected pgbench output:\n{out}")


async def user_balances(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT coalesce(sum(posted_credits - posted_debits), 0) FROM ledger_account "
            "WHERE owner_type = 'user' AND purpose = 'wallet'"
        )
    )


async def sync_cost(
    args: argparse.Namespace,
    cluster: Cluster,
    url: str,
    senders: list[tuple[str, str]],
    recipients: list[str],
) -> dict[str, Any]:
    """Sends/s through the API and pgbench tpcb-like tps, with a synchronous standby and
    without (Patroni's synchronous_mode switched), at each of `--cost-clients`: the
    modes in ABBA order, so that drift on a shared machine cancels; medians."""
    runs: dict[str, dict[str, list[float]]] = {}
    order = [
        mode
        for n in range(args.cost_rounds)
        for mode in (("sync", "async") if n % 2 == 0 else ("async", "sync"))
    ]
    current = "sync"
    for mode in order:
        if mode != current:
            cluster.patch_config({"synchronous_mode": mode == "sync"})
            await wait_sync_standby(cluster, mode == "sync")
            current = mode
        for clients in args.cost_clients:
            rate, p50 = await sends_per_second(url, senders, recipients, clients, args.cost_seconds)
            runs.setdefault(f"api c={clients}", {"sync": [], "async": []})[mode].append(rate)
            line = f"  {mode:5} c={clients:<3} API sends {rate:7.1f}/s p50 {p50:6.1f} ms"
            if args.pgbench_seconds:
                tps = pgbench_tps(
                    cluster.dsn(database=PGBENCH_DATABASE), clients, args.pgbench_seconds
                )
                runs.setdefault(f"pgbench c={clients}", {"sync": [], "async": []})[mode].append(tps)
                line += f"   pgbench tpcb-like {tps:7.1f} tps"
            print(line, flush=True)
    if current != "sync":
        cluster.patch_config({"synchronous_mode": True})
        await wait_sync_standby(cluster, True)
    summary = {
        name: {
            "sync": round(statistics.median(modes["sync"]), 1),
            "async": round(statistics.median(modes["async"]), 1),
            "cost_pct": round(
                100 * (1 - statistics.median(modes["sync"]) / statistics.median(modes["async"])),
                1,
            ),
            "runs": modes,
        }
        for name, modes in runs.items()
    }
    return {"sync_cost": summary}


# The drill ------------------------------------------------------------------------


async def drill(args: argparse.Namespace, cluster: Cluster, redis_url: str) -> dict[str, Any]:
    figures: dict[str, Any] = {"cores": os.cpu_count(), "ttl": TTL, "loop_wait": LOOP_WAIT}
    t0 = time.monotonic()
    cluster.start_etcd()
    first, second = cluster.members
    cluster.start_member(first)
    wait_for(lambda: cluster.role(first) == "primary", 90, "pg1 did not bootstrap", first.log)
    cluster.start_member(second)
    wait_for(lambda: cluster.role(second) == "replica", 90, "pg2 did not join", second.log)
    await wait_sync_standby(cluster, True)
    figures["cluster_up_s"] = round(time.monotonic() - t0, 1)
    print(f"cluster up in {figures['cluster_up_s']} s: pg1 primary, pg2 sync standby", flush=True)

    admin = await asyncpg.connect(cluster.dsn(database="postgres"))
    for name in (DATABASE, PGBENCH_DATABASE):
        await admin.execute(f"CREATE DATABASE {name}")
    await ensure_app_login(admin)
    await admin.close()
    await engine.connect(cluster.dsn(), pool_size=6)
    await migrate()
    users = await seed_users(args.users)
    await engine.disconnect()
    if args.pgbench_seconds:
        pgbench_init(cluster.dsn(database=PGBENCH_DATABASE))
    print(f"migrated and seeded {args.users} users in {time.monotonic() - t0:.1f} s", flush=True)

    server, url = start_server(
        cluster.dsn(),
        redis_url,
        args.http_workers,
        free_port(),
        {"WALLET_MONEY_MUTATIONS_PER_MINUTE": "1000000", "WALLET_DB_POOL_SIZE": "10"},
    )
    try:
        senders = await login_tokens(url, users, args.senders)
        recipients = [name for _, name in users]
        print(f"API up, {len(senders)} senders logged in ({time.monotonic() - t0:.1f} s)")

        if args.cost_seconds:
            figures.update(await sync_cost(args, cluster, url, senders, recipients))

        owner = await asyncpg.connect(cluster.dsn())
        seeded_total = await user_balances(owner)
        first_drill_id = int(
            await owner.fetchval("SELECT coalesce(max(id), 0) + 1 FROM money_transaction")
        )
        await owner.close()

        # The drill: a stream of sends, the primary's machine lost in the middle of it.
        figures["replication"] = args.replication
        if args.replication == "async":  # to show what synchronous replication buys
            cluster.patch_config({"synchronous_mode": False})
            await wait_sync_standby(cluster, False)
        leader = cluster.leader()
        assert leader is not None
        standby = second if leader is first else first
        stop, stream = asyncio.Event(), Stream()
        sending = asyncio.create_task(
            stream_sends(url, senders, recipients, args.clients, stop, stream)
        )
        await asyncio.sleep(args.before)
        if args.stall:
            # The standby falls behind just before the loss (a network hiccup): the
            # primary's WAL senders are stopped (SIGSTOP), so nothing more reaches it.
            # With a synchronous standby, commits wait (no acknowledgement); without
            # one, they are acknowledged and exist on the primary alone.
            stalled = cluster.walsenders(leader)
            for pid in stalled:
                os.kill(pid, signal.SIGSTOP)
            at_stall = len(stream.acknowledged())
            await asyncio.sleep(args.stall)
            figures["acknowledged_during_stall"] = len(stream.acknowledged()) - at_stall
            figures["stall_s"] = args.stall
            print(
                f"stopped {len(stalled)} WAL sender(s) for {args.stall} s: "
                f"{figures['acknowledged_during_stall']} sends acknowledged meanwhile",
                flush=True,
            )
        before_kill = len(stream.acknowledged())
        killed_at = time.monotonic()
        pids = cluster.kill_node(leader)
        print(
            f"killed {leader.name} (SIGKILL to Patroni and {len(pids) - 1} PostgreSQL "
            f"processes) after {before_kill} acknowledged sends",
            flush=True,
        )
        promoted = await asyncio.to_thread(
            wait_for, lambda: cluster.role(standby) == "primary", 120, "no promotion", standby.log
        )
        resumed = None
        while resumed is None and time.monotonic() - killed_at < 120:
            after = [a for a in stream.acknowledged() if a.started > killed_at]
            if after:
                resumed = min(a.finished for a in after) - killed_at
            else:
                await asyncio.sleep(0.05)
        if resumed is None:
            stop.set()
            await sending
            raise SystemExit("sends did not resume within 120 s of the kill")
        await asyncio.sleep(args.after)
        stop.set()
        await sending
        failed_during = [
            a for a in stream.attempts if a.transfer_id is None and a.finished > killed_at
        ]
        errors: dict[str, int] = {}
        for a in failed_during:
            errors[a.error] = errors.get(a.error, 0) + 1
        figures.update(
            killed=leader.name,
            promoted=standby.name,
            promotion_s=round(promoted, 2),
            outage_s=round(resumed, 2),
            acknowledged_before_kill=before_kill,
            acknowledged_after_kill=len(
                [a for a in stream.acknowledged() if a.started > killed_at]
            ),
            failed_attempts_after_kill=len(failed_during),
            failure_kinds=errors,
        )
        print(
            f"{standby.name} promoted {promoted:.1f} s after the kill; first acknowledged "
            f"send {resumed:.1f} s after it; {len(failed_during)} attempts failed meanwhile "
            f"{errors}",
            flush=True,
        )

        # The lost machine comes back: a replica again, then the synchronous standby.
        if args.rejoin:
            rejoin_started = time.monotonic()
            cluster.start_member(leader)
            await asyncio.to_thread(
                wait_for,
                lambda: cluster.role(leader) == "replica",
                120,
                f"{leader.name} did not rejoin",
                leader.log,
            )
            await wait_sync_standby(cluster, True)
            figures["rejoin_s"] = round(time.monotonic() - rejoin_started, 1)
            print(f"{leader.name} rejoined as the synchronous standby in {figures['rejoin_s']} s")
    finally:
        stop_server(server)

    # Checks, on the new primary.
    conn = await asyncpg.connect(cluster.dsn())
    try:
        acked = {a.transfer_id: a for a in stream.acknowledged() if a.transfer_id}
        rows = await conn.fetch(
            "SELECT id, status, note, amount FROM money_transaction WHERE id = ANY($1::bigint[])",
            list(acked),
        )
        completed = {
            r["id"]
            for r in rows
            if r["status"] == "completed"
            and (r["note"], r["amount"]) == (acked[r["id"]].key, acked[r["id"]].amount_minor)
        }
        # Sends the drill's stream committed (the cost runs' are before `first_drill_id`).
        sends_in_db = int(
            await conn.fetchval(
                "SELECT count(*) FROM money_transaction WHERE type = 'send' AND id >= $1",
                first_drill_id,
            )
        )
        breaches = await check_all(conn)
        total = await user_balances(conn)
    finally:
        await conn.close()
    figures.update(
        acknowledged_distinct=len(acked),
        acknowledged_found=len(completed),
        acknowledged_lost=len(acked) - len(completed),
        sends_in_database=sends_in_db,
        invariant_breaches=[str(b) for b in breaches],
        seeded_total_minor=seeded_total,
        final_total_minor=total,
        drill_seconds=round(time.monotonic() - t0, 1),
    )
    figures["ok"] = (
        len(completed) == len(acked)
        and not breaches
        and total == seeded_total == SEEDED_MINOR * len(users)
    )
    return figures


def report(figures: dict[str, Any]) -> None:
    print("\n== failover drill ==")
    print(
        f"cores {figures['cores']}; Patroni ttl {figures['ttl']} s, "
        f"loop_wait {figures['loop_wait']} s"
    )
    if "sync_cost" in figures:
        print("what a synchronous standby costs (median of the rounds; ops/s):")
        for name, row in figures["sync_cost"].items():
            print(
                f"  {name:15} synchronous {row['sync']:8.1f}  asynchronous {row['async']:8.1f}"
                f"  cost {row['cost_pct']:5.1f} %"
            )
    if "acknowledged_during_stall" in figures:
        print(
            f"WAL senders stopped {figures['stall_s']} s before the kill: "
            f"{figures['acknowledged_during_stall']} sends acknowledged meanwhile (synchronous:"
            " only answers already on their way; asynchronous: commits on the primary alone)"
        )
    print(
        f"replication during the drill: {figures['replication']}; "
        f"killed {figures['killed']}: promotion {figures['promotion_s']} s, first "
        f"acknowledged send {figures['outage_s']} s after the kill"
    )
    print(
        f"acknowledged transfers {figures['acknowledged_distinct']}, found COMPLETED on the "
        f"new primary {figures['acknowledged_found']}; sends the stream committed "
        f"{figures['sends_in_database']} (any beyond the acknowledged ones committed, but "
        "their answer was lost with the primary: the client saw an error)"
    )
    print(f"acknowledged transfers lost: {figures['acknowledged_lost']}")
    print(f"ledger invariants: {figures['invariant_breaches'] or 'OK'}")
    print(
        f"user balances: seeded {figures['seeded_total_minor']}, after "
        f"{figures['final_total_minor']} (minor units)"
    )
    if "rejoin_s" in figures:
        print(f"killed member back as synchronous standby in {figures['rejoin_s']} s")
    print(f"drill {figures['drill_seconds']} s; {'OK' if figures['ok'] else 'FAILED'}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--senders", type=int, default=32, help="users logged in to send")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--http-workers", type=int, default=1)
    parser.add_argument("--before", type=float, default=5, help="seconds of sends before the kill")
    parser.add_argument("--after", type=float, default=5, help="seconds of sends after resuming")
    parser.add_argument("--cost-seconds", type=float, default=4, help="0: skip the sync cost")
    parser.add_argument("--cost-rounds", type=int, default=2, help="ABBA: 2 gives 2 of each")
    parser.add_argument("--cost-clients", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--pgbench-seconds", type=int, default=3, help="0: no pgbench")
    parser.add_argument(
        "--stall",
        type=float,
        default=0.5,
        help="seconds the primary's WAL senders are stopped just before the kill (0: none)",
    )
    parser.add_argument("--no-rejoin", dest="rejoin", action="store_false")
    parser.add_argument(
        "--replication",
        choices=["sync", "async"],
        default="sync",
        help="the drill's replication (async: synchronous_mode off, to show what it costs)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        raise SystemExit("set REDIS_URL (a Redis database the drill may use)")
    for name in ("patroni", "etcd"):
        tool(name)
    root = Path(tempfile.mkdtemp(prefix="wallet-failover-"))
    cluster = Cluster.create(root, ["pg1", "pg2"])
    try:
        figures = await drill(args, cluster, redis_url)
    finally:
        await engine.disconnect()
        cluster.stop()
        if args.keep:
            print(f"data and logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
