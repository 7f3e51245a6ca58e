"""Spending categories, rules, overrides and budgets."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T18:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "spending categories and budgets"

forwards = sql_migration(ID, DESCRIPTION, "0014_insights.sql")
