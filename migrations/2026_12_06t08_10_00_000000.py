"""The scheduled ledger checks' record: one row per run (issue 16)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_check_run"

forwards = sql_migration(ID, DESCRIPTION, "0047_ledger_check_run.sql")
