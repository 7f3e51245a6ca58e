"""Chargebacks of card top-ups and the debts they leave."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "chargebacks"

forwards = sql_migration(ID, DESCRIPTION, "0008_chargebacks.sql")
