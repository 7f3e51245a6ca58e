"""Fraud: rules as data, blocklist, locations, reviews."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "fraud rules, blocklist, reviews"

forwards = sql_migration(ID, DESCRIPTION, "0021_fraud.sql")
