"""Cheaper rows for sends: partial unique indexes, a BRIN index on idempotency keys' age."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cheaper send rows"

forwards = sql_migration(ID, DESCRIPTION, "0040_cheaper_send_rows.sql")
