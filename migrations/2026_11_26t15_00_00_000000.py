"""Hot accounts: deferred postings rolled up later, and the one-call ledger write."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hot accounts"

forwards = sql_migration(ID, DESCRIPTION, "0004_hot_accounts.sql")
