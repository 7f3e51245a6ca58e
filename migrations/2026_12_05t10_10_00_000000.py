"""Merchant approval (KYB-lite) and unguessable payment request references."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "merchant security"

forwards = sql_migration(ID, DESCRIPTION, "0027_merchant_security.sql")
