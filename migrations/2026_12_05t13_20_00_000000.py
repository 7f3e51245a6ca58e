"""A sanctions match blocks KYC approval until cleared, and freezes the wallet meanwhile."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T13:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sanctions clearance"

forwards = sql_migration(ID, DESCRIPTION, "0035_sanctions_clearance.sql")
