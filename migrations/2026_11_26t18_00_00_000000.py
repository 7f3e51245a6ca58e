"""Multi-currency balances and FX: position accounts, quotes, counter amounts."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "fx quotes and conversions"

forwards = sql_migration(ID, DESCRIPTION, "0012_fx.sql")
