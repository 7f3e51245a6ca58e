"""Foundation: users, wallets, ledger with its guards, outbox, idempotency keys."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T21:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foundation schema"


async def forwards() -> MigrationManager:
    from wallet.db.migrate import apply_sql_file

    manager = MigrationManager(migration_id=ID, app_name="wallet", description=DESCRIPTION)

    async def run() -> None:
        await apply_sql_file("0001_foundation.sql")

    manager.add_raw(run)
    return manager
