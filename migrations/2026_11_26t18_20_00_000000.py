"""Bill splitting: groups, expenses and shares, settlements."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T18:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bill splitting"

forwards = sql_migration(ID, DESCRIPTION, "0013_splits.sql")
