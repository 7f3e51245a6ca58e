"""Savings goals: vault accounts, round-ups, weekly transfers."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "savings goals"

forwards = sql_migration(ID, DESCRIPTION, "0015_goals.sql")
