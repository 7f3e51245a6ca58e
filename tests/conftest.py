"""Shared fixtures: real PostgreSQL and Redis, one fresh database per test.

With DATABASE_URL / REDIS_URL set (CI), those servers are used; otherwise embedded
ones start under a temporary folder. A template database is migrated once per run and
every test gets its own clone of it, so tests never see each other's rows.

The code under test connects as the app's role (`wallet_app`, which owns nothing), as
in production; the given URL's role is the owner (migrations, `owner_database_url`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn
from redis.asyncio import Redis

from tests import pgbouncer
from wallet.api.state import Services
from wallet.app import SERVER_OPTIONS, create_app
from wallet.checks import check_all
from wallet.config import Settings, get_settings
from wallet.db import engine
from wallet.db.roles import APP_ROLE, ensure_app_login, url_as
from wallet.fraud.engine import forget_rules
from wallet.gateway.tokenizer import TOKENS_PATH, create_tokenizer_app
from wallet.realtime.hub import Hub


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test reads the configuration afresh: a variable one test set (and then
    `get_settings.cache_clear()`) does not reach the next through the process's cache."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass(frozen=True)
class TestServers:
    database_url: str  # any database on the server; tests create their own beside it
    redis_url: str


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database on the same server (unix-socket URLs too)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def worker_redis_url(url: str) -> str:
    """Under pytest-xdist, worker N uses the Redis database N below the given one (so
    REDIS_URL=…/15 gives 15, 14, …): every test flushes its database, and two workers
    flushing one another's would lose each other's sessions and limits."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if index == 0:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    if base < index:
        raise RuntimeError(f"REDIS_URL {url} leaves no database for xdist worker {worker}")
    return urlunsplit(parts._replace(path=f"/{base - index}"))


@pytest.fixture(scope="session")
def servers() -> Iterator[TestServers]:
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if database_url and redis_url:
        yield TestServers(database_url, worker_redis_url(redis_url))
        return
    from wallet.db.embedded import start_embedded

    with tempfile.TemporaryDirectory(prefix="wallet-test-") as tmp:
        embedded = start_embedded(Path(tmp), database="postgres")
        try:
            yield TestServers(
                database_url or embedded.database_url, redis_url or embedded.redis_url
            )
        finally:
            embedded.stop()


@pytest.fixture(scope="session")
def pooler(servers: TestServers) -> Iterator[int | None]:
    """PgBouncer's port when the run goes through it (TEST_VIA_PGBOUNCER=1), else None."""
    if not pgbouncer.wanted():
        yield None
        return
    with pgbouncer.running(servers.database_url, users=(APP_ROLE, "postgres")) as port:
        # Servers and workers the tests start as processes read it from the environment
        # (the pooled run is a pytest run of its own: nothing after it needs it unset).
        os.environ["WALLET_DB_PGBOUNCER"] = "true"
        yield port


async def _admin(servers: TestServers) -> asyncpg.Connection:
    return await asyncpg.connect(dsn=with_database(servers.database_url, "postgres"))


@pytest.fixture(scope="session")
async def template_database(servers: TestServers) -> AsyncIterator[str]:
    """A migrated database that every test database is cloned from."""
    from wallet.db.migrate import migrate

    name = f"wallet_tpl_{os.getpid()}"
    admin = await _admin(servers)
    # Cluster-wide and shared by concurrent runs; made once per run, never per test.
    await ensure_app_login(admin)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await engine.connect(with_database(servers.database_url, name), pool_size=2)
    await migrate()
    await engine.disconnect()
    try:
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


_counter = itertools.count()


@pytest.fixture
async def database_url(
    servers: TestServers, template_database: str, pooler: int | None
) -> AsyncIterator[str]:
    """A fresh migrated database for this test, as the app's role (grants come with the
    clone); the engine is connected to it."""
    name = f"wallet_t_{os.getpid()}_{next(_counter)}"
    admin = await _admin(servers)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    url = url_as(with_database(servers.database_url, name), APP_ROLE)
    if pooler is not None:
        url = pgbouncer.through(url, pooler)
    await engine.connect(url, pool_size=20, pgbouncer=pooler is not None)
    forget_rules()  # the fraud rules cache belongs to the previous test's database
    try:
        yield url
    finally:
        await engine.disconnect()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def owner_database_url(servers: TestServers, database_url: str) -> str:
    """This test's database as its owner (what migrations and a DBA connect as)."""
    return with_database(servers.database_url, urlsplit(database_url).path.lstrip("/"))


async def empty_redis(url: str) -> None:
    """Empty the Redis database at `url` (this worker's: see `worker_redis_url`)."""
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url(servers: TestServers) -> AsyncIterator[str]:
    await empty_redis(servers.redis_url)
    yield servers.redis_url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env().replace(
        database_url=database_url,
        redis_url=redis_url,
        db_pgbouncer=pgbouncer.wanted(),
        environment="test",
        # Anchors belong to one database: each test's chain gets its own folder.
        audit={"anchor_dir": tmp_path / "audit-anchors"},
    )


@pytest.fixture
async def services(settings: Settings, redis: Redis) -> AsyncIterator[Services]:
    built = Services.build(settings, redis)
    yield built
    await built.hub.aclose()


@dataclass
class LiveServer:
    url: str
    settings: Settings
    app: Any = None  # the Litestar app (in this process: its state is readable)

    @property
    def hub(self) -> Hub:
        """The app's pub/sub hub: how many subscriptions listen, on how many channels."""
        hub: Hub = self.app.state["services"].hub
        return hub

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


@contextlib.asynccontextmanager
async def serve_asgi(app: object) -> AsyncIterator[str]:
    """`app` under uvicorn on a free loopback port, in this event loop; its base URL."""
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=0,
        **SERVER_OPTIONS,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def run_live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The real app under uvicorn on a free loopback port, in this event loop, with the
    sandbox gateway's client-side tokeniser beside it on another (its URL in the
    settings, as `wallet dev` does)."""
    tokenizer = create_tokenizer_app(
        settings.redis_url or "", settings.gateway.publishable_key, ["http://127.0.0.1"]
    )
    async with serve_asgi(tokenizer) as tokenizer_url:
        settings = settings.replace(gateway={"tokenize_url": tokenizer_url + TOKENS_PATH})
        app = create_app(settings)
        async with serve_asgi(app) as url:
            yield LiveServer(url, settings, app)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with run_live_server(settings) as live:
        yield live


@pytest.fixture
async def assert_ledger_sound(database_url: str) -> AsyncIterator[None]:
    """Run the ledger invariants after the test body (and after the servers stopped)."""
    yield
    conn = await asyncpg.connect(database_url)
    try:
        assert await check_all(conn) == []
    finally:
        await conn.close()
