"""Merchant webhooks: endpoint, signing secret, and the delivery log."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "merchant webhooks"

forwards = sql_migration(ID, DESCRIPTION, "0006_webhooks.sql")
