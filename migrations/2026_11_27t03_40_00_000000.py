"""The ledger's PL/pgSQL functions keep generic plans for their by-id lookups."""

from wallet.db.migrate import sql_migration

ID = "2026-11-27T03:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger generic plans"

forwards = sql_migration(ID, DESCRIPTION, "0025_ledger_generic_plans.sql")
