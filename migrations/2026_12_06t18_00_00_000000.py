"""Strict budgets: a payment over one waits for a second confirmation (issue 19)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "strict budgets"

forwards = sql_migration(ID, DESCRIPTION, "0053_strict_budgets.sql")
