"""The ledger owns the balance formula (`ledger_available`) and the reads others join."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T00:44:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger owns its tables and the balance formula"

forwards = sql_migration(ID, DESCRIPTION, "0044_ledger_owns_its_tables.sql")
