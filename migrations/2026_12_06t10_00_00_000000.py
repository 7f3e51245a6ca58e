"""Four-eyes ledger adjustments, reconciliation and the safeguarding check (issue 16)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reconciliation"

forwards = sql_migration(ID, DESCRIPTION, "0048_reconciliation.sql")
