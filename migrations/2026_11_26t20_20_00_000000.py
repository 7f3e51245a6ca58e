"""Security: audit log with a hash chain, TOTP, recovery codes, devices."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T20:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log, totp, devices"

forwards = sql_migration(ID, DESCRIPTION, "0019_security.sql")
