"""Monthly statements."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "monthly statements"

forwards = sql_migration(ID, DESCRIPTION, "0016_statements.sql")
