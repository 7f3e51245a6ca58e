"""Run the Piccolo migrations in `migrations/` (each applies one raw-SQL file)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from wallet.config import REPO_ROOT
from wallet.db.engine import DB

SQL_DIR = REPO_ROOT / "migrations" / "sql"


async def apply_sql_file(name: str) -> None:
    """Execute one SQL script inside the current migration transaction."""
    sql = (SQL_DIR / name).read_text()
    current = DB.current_transaction.get()
    if current is None:
        raise RuntimeError("SQL migrations run inside Piccolo's migration transaction")
    await current.connection.execute(sql)


def sql_migration(
    migration_id: str,
    description: str,
    sql_file: str,
    then: Callable[[Any], Awaitable[object]] | None = None,
) -> Callable[[], Awaitable[Any]]:
    """The `forwards` of a Piccolo migration that applies one file of migrations/sql/,
    then, if given, `then(connection)` in the same transaction (a step SQL cannot do)."""
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager

    async def forwards() -> MigrationManager:
        manager = MigrationManager(
            migration_id=migration_id, app_name="wallet", description=description
        )

        async def run() -> None:
            await apply_sql_file(sql_file)
            current = DB.current_transaction.get()
            if then is not None and current is not None:
                await then(current.connection)

        manager.add_raw(run)
        return manager

    return forwards


async def migrate() -> None:
    """Bring the connected database up to date; safe to run repeatedly."""
    os.environ.setdefault("PICCOLO_CONF", "wallet.piccolo_conf")
    from piccolo.apps.migrations.commands.forwards import run_forwards

    # Piccolo prints progress to stdout; keep the service's own output JSON-only.
    with contextlib.redirect_stdout(io.StringIO()):
        result = await run_forwards(app_name="wallet")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


def sql_files() -> list[Path]:
    return sorted(SQL_DIR.glob("*.sql"))
