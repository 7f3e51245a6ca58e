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
     Python, one round trip. No design of the service layer can beat it; and the same
     with a NOTIFY trigger on the outbox, as before migration 0043 (what it cost), and
     on the indexes and triggers of before 0043.
Every figure is printed with its ratio to the pgbench baseline, plus p50/p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import random
import re
import secrets
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
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "backend"))

from wallet.commands.actor import Actor  # noqa: E402
from wallet.db import engine  # noqa: E402
from wallet.db.migrate import migrate  # noqa: E402
from wallet.db.roles import APP_ROLE, ensure_app_login, url_as  # noqa: E402
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
from wallet.notifications.push import new_vapid_private_key  # noqa: E402
from wallet.security.crypto import Keyring  # noqa: E402
from wallet.transfers import batch as send_batch  # noqa: E402
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


def init_pgbench(binary: str, url: str) -> None:
    subprocess.run([binary, "-i", "-q", "-s", "10", url], check=True, capture_output=True)


def run_pgbench(binary: str, url: str, clients: int, seconds: int) -> Result:
    return pgbench_run(
        "pgbench tpcb-like (baseline)",
        binary,
        ["-b", "tpcb-like", "-c", str(clients), "-j", "2", "-r"],
        url,
        seconds,
    )


async def seed_users(count: int, tasks: int = 4, start: int = 0) -> list[tuple[int, str]]:
    """Premium (high-limit) users with $10,000 each, sorted by id; returns (id, username).
    Numbered from `start` (bench_<n>), so that a later call adds others."""
    password_hash = hash_password(PASSWORD)
    users: list[tuple[int, str]] = []

    async def seed(numbers: range) -> None:
        async with engine.transaction() as conn:
            for n in numbers:
                username = f"bench_{n}"
                user_id = await conn.fetchval(
                    "INSERT INTO app_user (email, phone, username, password_hash,"
                    " verification_level) VALUES ($1, $2, $3, $4, 'premium') RETURNING id",
                    f"{username}@example.com",
                    f"+1415{n:07d}",
                    username,
                    password_hash,
                )
                await open_wallet(conn, int(user_id))
                await grant_promotional_credit(conn, int(user_id), Money(1_000_000, Currency.USD))
                users.append((int(user_id), username))

    chunk = 500
    end = start + count
    for first in range(start, end, chunk * tasks):
        await asyncio.gather(
            *(
                seed(range(at, min(at + chunk, end)))
                for at in range(first, min(first + chunk * tasks, end), chunk)
            )
        )
    return sorted(users)


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
    users: list[tuple[int, str]],
    clients: int,
    seconds: float,
    hot: bool,
    label: str = "",
    batch_size: int | None = None,
) -> Result:
    """`batch_size`: the send batcher's K for this run (1: every send alone, as before
    batching); None: as configured."""
    hot_user = users[0]
    batcher = send_batch.batcher()
    configured = batcher.size
    if batch_size is not None:
        batcher.size = batch_size

    async def op(rng: random.Random) -> bool:
        # Two distinct bench users by index (sampling the list itself copied all 10,000
        # every send: 7 % of the run's Python time, the client's, not the service's).
        first, second = rng.sample(range(1, len(users)), 2)
        sender, recipient = users[first], users[second]
        if hot:
            recipient = hot_user
        await send_money(SendMoney(sender[0], recipient[1], amount(rng), "", uuid.uuid4().hex))
        return True

    label = label or ("service layer, one hot recipient" if hot else "service layer, random pairs")
    try:
        return await drive(label, clients, seconds, op)
    finally:
        batcher.size = configured


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


