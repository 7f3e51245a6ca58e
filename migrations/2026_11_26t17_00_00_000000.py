"""Buyer protection: marketplace escrow and disputes."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "escrow and disputes"

forwards = sql_migration(ID, DESCRIPTION, "0009_disputes.sql")
