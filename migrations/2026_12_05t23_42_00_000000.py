"""A primary key for the MCC category ranges (the one table without one)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T23:42:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "category_mcc_range primary key"

forwards = sql_migration(ID, DESCRIPTION, "0042_category_mcc_range_key.sql")