async def roll_up_every_second(stop: asyncio.Event, url: str) -> None:
    """What the worker does: fold hot accounts' queued postings into their totals (on a
    connection of its own: the bench's pool is closed while pgbench runs)."""
    conn = await asyncpg.connect(url)
    try:
        while not stop.is_set():
            async with conn.transaction():
                await ledger.roll_up_hot_accounts(conn)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
    finally:
        await conn.close()


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    database_url: str,
    redis_url: str,
    workers: int,
    port: int,
    extra_env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        # The API logs in as the app's role, which owns nothing (it refuses the owner's).
        "DATABASE_URL": url_as(database_url, APP_ROLE),
        "WALLET_MIGRATION_DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WALLET_ENV": "production",
        "WALLET_GATEWAY_WEBHOOK_SECRET": secrets.token_hex(24),
        "WALLET_AUDIT_KEY": secrets.token_hex(24),
        "WALLET_METRICS_TOKEN": secrets.token_hex(24),  # production refuses to start without
        "WALLET_VAPID_PRIVATE_KEY": new_vapid_private_key(),  # nor on the development key
        # Production settings otherwise; the sandboxes stand in for real providers.
        "WALLET_ALLOW_SANDBOX_PROVIDERS": "true",
        "WALLET_PII_KEYS": Keyring.new_key_entry("bench"),
        "WALLET_DB_POOL_SIZE": "20",
        "WALLET_LOGIN_FAILURES_PER_IP": "100000",
        "PYTHONPATH": str(REPO / "backend"),
        **(extra_env or {}),
    }
    log = tempfile.NamedTemporaryFile("w+b", prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
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
        stderr=log,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/ready").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    log.seek(0)
    raise SystemExit("benchmark server did not start:\n" + log.read().decode()[-3000:])


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


async def floor_with_notify(
    binary: str, url: str, users: list[tuple[int, str]], clients: int, seconds: int
) -> Result:
    """The floor with the outbox's NOTIFY statement trigger of before migration 0043 put
    back for the run (the relay then LISTENed): what a NOTIFY per sending transaction
    costs."""
    async with engine.connection() as conn:
        await conn.execute(
            "CREATE FUNCTION bench_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_notify('outbox_event', ''); RETURN NULL; END $$; "
            "CREATE TRIGGER bench_outbox_event_notify AFTER INSERT ON outbox_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION bench_outbox_notify()"
        )
    try:
        result = await send_writes_floor(binary, url, users, clients, seconds)
    finally:
        async with engine.connection() as conn:
            await conn.execute(
                "DROP TRIGGER bench_outbox_event_notify ON outbox_event; "
                "DROP FUNCTION bench_outbox_notify()"
            )
    return Result(
        "floor, with a NOTIFY trigger on outbox_event",
        result.ops,
        result.seconds,
        result.latencies_ms,
    )


# The send's tables as they were before migration 0043 (less its NOTIFY trigger, which
# `floor_with_notify` measures apart), and back: measured side by side with the floor.
SCHEMA_BEFORE_0043 = """
DROP INDEX money_transaction_initiator_idx;
DROP INDEX money_transaction_counterparty_idx;
CREATE INDEX money_transaction_initiator_idx ON money_transaction (initiator_user_id, id);
CREATE INDEX money_transaction_counterparty_idx ON money_transaction (counterparty_user_id, id);
CREATE INDEX money_transaction_outgoing_day_idx
    ON money_transaction (initiator_user_id, currency, created_at);
CREATE INDEX money_transaction_initiator_time_idx
    ON money_transaction (initiator_user_id, created_at);
CREATE INDEX money_transaction_counterparty_time_idx
    ON money_transaction (counterparty_user_id, created_at);
DROP TRIGGER posting_entry_open ON posting;
CREATE CONSTRAINT TRIGGER posting_entry_balanced AFTER INSERT ON posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE INDEX outbox_event_unpublished_idx ON outbox_event (id) WHERE published_at IS NULL;
"""
SCHEMA_AFTER_0043 = """
DROP INDEX money_transaction_initiator_idx;
DROP INDEX money_transaction_counterparty_idx;
DROP INDEX money_transaction_outgoing_day_idx;
DROP INDEX money_transaction_initiator_time_idx;
DROP INDEX money_transaction_counterparty_time_idx;
CREATE INDEX money_transaction_initiator_idx
    ON money_transaction (initiator_user_id, created_at, id);
CREATE INDEX money_transaction_counterparty_idx
    ON money_transaction (counterparty_user_id, created_at, id);
DROP TRIGGER posting_entry_balanced ON posting;
CREATE TRIGGER posting_entry_open BEFORE INSERT ON posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_entry_open();
DROP INDEX outbox_event_unpublished_idx;
"""


async def floor_before_0043(
    binary: str, url: str, users: list[tuple[int, str]], clients: int, seconds: int
) -> Result:
    """The floor on the indexes and triggers of before migration 0043 (five party indexes
    on money_transaction, the balanced-entry check per posting too, the index of
    unpublished outbox events), without NOTIFY like the floor beside it."""
    async with engine.connection() as conn:
        await conn.execute(SCHEMA_BEFORE_0043)
    try:
        result = await send_writes_floor(binary, url, users, clients, seconds)
    finally:
        async with engine.connection() as conn:
            await conn.execute(SCHEMA_AFTER_0043)
    return Result(
        "floor, the schema of before 0043 (no NOTIFY)",
        result.ops,
        result.seconds,
        result.latencies_ms,
    )


BATCHED_FLOOR = """
CREATE FUNCTION bench_send_writes_batch(lo bigint, hi bigint, k integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE s bigint[] := '{}'; r bigint[] := '{}'; x bigint; y bigint;
BEGIN
    FOR i IN 1..k LOOP
        x := lo + floor(random() * (hi - lo + 1))::bigint;
        y := lo + floor(random() * (hi - lo))::bigint;
        IF y >= x THEN y := y + 1; END IF;
        s := s || x;
        r := r || y;
    END LOOP;
    -- As a batch does: every account it touches locked first, in id order (no deadlocks).
    PERFORM 1 FROM ledger_account
      WHERE code IN (SELECT 'user:' || u || ':USD:wallet' FROM unnest(s || r) u)
      ORDER BY id FOR NO KEY UPDATE;
    FOR i IN 1..k LOOP
        PERFORM bench_send_writes(s[i], r[i]);
    END LOOP;
END $$;
"""


async def batched_floor(
    binary: str, url: str, users: list[tuple[int, str]], clients: int, seconds: int, k: int
) -> Result:
    """The floor's writes, `k` sends per transaction (one commit, one NOTIFY per batch)."""
    ids = sorted(user_id for user_id, _ in users[1:])
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(f"SELECT bench_send_writes_batch({ids[0]}, {ids[-1]}, {k});\n")
    try:
        result = pgbench_run(
            f"floor, batched: {k} sends' writes per transaction",
            binary,
            ["-n", "-c", str(clients), "-j", "2", "-f", script.name],
            url,
            seconds,
        )
    finally:
        os.unlink(script.name)
    return Result(result.name, result.ops * k, result.seconds, result.latencies_ms)


WRK_SCRIPT = """
local users = {%(users)s}
local names = {%(names)s}
local hot = %(hot)s
local trivial = %(trivial)s
local nonce = "%(nonce)s"
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
function init(args)
    math.randomseed(tid * 7919 + os.time())
    counter = 0
end
request = function()
    if trivial then
        return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json"},
                          '{"query":"{ __typename }"}')
    end
    counter = counter + 1
    local s = math.random(2, #users)
    -- The recipient: any bench user (10,000), so that random pairs rarely collide; the
    -- senders are the users logged in.
    local recipient = users[1][2]
    if not hot then
        repeat recipient = names[math.random(2, #names)] until recipient ~= users[s][2]
    end
    local body = '{"query":' .. %(query)s .. ',"variables":{"input":{"recipient":"'
        .. recipient .. '","amount":"0.' .. string.format("%%02d", math.random(1, 99))
        .. '","idempotencyKey":"' .. nonce .. '-' .. tid .. '-' .. counter .. '"}}}'
    return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json",
                      ["Authorization"] = "Bearer " .. users[s][1]}, body)
end
"""


def _wrk_ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))  # type: ignore[union-attr]
    unit = text[len(re.match(r"[\d.]+", text).group(0)) :]  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


