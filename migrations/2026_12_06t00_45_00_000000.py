"""Many two-legged ledger entries in one round trip, for the batched send path."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T00:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_post_transfers"

forwards = sql_migration(ID, DESCRIPTION, "0045_ledger_post_transfers.sql")
