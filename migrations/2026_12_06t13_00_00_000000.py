"""Monthly partitions of the history tables, daily ones of idempotency keys (issue 17)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partitioned history"

forwards = sql_migration(ID, DESCRIPTION, "0049_partitioned_history.sql")