async def login_tokens(url: str, users: list[tuple[int, str]], count: int) -> list[tuple[str, str]]:
    """(bearer token, username) for the hot recipient and the first `count` senders."""
    gate = asyncio.Semaphore(4)  # argon2 takes CPU: a few at a time
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:

        async def one(username: str) -> str:
            async with gate:
                response = await http.post(
                    "/graphql",
                    json={
                        "query": LOG_IN,
                        "variables": {
                            "i": {
                                "login": username,
                                "password": PASSWORD,
                                "sessionTransport": "BEARER",
                            }
                        },
                    },
                )
            return str(response.json()["data"]["logIn"]["token"])

        chosen = users[: count + 1]
        tokens = await asyncio.gather(*(one(name) for _, name in chosen))
    return [(token, name) for token, (_, name) in zip(tokens, chosen, strict=True)]


@dataclass(frozen=True)
class HttpPeople:
    """Who the HTTP runs send as and to."""

    senders: list[tuple[str, str]]  # (bearer token, username): the hot recipient first
    recipients: list[str]  # every bench user's name, so that random pairs rarely collide


async def wrk_run(
    name: str,
    url: str,
    people: HttpPeople,
    clients: int,
    seconds: float,
    *,
    hot: bool = False,
    trivial: bool = False,
) -> Result:
    """Drive the API from `wrk` (another process, C, with a Lua script): what a send over
    HTTP costs the server, not what an in-process Python client can push."""
    lua_users = ",".join(f'{{"{token}","{name}"}}' for token, name in people.senders)
    script_text = WRK_SCRIPT % {
        "users": lua_users,
        "names": ",".join(f'"{name}"' for name in people.recipients),
        "hot": "true" if hot else "false",
        "trivial": "true" if trivial else "false",
        "nonce": uuid.uuid4().hex,
        "query": "[==[" + json.dumps(SEND) + "]==]",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    count_sql = "SELECT count(*) FROM money_transaction WHERE type = 'send'"
    try:
        async with engine.connection() as conn:
            before = int(await conn.fetchval(count_sql))
        process = await asyncio.create_subprocess_exec(
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            script.name,
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        text = out.decode()
        if process.returncode != 0:
            raise SystemExit(f"wrk failed: {err.decode()}")
        async with engine.connection() as conn:
            after = int(await conn.fetchval(count_sql))
    finally:
        os.unlink(script.name)
    found = re.search(r"(\d+) requests in ([\d.]+)s", text)
    if found is None:
        raise SystemExit(f"unexpected wrk output:\n{text}")
    requests, duration = int(found.group(1)), float(found.group(2))
    quantiles = [re.search(rf"^\s+{q}%\s+(\S+)$", text, re.MULTILINE) for q in (50, 99)]
    # No answer at all (a cold server in a short warm-up) has no latency distribution.
    p50, p99 = (float("nan") if m is None else _wrk_ms(m.group(1)) for m in quantiles)
    # Sends are counted in the database (a 200 may carry a typed error).
    ops = requests if trivial else after - before
    return Result(name, ops, duration, [p50, p99])


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Measured:
    """One run beside its pgbench baselines (just before and just after it)."""

    result: Result
    baseline_tps: float
    load: str

    @property
    def ratio(self) -> float:
        return self.result.rate / self.baseline_tps


def p50_p99(r: Result) -> tuple[float, float]:
    if len(r.latencies_ms) == 1:  # pgbench reports only its average latency
        return r.latencies_ms[0], float("nan")
    if len(r.latencies_ms) == 2:  # wrk's own quantiles
        return r.latencies_ms[0], r.latencies_ms[1]
    return r.quantile(0.5), r.quantile(0.99)


def report(measured: dict[tuple[int, str], list[Measured]]) -> None:
    print(
        f"\n{'clients':>7} {'run':52} {'ops/s med':>9} {'x pg min':>8} {'x pg med':>8} "
        f"{'pg tps':>7} {'p50 ms':>7} {'p99 ms':>7}  load (1/5/15 min) per round"
    )
    for (clients, name), runs in measured.items():
        ratios = [m.ratio for m in runs]
        middle = sorted(runs, key=lambda m: m.ratio)[len(runs) // 2]
        p50, p99 = p50_p99(middle.result)
        print(
            f"{clients:7} {name:52} {statistics.median(m.result.rate for m in runs):9.1f} "
            f"{min(ratios):8.2f} {statistics.median(ratios):8.2f} {middle.baseline_tps:7.0f} "
            f"{p50:7.1f} {p99:7.1f}  " + " | ".join(m.load for m in runs)
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--http-users", type=int, default=200, help="senders logged in for HTTP")
    parser.add_argument("--batch", type=int, default=32, help="K of the batched floor")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--compare-batching",
        action="store_true",
        help="run each send run twice in every round: batching off (K=1), then on",
    )
    parser.add_argument("--only", nargs="*", help="run only the runs whose name has one of these")
    parser.add_argument("--skip", nargs="*", help="skip the runs whose name has one of these")
    parser.add_argument(
        "--send-batch-size", help="WALLET_SEND_BATCH_SIZE for the service runs and the API"
    )
    parser.add_argument(
        "--send-batch-flushes", help="WALLET_SEND_BATCH_FLUSHES for the service runs and the API"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the service run")
    parser.add_argument(
        "--asyncio-loop",
        action="store_true",
        help="run on asyncio's own event loop, not uvloop (the API's, under uvicorn)",
    )
    args = parser.parse_args()
    if args.send_batch_size:
        os.environ["WALLET_SEND_BATCH_SIZE"] = args.send_batch_size
    if args.send_batch_flushes:
        os.environ["WALLET_SEND_BATCH_FLUSHES"] = args.send_batch_flushes

    base_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    embedded = None
    if not base_url or not redis_url:
        from wallet.db.embedded import start_embedded

        embedded = start_embedded(Path(tempfile.mkdtemp(prefix="wallet-bench-")), "postgres")
        base_url, redis_url = embedded.database_url, embedded.redis_url
    admin = await asyncpg.connect(with_database(base_url, "postgres"))
    # Named per process: another benchmark on the same server keeps its own.
    databases = (f"wallet_bench_{os.getpid()}", f"wallet_bench_pgbench_{os.getpid()}")
    for name in databases:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
    bench_url = with_database(base_url, databases[0])
    pgbench_url = with_database(base_url, databases[1])
    binary = pgbench_binary(embedded is not None)
    server = None
    try:
        init_pgbench(binary, pgbench_url)
        await engine.connect(bench_url, pool_size=max(args.clients) + 2)
        await migrate()
        async with engine.connection() as conn:
            await ensure_app_login(conn)
        print(f"seeding {args.users} users ...", flush=True)
        users = await seed_users(args.users)
        async with engine.connection() as conn:
            await conn.execute(WRITES_ONLY)
            await conn.execute(BATCHED_FLOOR)
        await mark_hot(users[0][0])
        stop_roll_up = asyncio.Event()
        roll_up = asyncio.create_task(roll_up_every_second(stop_roll_up, bench_url))
        people = HttpPeople([], [name for _, name in users])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        if not args.skip_http:
            # Sessions live in Redis: logged in once, they outlive the server's restarts.
            # (Once only: a user's first session is their trusted device; a second login
            # would be a new device, whose sends ask for step-up. And run no tests on
            # the same Redis database meanwhile: they flush it.)
            server, url = start_server(bench_url, redis_url, args.http_workers, port)
            people = HttpPeople(await login_tokens(url, users, args.http_users), people.recipients)
            stop_server(server)
            server = None

        async def pgbench_beside(clients: int) -> float:
            # The bench's own pool is closed meanwhile: PostgreSQL allows 100 connections.
            await engine.disconnect()
            try:
                return run_pgbench(binary, pgbench_url, clients, seconds).rate
            finally:
                await engine.connect(bench_url, pool_size=clients + 2)

        measured: dict[tuple[int, str], list[Measured]] = {}
        seconds = int(args.seconds)
        for round_ in range(args.rounds):
            for clients in args.clients:
                modes: list[tuple[str, int | None]] = (
                    [(" [batching off]", 1), (" [batching on]", int(args.send_batch_size or 64))]
                    if args.compare_batching
                    else [("", None)]
                )
                runs: list[tuple[str, Callable[[], Awaitable[Result]], int | None]] = []
                for suffix, size in modes:
                    runs += [
                        (
                            "service random",
                            lambda c=clients, r=round_, k=size, x=suffix: (
                                profiled if args.profile and r == 0 else (lambda x: x)
                            )(
                                service_transfers(
                                    users,
                                    c,
                                    seconds,
                                    hot=False,
                                    label="service layer, random pairs" + x,
                                    batch_size=k,
                                )
                            ),
                            size,
                        ),
                        (
                            "service hot",
                            lambda c=clients, k=size, x=suffix: service_transfers(
                                users,
                                c,
                                seconds,
                                hot=True,
                                label="service layer, one hot recipient" + x,
                                batch_size=k,
                            ),
                            size,
                        ),
                    ]
                runs += [
                    (
                        "service merchant",
                        lambda c=clients: merchant_payments(users, c, seconds),
                        None,
                    ),
                    (
                        "floor",
                        lambda c=clients: send_writes_floor(binary, bench_url, users, c, seconds),
                        None,
                    ),
                    (
                        "floor before 0043",
                        lambda c=clients: floor_before_0043(binary, bench_url, users, c, seconds),
                        None,
                    ),
                    (
                        "floor with notify",
                        lambda c=clients: floor_with_notify(binary, bench_url, users, c, seconds),
                        None,
                    ),
                    (
                        "batched floor",
                        lambda c=clients: batched_floor(
                            binary, bench_url, users, c, seconds, args.batch
                        ),
                        None,
                    ),
                ]
                if not args.skip_http:
                    for suffix, size in modes:
                        runs += [
                            (
                                "http random",
                                lambda c=clients, x=suffix: wrk_run(
                                    "GraphQL over HTTP (wrk), random pairs" + x,
                                    url,
                                    people,
                                    c,
                                    seconds,
                                ),
                                size,
                            ),
                            (
                                "http hot",
                                lambda c=clients, x=suffix: wrk_run(
                                    "GraphQL over HTTP (wrk), one hot recipient" + x,
                                    url,
                                    people,
                                    c,
                                    seconds,
                                    hot=True,
                                ),
                                size,
                            ),
                        ]
                    runs.append(
                        (
                            "http trivial",
                            lambda c=clients: wrk_run(
                                "HTTP upper bound: trivial query (wrk)",
                                url,
                                people,
                                c,
                                seconds,
                                trivial=True,
                            ),
                            None,
                        )
                    )
                if args.only:
                    runs = [run for run in runs if any(o in run[0] for o in args.only)]
                if args.skip:
                    runs = [run for run in runs if not any(o in run[0] for o in args.skip)]
                before = await pgbench_beside(clients)
                for name, run, size in runs:
                    current_load = load()
                    if name.startswith("http"):  # the API runs only beside its own runs
                        server, _ = start_server(
                            bench_url,
                            redis_url,
                            args.http_workers,
                            port,
                            {} if size is None else {"WALLET_SEND_BATCH_SIZE": str(size)},
                        )
                        # Warm up (connections, the parser's and validator's caches).
                        await wrk_run("warm-up", url, people, clients, 1, trivial=True)
                        await wrk_run("warm-up", url, people, clients, 1)
                    try:
                        result = await run()
                    finally:
                        if server is not None:
                            stop_server(server)
                            server = None
                    after = await pgbench_beside(clients)
                    key = (clients, result.name)
                    measured.setdefault(key, []).append(
                        Measured(result, (before + after) / 2, current_load)
                    )
                    p50, p99 = p50_p99(result)
                    print(
                        f"round {round_ + 1} c={clients} {result.name}: {result.rate:.0f}/s "
                        f"pgbench {before:.0f}/{after:.0f} "
                        f"x{result.rate / ((before + after) / 2):.2f} p50 {p50:.1f} p99 {p99:.1f}"
                        f" load {current_load}",
                        flush=True,
                    )
                    before = after
        stop_roll_up.set()
        await roll_up
        async with engine.connection() as conn:
            breaches = await check_ledger(conn)
        await engine.disconnect()
        report(measured)
        print(f"\nledger invariants after the run: {breaches or 'OK'}")
        print(f"cpu: {os.cpu_count()} cores; {args.users} users; {seconds} s per run")
    finally:
        if server is not None:
            stop_server(server)
        for name in databases:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    if "--asyncio-loop" in sys.argv:
        asyncio.run(main())
    else:
        # The loop the API runs on (uvicorn takes uvloop when it is installed, as it is).
        uvloop.run(main())
