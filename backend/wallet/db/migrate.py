"""Run the Piccolo migrations in `migrations/` (each applies one raw-SQL file)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

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
