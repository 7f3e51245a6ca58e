"""Live subscriptions on one API process: sockets held, memory, fan-out latency (issue 19).

    .venv/bin/python bench/subscriptions.py [--sizes 1000 10000] [--users 100] [--events 40]

One API process (uvicorn, production settings, as bench/transfers.py starts it) on a
fresh database (DATABASE_URL and REDIS_URL, or the embedded servers). For each size N:

  1. N WebSockets (graphql-transport-ws), spread over `--users` logged-in users, each
     subscribed to `balanceChanged`; a socket counts as held once its first event (the
     snapshot the subscription starts with) has arrived;
  2. the API process's resident memory (VmRSS) before and after, per subscription, and
     the Redis clients in pub/sub mode (one per API process with wallet.realtime.hub;
     one per subscription before it);
  3. `--events` times, a balance-changed message is published on one user's channel
     (what the outbox relay does), and the time from the PUBLISH to each of that user's
     sockets receiving its event is recorded: the hub's fan-out, the subscription's
     read of the balance and the write to the socket. p50 and p99 over all receipts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import websockets
from redis.asyncio import Redis

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from transfers import (  # noqa: E402
    free_port,
    login_tokens,
    seed_users,
    start_server,
    stop_server,
    with_database,
)

from wallet.db import engine  # noqa: E402
from wallet.db.migrate import migrate  # noqa: E402
from wallet.db.roles import ensure_app_login  # noqa: E402
from wallet.realtime.channels import Channels  # noqa: E402

SUBSCRIBE = "subscription { balanceChanged { currency available } }"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Socket:
    """One subscribed WebSocket, keeping when each event arrived."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.arrivals: list[float] = []
        self.held = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if message.get("type") == "next":
                    self.arrivals.append(time.perf_counter())
                    self.held.set()
        except websockets.ConnectionClosed:
            return


async def open_socket(ws_url: str, token: str) -> Socket:
    ws = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], max_queue=None)
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    return Socket(ws)


async def pubsub_clients(redis: Redis) -> int:
    return len(await redis.client_list(_type="pubsub"))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()

    base_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    embedded = None
    if not base_url or not redis_url:
        from wallet.db.embedded import start_embedded

        embedded = start_embedded(Path(tempfile.mkdtemp(prefix="wallet-bench-")), "postgres")
        base_url, redis_url = embedded.database_url, embedded.redis_url
    admin = await asyncpg.connect(with_database(base_url, "postgres"))
    name = f"wallet_subs_{os.getpid()}"
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    bench_url = with_database(base_url, name)
    redis = Redis.from_url(redis_url)
    server = None
    try:
        await engine.connect(bench_url, pool_size=4)
        await migrate()
        async with engine.connection() as conn:
            await ensure_app_login(conn)
        users = await seed_users(args.users)
        server, url = start_server(bench_url, redis_url, 1, free_port())
        tokens = [token for token, _ in await login_tokens(url, users, args.users - 1)]
        # The server's channels: its namespace is its database's name and Redis's number.
        channels = Channels(f"{name}:{urlsplit(redis_url).path.strip('/') or '0'}")
        ws_url = url.replace("http://", "ws://") + "/graphql"
        rows = []
        for size in args.sizes:
            before_pubsub = await pubsub_clients(redis)
            before = rss_kib(server.pid)
            sockets: list[Socket] = []
            opening = time.perf_counter()
            for start in range(0, size, 200):
                sockets += await asyncio.gather(
                    *(
                        open_socket(ws_url, tokens[n % len(tokens)])
                        for n in range(start, min(start + 200, size))
                    )
                )
            await asyncio.wait_for(asyncio.gather(*(s.held.wait() for s in sockets)), 120)
            opened = time.perf_counter() - opening
            held = sum(1 for s in sockets if s.held.is_set() and s.ws.close_code is None)
            await asyncio.sleep(1)
            after = rss_kib(server.pid)
            pubsub = await pubsub_clients(redis) - before_pubsub
            latencies: list[float] = []
            for event in range(args.events):
                user_index = event % len(tokens)
                user_id = users[user_index][0]
                mine = [s for n, s in enumerate(sockets) if n % len(tokens) == user_index]
                seen = [len(s.arrivals) for s in mine]
                message = {
                    "event_id": event,
                    "topic": "balance.changed",
                    "payload": {"user_id": user_id, "currency": "USD"},
                }
                published = time.perf_counter()
                await redis.publish(channels.balance(user_id), json.dumps(message))
                deadline = time.monotonic() + 30
                while any(len(s.arrivals) <= k for s, k in zip(mine, seen, strict=True)):
                    assert time.monotonic() < deadline, "an event never arrived"
                    await asyncio.sleep(0.001)
                latencies += [
                    (s.arrivals[k] - published) * 1000 for s, k in zip(mine, seen, strict=True)
                ]
            rows.append(
                (
                    size,
                    held,
                    opened,
                    (after - before) / size,
                    pubsub,
                    statistics.median(latencies),
                    quantile(latencies, 0.99),
                    len(latencies),
                )
            )
            print(f"{size}: {rows[-1]}", flush=True)
            for s in sockets:
                await s.ws.close()
            await asyncio.gather(*(s.task for s in sockets))
            await asyncio.sleep(2)
        print(
            f"\n{'subscriptions':>13} {'held':>6} {'open s':>7} {'KiB each':>9} "
            f"{'pub/sub clients':>15} {'p50 ms':>7} {'p99 ms':>7} {'receipts':>8}"
        )
        for size, held, opened, kib, pubsub, p50, p99, count in rows:
            print(
                f"{size:13} {held:6} {opened:7.1f} {kib:9.1f} {pubsub:15} {p50:7.1f} "
                f"{p99:7.1f} {count:8}"
            )
    finally:
        if server is not None:
            stop_server(server)
        await engine.disconnect()
        await redis.aclose()
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
