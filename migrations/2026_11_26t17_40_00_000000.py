"""Online checkout: where the hosted pay page sends the customer back."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T17:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "checkout return url"

forwards = sql_migration(ID, DESCRIPTION, "0011_checkout.sql")
