"""ledger_post_transfers reads only the accounts a batch touches (no scan of every account)."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T00:46:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_post_transfers reads by primary key"

forwards = sql_migration(ID, DESCRIPTION, "0046_ledger_post_transfers_indexed.sql")
