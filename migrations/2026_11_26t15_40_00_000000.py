"""Merchants: profile, staff, API keys, payment requests, payments and refunds; PINs."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T15:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "merchants"

forwards = sql_migration(ID, DESCRIPTION, "0005_merchants.sql")
