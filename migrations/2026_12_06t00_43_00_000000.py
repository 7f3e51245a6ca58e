"""Cheaper send rows: merged party indexes, one balance check per entry, the relay's cursor."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T00:43:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cheaper rows: party indexes, entry check, outbox cursor"

forwards = sql_migration(ID, DESCRIPTION, "0043_cheaper_rows.sql")
