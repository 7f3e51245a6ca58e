"""Business transactions and their append-only state transitions."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "money transactions"


async def forwards() -> MigrationManager:
    from wallet.db.migrate import apply_sql_file

    manager = MigrationManager(migration_id=ID, app_name="wallet", description=DESCRIPTION)

    async def run() -> None:
        await apply_sql_file("0002_transactions.sql")

    manager.add_raw(run)
    return manager
