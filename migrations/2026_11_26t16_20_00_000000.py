"""Merchant settlement batches."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T16:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "settlement"

forwards = sql_migration(ID, DESCRIPTION, "0007_settlement.sql")
