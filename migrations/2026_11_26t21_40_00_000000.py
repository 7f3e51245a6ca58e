"""Passkeys (WebAuthn credentials)."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T21:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "passkeys"

forwards = sql_migration(ID, DESCRIPTION, "0023_passkeys.sql")
