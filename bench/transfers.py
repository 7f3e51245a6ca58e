"""P2P transfer throughput and latency, as ratios to pgbench on the same PostgreSQL.

    .venv/bin/python bench/transfers.py [--seconds 10] [--clients 16] [--users 1000]

Runs, in one process and against one PostgreSQL (DATABASE_URL, or the embedded one):
  1. pgbench tpcb-like: the baseline, in transactions/s;
  2. sendMoney through the service layer (idempotency, limits, state machine, ledger,
     outbox, all in one transaction), random sender and recipient;
  3. the same with every transfer credited to one wallet, first as an ordinary account
     (its row lock serialises the credits), then marked hot (deferred postings);
  4. payments to one merchant (a static QR code) through the service layer;
  5. sendMoney through GraphQL over HTTP against `wallet serve` (uvicorn, production
     settings) in a separate process, random and hot;
  6. the floor: only the rows a send must write (the ledger entry through
     `ledger_post_entry`, the transaction with its two transitions, three outbox events,
     the idempotency key), in one SQL function, driven by pgbench itself: no reads, no
     Python, one round trip. No design of the service layer can beat it.
Every figure is printed with its ratio to the pgbench baseline, plus p50/p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "backend"))

from wallet.commands.actor import Actor  # noqa: E402
from wallet.db import engine  # noqa: E402
from wallet.db.migrate import migrate  # noqa: E402
from wallet.ledger import service as ledger  # noqa: E402
from wallet.ledger.invariants import check_ledger  # noqa: E402
from wallet.ledger.models import OwnerType  # noqa: E402
from wallet.merchants.checkout import (  # noqa: E402
    NewPaymentRequest,
    PayRequest,
    create_request,
    pay_request,
)
from wallet.merchants.service import (  # noqa: E402
    BusinessProfile,
    Onboarding,
    onboard,
    staff_principal,
)
from wallet.money import Currency, Money  # noqa: E402
from wallet.security.crypto import Keyring  # noqa: E402
from wallet.transfers.service import SendMoney, send_money  # noqa: E402
from wallet.users.passwords import hash_password  # noqa: E402
from wallet.wallets.service import grant_promotional_credit, open_wallet  # noqa: E402

PASSWORD = "bench-password-1"


@dataclass
class Result:
    name: str
    ops: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.ops / self.seconds

    def quantile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def pgbench_binary(embedded: bool) -> str:
    if embedded:
        import pgserver

        return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench")
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("pgbench not found (apt-get install postgresql-client)")
    return found


def pgbench_run(name: str, binary: str, options: list[str], url: str, seconds: int) -> Result:
    """Run pgbench for `seconds`: its tps and average latency (it reports no quantiles)."""
    out = subprocess.run(
        [binary, *options, "-T", str(seconds), url], check=True, capture_output=True, text=True
    ).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))  # type: ignore[union-attr]
    return Result(name, int(tps * seconds), seconds, [latency])


def run_pgbench(binary: str, url: str, clients: int, seconds: int) -> Result:
    subprocess.run([binary, "-i", "-q", "-s", "10", url], check=True, capture_output=True)
    return pgbench_run(
        "pgbench tpcb-like (baseline)",
        binary,
        ["-b", "tpcb-like", "-c", str(clients), "-j", "2", "-r"],
        url,
        seconds,
    )


async def seed_users(count: int) -> list[tuple[int, str]]:
    """Premium (high-limit) users with $10,000 each; returns (id, username)."""
    password_hash = hash_password(PASSWORD)
    users = []
    async with engine.transaction() as conn:
        for n in range(count):
            username = f"bench_{n}"
            user_id = await conn.fetchval(
                "INSERT INTO app_user (email, phone, username, password_hash, verification_level)"
                " VALUES ($1, $2, $3, $4, 'premium') RETURNING id",
                f"{username}@example.com",
                f"+1415{n:07d}",
                username,
                password_hash,
            )
            await open_wallet(conn, int(user_id))
            await grant_promotional_credit(conn, int(user_id), Money(1_000_000, Currency.USD))
            users.append((int(user_id), username))
    return users


async def drive(
    name: str, clients: int, seconds: float, op: Callable[[random.Random], Awaitable[bool]]
) -> Result:
    latencies: list[float] = []
    ops = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal ops
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if await op(rng):
                ops += 1
                latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return Result(name, ops, time.perf_counter() - started, latencies)


def amount(rng: random.Random) -> Money:
    return Money(rng.randint(1, 100), Currency.USD)


async def service_transfers(
    users: list[tuple[int, str]], clients: int, seconds: float, hot: bool, label: str = ""
) -> Result:
    hot_user = users[0]

    async def op(rng: random.Random) -> bool:
        sender, recipient = rng.sample(users[1:], 2)
        if hot:
            recipient = hot_user
        await send_money(SendMoney(sender[0], recipient[1], amount(rng), "", uuid.uuid4().hex))
        return True

    label = label or ("service layer, one hot recipient" if hot else "service layer, random pairs")
    return await drive(label, clients, seconds, op)


async def merchant_payments(users: list[tuple[int, str]], clients: int, seconds: float) -> Result:
    """Every payment to one merchant (its payable is hot), through the service layer."""
    profile = BusinessProfile(
        "Bench Coffee LLC", "1 Bench Street, SF", "BC-1", description="Coffee and pastries"
    )
    merchant = await onboard(
        Onboarding(users[0][0], "Bench Coffee", "5814", "US", "SF", profile=profile)
    )
    principal = await staff_principal(merchant.id, users[0][0])
    code = await create_request(principal, NewPaymentRequest(Currency.USD, None))

    async def op(rng: random.Random) -> bool:
        payer = rng.choice(users[1:])
        # A session that proved the PIN lately stands for the PIN typed with each payment
        # (its argon2 check would measure the hash, not the payment path).
        actor = Actor.stepped_up_user(payer[0])
        await pay_request(actor, PayRequest(code.reference, amount(rng)), uuid.uuid4().hex)
        return True

    return await drive("service layer, merchant payments (one merchant)", clients, seconds, op)


async def mark_hot(user_id: int) -> None:
    async with engine.transaction() as conn:
        account = await ledger.find_account(conn, OwnerType.USER, user_id, Currency.USD, "wallet")
        assert account is not None
        await ledger.set_hot(conn, account, True)


async def roll_up_every_second(stop: asyncio.Event) -> None:
    """What the worker does: fold hot accounts' queued postings into their totals."""
    while not stop.is_set():
        async with engine.transaction() as conn:
            await ledger.roll_up_hot_accounts(conn)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1)


