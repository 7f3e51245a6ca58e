"""The app's database role `wallet_app`: owns nothing, least privilege per table."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T10:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "app database role and grants"

forwards = sql_migration(ID, DESCRIPTION, "0026b_app_role.sql")
