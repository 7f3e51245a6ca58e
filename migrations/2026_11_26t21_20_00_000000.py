"""AML: cases, SAR drafts, sanctions list, freeze reasons."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T21:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "aml cases, sar drafts, sanctions"

forwards = sql_migration(ID, DESCRIPTION, "0022_aml.sql")
