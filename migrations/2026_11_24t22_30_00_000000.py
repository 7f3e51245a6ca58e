"""Business transactions and their append-only state transitions."""

from wallet.db.migrate import sql_migration

ID = "2026-11-24T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "money transactions"

forwards = sql_migration(ID, DESCRIPTION, "0002_transactions.sql")
