"""Foundation: users, wallets, ledger with its guards, outbox, idempotency keys."""

from wallet.db.migrate import sql_migration

ID = "2026-11-24T21:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foundation schema"

forwards = sql_migration(ID, DESCRIPTION, "0001_foundation.sql")
