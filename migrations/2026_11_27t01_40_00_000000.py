"""When an account was closed, for the retention of verification records."""

from wallet.db.migrate import sql_migration

ID = "2026-11-27T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "kyc retention"

forwards = sql_migration(ID, DESCRIPTION, "0024_kyc_retention.sql")
