"""Scheduled bills run in calendar months on a day of the month, in the payer's zone."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "bill calendar months"

forwards = sql_migration(ID, DESCRIPTION, "0033_bill_calendar_months.sql")
