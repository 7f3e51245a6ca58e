"""Money requests to an email or phone with no wallet yet wait for it to be claimed."""

from wallet.db.migrate import sql_migration

ID = "2026-12-05T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "money requests to contacts"

forwards = sql_migration(ID, DESCRIPTION, "0029_contact_requests.sql")