def profiled(run: Awaitable[Result]) -> Awaitable[Result]:
    """Run under cProfile and print where the Python time goes (--profile)."""

    async def wrapper() -> Result:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            return await run
        finally:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(18)

    return wrapper()


LOG_IN = "mutation($i: LogInInput!) { logIn(input: $i) { ... on AuthPayload { token } } }"
SEND = (
    "mutation($input: SendMoneyInput!) { sendMoney(input: $input) { __typename "
    "... on SendMoneyPayload { transfer { id } } } }"
)


async def http_transfers(
    url: str, users: list[tuple[int, str]], clients: int, seconds: float, hot: bool
) -> Result:
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=httpx.Limits(max_connections=clients)
    ) as http:
        tokens = {}
        for user_id, username in users[: min(len(users), 200)]:
            response = await http.post(
                "/graphql",
                json={
                    "query": LOG_IN,
                    "variables": {
                        "i": {"login": username, "password": PASSWORD, "sessionTransport": "BEARER"}
                    },
                },
            )
            tokens[user_id] = response.json()["data"]["logIn"]["token"]
        senders = [u for u in users[1:] if u[0] in tokens]

        async def op(rng: random.Random) -> bool:
            sender, recipient = rng.sample(senders, 2)
            if hot:
                recipient = users[0]
            response = await http.post(
                "/graphql",
                headers={"authorization": f"Bearer {tokens[sender[0]]}"},
                json={
                    "query": SEND,
                    "variables": {
                        "input": {
                            "recipient": recipient[1],
                            "amount": amount(rng).format(),
                            "idempotencyKey": uuid.uuid4().hex,
                        }
                    },
                },
            )
            return bool(response.json()["data"]["sendMoney"]["__typename"] == "SendMoneyPayload")

        label = "GraphQL over HTTP, one hot recipient" if hot else "GraphQL over HTTP, random pairs"
        return await drive(label, clients, seconds, op)


def start_server(
    database_url: str, redis_url: str, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WALLET_ENV": "production",
        "WALLET_GATEWAY_WEBHOOK_SECRET": "bench-only-secret",
        "WALLET_PII_KEYS": Keyring.new_key_entry("bench"),
        "WALLET_DB_POOL_SIZE": "20",
        "WALLET_LOGIN_FAILURES_PER_IP": "100000",
        "PYTHONPATH": str(REPO),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "wallet.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/ready").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("benchmark server did not start")


WRITES_ONLY = """
CREATE FUNCTION bench_send_writes(sender bigint, recipient bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE source bigint; target bigint; entry bigint; created bigint;
BEGIN
    SELECT id INTO source FROM ledger_account WHERE code = 'user:' || sender || ':USD:wallet';
    SELECT id INTO target FROM ledger_account WHERE code = 'user:' || recipient || ':USD:wallet';
    entry := ledger_post_entry('p2p', 'bench floor', ARRAY[source, target],
                               ARRAY['D', 'C']::char(1)[], ARRAY[1, 1]::bigint[],
                               ARRAY['USD', 'USD']::char(3)[]);
    INSERT INTO money_transaction (type, status, initiator_user_id, counterparty_user_id,
                                   currency, amount, note, entry_id)
        VALUES ('send', 'completed', sender, recipient, 'USD', 1, '', entry)
        RETURNING id INTO created;
    INSERT INTO transaction_transition (transaction_id, from_status, to_status)
        VALUES (created, NULL, 'initiated'), (created, 'initiated', 'completed');
    INSERT INTO outbox_event (topic, payload) VALUES ('transaction.updated', '{}'),
        ('balance.changed', '{}'), ('balance.changed', '{}');
    INSERT INTO idempotency_key (principal, key, fingerprint, response)
        VALUES ('user:' || sender, md5(random()::text), 'bench', '{}');
    RETURN created;
END $$;
"""


