"""The app's role may delete merchant staff rows (removing a cashier)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff removal grant"

forwards = sql_migration(ID, DESCRIPTION, "0032_staff_removal_grant.sql")
