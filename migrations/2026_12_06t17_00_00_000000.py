"""The notification centre: preferences, Web Push subscriptions, low-balance alerts."""

from wallet.db.migrate import sql_migration

ID = "2026-12-06T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification centre"

forwards = sql_migration(ID, DESCRIPTION, "0052_notification_centre.sql")
