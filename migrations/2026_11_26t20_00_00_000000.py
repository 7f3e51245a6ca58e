"""Bill reminders."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bill reminders"

forwards = sql_migration(ID, DESCRIPTION, "0018_bill_reminders.sql")