async def send_writes_floor(
    binary: str, url: str, users: list[tuple[int, str]], clients: int, seconds: int
) -> Result:
    """What a send must write, alone, in one round trip from pgbench (see the docstring)."""
    ids = sorted(user_id for user_id, _ in users[1:])  # users[0] is the hot recipient
    assert ids[-1] - ids[0] + 1 == len(ids), "bench users have contiguous ids"
    async with engine.connection() as conn:
        await conn.execute(WRITES_ONLY)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(
            f"\\set s random({ids[0]}, {ids[-1]})\n"
            f"\\set r random({ids[0]}, {ids[-1] - 1})\n"
            "SELECT bench_send_writes(:s, CASE WHEN :r >= :s THEN :r + 1 ELSE :r END);\n"
        )
    try:
        return pgbench_run(
            "floor: a send's writes only, from pgbench",
            binary,
            ["-n", "-c", str(clients), "-j", "2", "-f", script.name],
            url,
            seconds,
        )
    finally:
        os.unlink(script.name)


def report(results: list[Result], baseline: Result) -> None:
    print(f"\n{'run':50} {'ops/s':>9} {'x pgbench':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        # pgbench reports only its average latency.
        by_pgbench = len(r.latencies_ms) == 1
        p50 = r.latencies_ms[0] if by_pgbench else r.quantile(0.5)
        p99 = float("nan") if by_pgbench else r.quantile(0.99)
        print(f"{r.name:50} {r.rate:9.1f} {r.rate / baseline.rate:10.2f} {p50:8.2f} {p99:8.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="cProfile the service run")
    args = parser.parse_args()

    base_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    embedded = None
    if not base_url or not redis_url:
        from wallet.db.embedded import start_embedded

        embedded = start_embedded(Path(tempfile.mkdtemp(prefix="wallet-bench-")), "postgres")
        base_url, redis_url = embedded.database_url, embedded.redis_url
    admin = await asyncpg.connect(with_database(base_url, "postgres"))
    for name in ("wallet_bench", "wallet_bench_pgbench"):
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
    bench_url = with_database(base_url, "wallet_bench")
    try:
        print(f"pgbench: {args.clients} clients, {args.seconds:.0f} s, scale 10 ...", flush=True)
        baseline = run_pgbench(
            pgbench_binary(embedded is not None),
            with_database(base_url, "wallet_bench_pgbench"),
            args.clients,
            int(args.seconds),
        )
        await engine.connect(bench_url, pool_size=args.clients + 4)
        await migrate()
        print(f"seeding {args.users} users ...", flush=True)
        users = await seed_users(args.users)
        results = [baseline]
        stop_roll_up = asyncio.Event()
        roll_up = asyncio.create_task(roll_up_every_second(stop_roll_up))
        random_run = service_transfers(users, args.clients, args.seconds, hot=False)
        results.append(await (profiled(random_run) if args.profile else random_run))
        results.append(
            await service_transfers(
                users,
                args.clients,
                args.seconds,
                hot=True,
                label="service layer, one recipient, locked",
            )
        )
        await mark_hot(users[0][0])
        results.append(
            await service_transfers(
                users,
                args.clients,
                args.seconds,
                hot=True,
                label="service layer, one hot recipient",
            )
        )
        results.append(await merchant_payments(users, args.clients, args.seconds))
        server, url = start_server(bench_url, redis_url, args.http_workers)
        try:
            for hot in (False, True):
                results.append(await http_transfers(url, users, args.clients, args.seconds, hot))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        results.append(
            await send_writes_floor(
                pgbench_binary(embedded is not None),
                bench_url,
                users,
                args.clients,
                int(args.seconds),
            )
        )
        stop_roll_up.set()
        await roll_up
        async with engine.connection() as conn:
            breaches = await check_ledger(conn)
        await engine.disconnect()
        report(results, baseline)
        service, service_hot = results[1], results[3]
        print(f"\nservice layer / pgbench: {service.rate / baseline.rate:.2f}  (target >= 0.5)")
        print(f"hot / non-hot (service): {service_hot.rate / service.rate:.2f}  (target >= 0.8)")
        merchant = results[4]
        print(f"merchant payments / P2P (service): {merchant.rate / service.rate:.2f}")
        floor = results[-1]
        print(
            f"floor (a send's writes only) / pgbench: {floor.rate / baseline.rate:.2f}; "
            f"service layer / floor: {service.rate / floor.rate:.2f}"
        )
        print(f"ledger invariants after the run: {breaches or 'OK'}")
        print(
            f"cpu: {os.cpu_count()} cores; latencies: median of all ops: "
            f"{statistics.median(results[1].latencies_ms):.2f} ms (service)"
        )
    finally:
        for name in ("wallet_bench", "wallet_bench_pgbench"):
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
