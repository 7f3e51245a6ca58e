"""Payment methods, gateway callbacks, money requests, notifications, operators."""

from wallet.db.migrate import sql_migration

ID = "2026-11-26T14:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "money movement"

forwards = sql_migration(ID, DESCRIPTION, "0003_money_movement.sql")
