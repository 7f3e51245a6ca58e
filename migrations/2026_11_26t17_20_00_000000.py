"""Bill payments: billers, saved billers, scheduled and recurring payments."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T17:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bill payments"

forwards = sql_migration(ID, DESCRIPTION, "0010_bills.sql")
