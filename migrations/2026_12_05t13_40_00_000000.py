"""Referrals: codes, the referral's life, and gateway fingerprints of payment methods."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referrals"

forwards = sql_migration(ID, DESCRIPTION, "0037_referrals.sql")
