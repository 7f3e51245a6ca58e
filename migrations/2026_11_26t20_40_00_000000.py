"""KYC: encrypted profile, reviews and documents."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T20:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "kyc profile, reviews, documents"

forwards = sql_migration(ID, DESCRIPTION, "0020_kyc.sql")
