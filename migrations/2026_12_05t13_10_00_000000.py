"""Ledger positions: each posting's place in its account's balance chain, and the
entries of each business transaction (statements that add up, issue 18)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T13:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger positions"

forwards = sql_migration(ID, DESCRIPTION, "0034_ledger_positions.sql")
